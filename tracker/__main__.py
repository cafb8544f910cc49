from tracker.cli.main import run

run()
