"""The `tracker` command group and its one error boundary.

A TrackerError becomes one line on stderr and exit status 1; `--debug` shows the traceback.
The group knows each command's name, its module and its one-line help from COMMANDS, and imports
a module only when one of its commands runs: `tracker --help` and `tracker status` do not pay for
Alembic, Jinja2 or the digest services (bench/bench_startup.py).
"""

from __future__ import annotations

import gc
import importlib
import sys
from typing import Any

import click

from tracker.errors import TrackerError, ValidationError

# Every command: its name -> (the module whose `register(group)` adds it, the first sentence of its
# help, as `tracker --help` lists it). A new command is one line here; tests/cli/test_help.py
# fails, naming the line to add, when a module in tracker/cli registers a command missing here or
# when a sentence no longer matches the command's help.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("tracker.cli.store_cmds", "Create or upgrade the database schema (harmless to run twice)."),
    "log": ("tracker.cli.store_cmds", "Show the event log in position order."),
    "export": (
        "tracker.cli.store_cmds",
        "Export every field of every event, hashes included, one JSON object per line.",
    ),
    "verify": ("tracker.cli.store_cmds", "Recompute the whole hash chain; exit 1 naming the first bad position."),
    "keys": ("tracker.cli.proof_cmds", "Signing keys for checkpoints."),
    "checkpoint": (
        "tracker.cli.proof_cmds",
        "Sign the current tree head (size, root, time) and keep it; print the signed note.",
    ),
    "checkpoints": ("tracker.cli.proof_cmds", "Kept checkpoints."),
    "prove": (
        "tracker.cli.proof_cmds",
        "Print an inclusion proof for the event at POSITION, or a consistency proof between two checkpoints.",
    ),
    "seed": (
        "tracker.cli.record_cmds",
        "Turn seed files into events (default: ./seeds if present, else the tracker's seeds/).",
    ),
    "projections": ("tracker.cli.record_cmds", "Read models kept up to date from the log."),
    "replay": (
        "tracker.cli.record_cmds",
        "The regulatory record as the tracker knew it (--as-of) of the world on a day (--valid-at).",
    ),
    "history": (
        "tracker.cli.record_cmds",
        "The whole timeline of one item: valid time, recorded time, and the seed or fetch behind each step.",
    ),
    "upcoming": (
        "tracker.cli.record_cmds",
        "What is due in the next N days, soonest first: effective dates, comment deadlines, other dated steps.",
    ),
    "show": ("tracker.cli.record_cmds", "One item: its state, dated steps, relations both ways and monitored sources."),
    "sources": ("tracker.cli.source_cmds", "Monitored sources: official pages and registers watched for change."),
    "check": ("tracker.cli.check_cmd", "Fetch sources and record what changed (default: the sources that are due)."),
    "diff": (
        "tracker.cli.source_cmds",
        "Show the full diff of a source's normalised text between two stored versions.",
    ),
    "subscribe": ("tracker.cli.digest_cmds", "Subscribe an address to digests of matching changes."),
    "unsubscribe": (
        "tracker.cli.digest_cmds",
        "Cancel one subscription (by id or unsubscribe token) or all of an address.",
    ),
    "subscriptions": ("tracker.cli.digest_cmds", "Inspect subscriptions."),
    "forget": (
        "tracker.cli.digest_cmds",
        "Erase an address for good; the log keeps only its opaque id and still verifies.",
    ),
    "digest": ("tracker.cli.digest_cmds", "Prepare and send digests, or preview exactly what would be sent."),
    "changelog": (
        "tracker.cli.digest_cmds",
        "Write the changelog: Markdown, Atom feed, a self-contained HTML timeline, and deadlines.ics.",
    ),
    "calendar": (
        "tracker.cli.digest_cmds",
        "Due dates as an iCalendar file: one all-day event per date, UIDs stable across runs.",
    ),
    "serve": (
        "tracker.cli.serve_cmds",
        "Run the scheduler: due source checks, digests on their cadence, housekeeping.",
    ),
    "status": (
        "tracker.cli.serve_cmds",
        "Show the scheduler heartbeat, sources by state, digests and the outbox, and the log head.",
    ),
    "config": ("tracker.cli.serve_cmds", "Inspect the configuration."),
    "triage": (
        "tracker.cli.triage_cmds",
        "Proposals derived from page changes and register entries, and the analyst's decisions.",
    ),
    "web": (
        "tracker.cli.web_cmds",
        "Serve the web interface (record, replay, sources, upcoming, audit, one-click unsubscribe).",
    ),
    "web-token": (
        "tracker.cli.web_cmds",
        "Make a bearer token for NAME: prints the token once, and the TRACKER_WEB_TOKENS entry that admits it (only "
        "its hash: keep the token itself with the script that uses it).",
    ),
    "run": (
        "tracker.cli.run_cmd",
        "Initialise, seed the review's record, check every source once, write digests and changelogs.",
    ),
}


def module_commands(module_name: str) -> dict[str, click.Command]:
    """The commands a module's `register(group)` adds, by name (imports the module)."""
    scratch = click.Group()
    importlib.import_module(module_name).register(scratch)
    return dict(scratch.commands)


class LazyGroup(click.Group):
    """A group whose commands are imported from their module (COMMANDS) when one is looked up.

    `--help` lists every command from the one-line help kept in COMMANDS, importing nothing.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # No command line can carry a NUL byte, but an in-process caller can, and click.Path's os.stat
        # and every open() would end in a ValueError traceback: refused here, once, for every command.
        for arg in args:
            if "\x00" in arg:
                raise ValidationError(f"{_one_line(repr(arg))}: holds a NUL byte, which no file name or value may")
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module_name = COMMANDS[cmd_name][0]
            for name, command in module_commands(module_name).items():
                self.commands.setdefault(name, command)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Stand-ins carrying the kept sentence: click shortens them exactly as it would the full help.
        listed = click.Group(commands=[
            self.commands.get(name) or click.Command(name, help=COMMANDS[name][1])
            for name in self.list_commands(ctx)
        ])
        listed.format_commands(ctx, formatter)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", "db_url", metavar="URL", help="Database URL (default: $TRACKER_DATABASE_URL, else sqlite:///var/tracker.db).")
@click.option(
    "--config",
    "config_path",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="TOML configuration file (default: ./tracker.toml if present, or $TRACKER_CONFIG).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="tracker")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None, config_path: str | None, debug: bool) -> None:
    """Event-sourced tracker of regulatory change for cell and gene therapy products.

    Example:

    \b
        tracker --db sqlite:///var/tracker.db init
    """
    from tracker.cli.context import AppContext

    ctx.obj = AppContext(db_url=db_url, config_path=config_path, debug=debug)
    ctx.call_on_close(ctx.obj.close)


def run() -> Any:
    """The `tracker` program: main() in a process of its own, with the collector held back at start-up.

    Start-up allocates tens of thousands of objects that live as long as the process (modules,
    classes, SQLAlchemy's tables); collecting them finds nothing to free yet cost 50-90 ms of a
    0.6 s `tracker check` with nothing due. The collector stays off until the command builds its
    application (AppContext.app freezes what exists then and turns it back on), and the objects
    left at exit are frozen so that the interpreter's last collection does not walk them all.
    """
    gc.disable()
    try:
        return main()
    finally:
        gc.freeze()


def _one_line(message: str) -> str:
    """An error is one line whatever it quotes: a line break inside a value is shown escaped."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


def main(argv: list[str] | None = None) -> Any:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        return cli.main(args=argv, prog_name="tracker", standalone_mode=False)
    except TrackerError as exc:
        if debug:
            raise
        click.echo(f"error: {_one_line(str(exc))}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        # One line like every other error: the value refused and where (--help shows the usage).
        where = f"{exc.ctx.command_path}: " if exc.ctx is not None else ""
        click.echo(f"error: {where}{' '.join(exc.format_message().split())}", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
