"""The `tracker` command group and its one error boundary.

A TrackerError becomes one line on stderr and exit status 1; `--debug` shows the traceback.
Each command module registers its commands on the group; the group itself knows none of them.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from tracker.cli.context import AppContext
from tracker.errors import TrackerError

# One module per area of the product, each with `register(group)`.
COMMAND_MODULES = (
    "tracker.cli.store_cmds",
    "tracker.cli.proof_cmds",
    "tracker.cli.record_cmds",
    "tracker.cli.source_cmds",
    "tracker.cli.digest_cmds",
    "tracker.cli.serve_cmds",
    "tracker.cli.triage_cmds",
    "tracker.cli.run_cmd",
    "tracker.cli.web_cmds",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", "db_url", metavar="URL", help="Database URL (default: $TRACKER_DATABASE_URL, else sqlite:///var/tracker.db).")
@click.option("--config", "config_path", metavar="FILE", type=click.Path(dir_okay=False), help="TOML configuration file (default: ./tracker.toml if present, or $TRACKER_CONFIG).")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="tracker")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None, config_path: str | None, debug: bool) -> None:
    """Event-sourced tracker of regulatory change for cell and gene therapy products.

    Example:

    \b
        tracker --db sqlite:///var/tracker.db init
    """
    ctx.obj = AppContext(db_url=db_url, config_path=config_path, debug=debug)
    ctx.call_on_close(ctx.obj.close)


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(cli)


def main(argv: list[str] | None = None) -> Any:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        return cli.main(args=argv, prog_name="tracker", standalone_mode=False)
    except TrackerError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
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
