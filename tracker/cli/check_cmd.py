"""`tracker check`, alone in its module: a check loads only what checking needs, not the services
of the `sources` commands (history, capture, registers' entries, administration: about 0.3 MB of
a check's peak, issue 18). Thin: the work is in services/checking.py."""

from __future__ import annotations

import json
import re

import click

from tracker.cli.context import AppContext, pass_ctx
from tracker.cli.progress import CheckProgress
from tracker.services import checking
from tracker.services.recording import SourceOutcome

# Fetched text is data: control characters (terminal escape sequences among them) are shown, not obeyed.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


# `tracker check` exits with this when some source could not be checked (see the README).
EXIT_SOME_FAILED = 3


@click.command("check")
@click.option("--all", "check_all", is_flag=True, help="Every active source, due or not.")
@click.option("--source", "source_ids", metavar="ID", multiple=True, help="Only this source, due or not (repeatable).")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='One JSON object: counts and each source\'s outcome (README, "JSON output").',
)
@pass_ctx
def check(ctx: AppContext, check_all: bool, source_ids: tuple[str, ...], as_json: bool) -> None:
    """Fetch sources and record what changed (default: the sources that are due).

    A progress bar on a terminal, one line per source otherwise. Exit status: 0 when every source
    was checked (changed or not), 3 when some could not be (failed, unreachable or blocked), 1 on
    an error that stopped the check.

    Example:

    \b
        tracker check --all
        tracker check --source src-fda-cgt-guidances --source src-ecfr-21-cfr-1271-versions --json
    """
    if check_all and source_ids:
        raise click.UsageError("use --all or --source, not both")
    if as_json:
        report = checking.check_sources(ctx.app, list(source_ids) or None, all=check_all)
        click.echo(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        with CheckProgress(line=outcome_line) as shown:
            report = checking.check_sources(
                ctx.app, list(source_ids) or None, all=check_all, progress=shown.progress, on_start=shown.on_start,
            )
        if shown.had_bar:  # the bar said nothing about each source: list what was not routine
            for outcome in report.outcomes:
                if outcome.outcome not in ("unchanged", "not_modified"):
                    click.echo(outcome_line(outcome))
        click.echo(report.summary())
    if report.failed:
        raise click.exceptions.Exit(EXIT_SOME_FAILED)


def outcome_line(outcome: SourceOutcome) -> str:
    text = f"{outcome.source_id}: {outcome.outcome}"
    if outcome.error_class:
        text += f" ({outcome.error_class}: {safe(outcome.error or '')})"
    if outcome.entries:
        text += f", {outcome.entries} new entr{'y' if outcome.entries == 1 else 'ies'}"
    if outcome.recovered and outcome.outcome != "recovered":
        text += ", recovered"
    return text


def register(group: click.Group) -> None:
    group.add_command(check)
