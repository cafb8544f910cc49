"""The regulatory record: seed, projections, replay, history, upcoming, show."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from tracker.cli.context import AppContext, pass_ctx
from tracker.cli.store_cmds import parse_moment
from tracker.domain import choices
from tracker.domain.dates import NOT_GIVEN, basis_note, precision_of
from tracker.domain.record import structure_lines
from tracker.services import deadlines, record_queries, seeding
from tracker.services import replay as replay_service


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False))


def _shown_date(text: str | None) -> str:
    """A date as given, marked "~" when it is only a year or a month; "date not given" when absent."""
    if not text:
        return NOT_GIVEN
    return text if precision_of(text) == "day" else f"~{text}"


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object: what each file wrote.")
@pass_ctx
def seed(ctx: AppContext, paths: tuple[Path, ...], as_json: bool) -> None:
    """Turn seed files into events (default: ./seeds if present, else the tracker's seeds/).

    Every file is validated first; a bad file writes nothing at all. Seeding again writes nothing;
    an edited item appends an ItemCorrected; a step whose date or type changed (or that `corrects`
    or `retracted` name) is replaced by a StepCorrected; an item removed from its file is reported,
    not deleted.

    Example:

    \b
        tracker seed
        tracker seed seeds/cn.toml seeds/cn_guidelines.toml
    """
    report = seeding.seed(ctx.app.store, list(paths) or [seeding.default_seed_dir()])
    if as_json:
        ctx.app.projector.catch_up()
        _echo_json({"written": report.written, "files": [dataclasses.asdict(f) for f in report.files]})
        return
    for file_report in report.files:
        click.echo(file_report.summary())
        for note in file_report.notes:
            click.echo(f"  note: {note}")
    ctx.app.fresh()
    click.echo(f"{report.written} events written in total")


@click.group()
def projections() -> None:
    """Read models kept up to date from the log.

    Example:

    \b
        tracker projections status
    """


@projections.command("rebuild")
@click.option("--only", multiple=True, help="Rebuild only this projection (repeatable).")
@pass_ctx
def projections_rebuild(ctx: AppContext, only: tuple[str, ...]) -> None:
    """Drop every read model and replay the whole log into it.

    Example:

    \b
        tracker projections rebuild --only record
    """
    applied = ctx.app.projector.rebuild(list(only) or None)
    for name, count in applied.items():
        click.echo(f"{name}: rebuilt from {count} events")


@projections.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (see README, \"JSON output\").")
@pass_ctx
def projections_status(ctx: AppContext, as_json: bool) -> None:
    """Show each projection's checkpoint against the head of the log, and the stored events a
    projection could not apply (quarantined: skipped, with the reason).

    A quarantined event is corrected by a later event of its stream, e.g. `tracker sources add`
    again with the same --id and valid values.

    Example:

    \b
        tracker projections status --json
    """
    from tracker.cli.serve_cmds import quarantine_lines
    from tracker.services.status import projections_report

    report = projections_report(ctx.app)
    if as_json:
        _echo_json(report)
        return
    for projection in report["projections"]:
        behind = projection["behind"]
        state = "up to date" if not behind else f"{behind} positions behind"
        click.echo(f"{projection['name']}: checkpoint {projection['checkpoint']} of {projection['head']} ({state})"
                   + (f", {len(projection['quarantined'])} quarantined" if projection["quarantined"] else ""))
    for line in quarantine_lines(report):
        click.echo(line)


def _as_of(value: str | None) -> int | datetime | None:
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    return parse_moment(value, end_of_day=True)


def _valid_at(value: str | None) -> date | None:
    return None if value is None else choices.day(value, "--valid-at")


@click.command()
@click.option(
    "--as-of",
    "as_of",
    metavar="TIME|POSITION",
    help="What the tracker knew then: a log position, a date (end of that day, UTC) or an ISO time. Default: now.",
)
@click.option(
    "--valid-at", "valid_at", metavar="DATE", help="The day of the world to show (YYYY-MM-DD). Default: today."
)
@click.option("--jurisdiction", help="US, EU, JP, CN or INTL.")
@click.option(
    "--kind",
    help="law, regulation, directive, guidance, program, product, agency, fact, classification, regime, pathway, "
    "watch, or instrument (the first four).",
)
@click.option("--dated-only", is_flag=True, help="Leave out items whose status has no date in the source.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def replay(ctx: AppContext, as_of: str | None, valid_at: str | None, jurisdiction: str | None, kind: str | None,
           dated_only: bool, as_json: bool) -> None:
    """The regulatory record as the tracker knew it (--as-of) of the world on a day (--valid-at).

    Month-precision rule: a date given only as a year or a month counts from the first day of its
    period ("2025-09" is in force from 2025-09-01, "2017" from 2017-01-01). Such dates are shown as
    given, marked "~" (text) or "precision": "month" / "approximate": true (JSON). An item whose
    source gives no date is known to exist, not since when: it is shown on every day with
    "date not given" ("date_known": false), unless --dated-only.

    Example:

    \b
        tracker replay --valid-at 2026-04-30 --jurisdiction CN --kind regulation
        tracker replay --as-of 2026-11-01 --valid-at 2026-05-01 --json
        tracker replay --valid-at 2012-08-01 --jurisdiction CN --kind regime   # the route that applied
    """
    day = _valid_at(valid_at)
    (jurisdiction,) = choices.jurisdictions([jurisdiction]) if jurisdiction else (None,)
    (kind,) = choices.kinds([kind], groups=True) if kind else (None,)
    states = replay_service.replay(ctx.app.store, _as_of(as_of), day, jurisdiction, kind, dated_only=dated_only)
    for state in states:
        if as_json:
            _echo_json(state.as_json())
        else:
            click.echo(
                f"{state.jurisdiction:<4} {state.kind:<10} {state.status or '-':<12} "
                f"{_shown_date(state.status_date):<14} "
                f"{state.id}  {state.title_zh} / {state.title_en}"
            )
    if not as_json:
        undated = sum(not s.date_known for s in states)
        click.echo(f"{len(states)} item{'' if len(states) == 1 else 's'}"
                   + (f", {undated} with date not given" if undated else ""), err=True)


@click.command()
@click.argument("item_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def history(ctx: AppContext, item_id: str, as_json: bool) -> None:
    """The whole timeline of one item: valid time, recorded time, and the seed or fetch behind each step.

    Example:

    \b
        tracker history cn-biomed-new-tech-regulation
    """
    for entry in record_queries.history(ctx.app.store, item_id):
        if as_json:
            _echo_json(entry.as_json())
        else:
            note = basis_note(entry.date_basis) if entry.valid_from else ""
            shown = _shown_date(entry.valid_from) + (f" ({note})" if note else "")
            click.echo(f"{shown:<14} recorded {entry.recorded_at} #{entry.position:<6} "
                       f"{entry.type:<22} {entry.summary}  [{entry.cause or '-'}]")


@click.command()
@click.option(
    "--days",
    default=90,
    show_default=True,
    type=click.IntRange(min=0, max=36500),
    help="How far ahead to look (at most 36500, a century).",
)
@click.option(
    "--jurisdiction", "jurisdictions", multiple=True, metavar="J", help="US, EU, JP, CN or INTL (repeatable)."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def upcoming(ctx: AppContext, days: int, jurisdictions: tuple[str, ...], as_json: bool) -> None:
    """What is due in the next N days, soonest first: effective dates, comment deadlines, other dated steps.

    Example:

    \b
        tracker upcoming --days 180 --jurisdiction CN
    """
    wanted = choices.jurisdictions(jurisdictions)
    ctx.app.fresh()
    found = deadlines.collect(ctx.app.store, days=days, jurisdictions=wanted)
    for entry in found:
        if as_json:
            _echo_json(entry.as_json())
        else:
            click.echo(f"{_shown_date(entry.date):<11} {entry.label:<15} {entry.jurisdiction:<4} {entry.item_id}  "
                       f"{entry.title_zh + ' / ' if entry.title_zh else ''}{entry.title_en}")
    if not found and not as_json:
        where = f" in {', '.join(wanted)}" if wanted else ""
        click.echo(f"nothing due in the next {days} day{'' if days == 1 else 's'}{where}")


@click.command()
@click.argument("item_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_ctx
def show(ctx: AppContext, item_id: str, as_json: bool) -> None:
    """One item: its state, dated steps, relations both ways and monitored sources.

    Example:

    \b
        tracker show cn-biomed-new-tech-regulation
    """
    ctx.app.fresh()
    view = record_queries.show(ctx.app.store, item_id)
    if as_json:
        _echo_json(view.as_json())
        return
    item = view.item
    click.echo(
        f"{item['id']}  [{item['jurisdiction']} {item['kind']}]  status: {item['status'] or '-'} "
        f"{_shown_date(item['status_date'])}"
    )
    click.echo(f"  {item['title_zh']}")
    click.echo(f"  {item['title_en']}")
    if item["issuer"]:
        click.echo(f"  issuer: {item['issuer']}")
    for line in structure_lines(item["attributes"]):
        click.echo(f"  {line}")
    for step in view.steps:
        click.echo(
            f"  {_shown_date(step['date']):<14} {step['step']:<11} {step['note'] or ''}{_provenance(step['details'])}"
        )
    for relation in view.relations:
        click.echo(f"  -> {relation['relation']} {relation['target_id']}{_provenance(relation['details'])}")
    for relation in view.related_by:
        click.echo(f"  <- {relation['item_id']} {relation['relation']} this")
    for source in view.sources:
        click.echo(f"  source {source['id']}: {source['url']}")


def _provenance(details: dict[str, Any] | None) -> str:
    """A step's or relation's provenance, shown after it: never mistaken for the review's word."""
    if not details:
        return ""
    parts = [f"since {details['date']}"] if details.get("date") else []
    if basis_note(details.get("date_basis")):
        parts.append(f"date: {basis_note(details.get('date_basis'))}")
    if details.get("external"):
        parts.append(f"external: {details.get('source')}")
    if details.get("inferred"):
        parts.append(f"inferred: {details.get('basis')}")
    return f"  [{'; '.join(parts)}]" if parts else ""


def register(group: click.Group) -> None:
    for command in (seed, projections, replay, history, upcoming, show):
        group.add_command(command)
