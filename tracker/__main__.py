import sys

from tracker.cli.main import run

# As the `tracker` console script does: click returns a command's exit status (e.g. check's 3) in
# non-standalone mode, so it must reach the interpreter's exit here too.
sys.exit(run())
