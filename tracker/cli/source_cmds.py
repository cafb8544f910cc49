"""Monitoring commands: `sources add|list|remove|try|entries|capture`, `diff` (`check` is check_cmd.py).
Thin: the work is in services."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tracker.cli.check_cmd import outcome_line, safe
from tracker.cli.context import AppContext, pass_ctx
from tracker.domain.sources import KINDS, STATES, format_duration
from tracker.services import capture as capture_service
from tracker.services import history, register_queries, sources_admin
from tracker.services.snapshots import Version


@click.group("sources")
def sources_group() -> None:
    """Monitored sources: official pages and registers watched for change.

    Example:

    \b
        tracker sources list --state failing
    """


@sources_group.command("add")
@click.argument("url")
@click.option("--id", "source_id", help="Source id (default: made from the URL).")
@click.option("--kind", type=click.Choice(KINDS), default="html", show_default=True, help="How the document is read.")
@click.option("--select", metavar="CSS", help="Watch only the part of an html page matching this CSS selector.")
@click.option(
    "--ignore",
    metavar="REGEX",
    multiple=True,
    help="Remove text matching this regular expression before comparing (repeatable).",
)
@click.option("--every", metavar="DURATION", help="Check interval, e.g. 30m, 6h, 1d (default: fetch.default_every).")
@click.option("--tag", "tags", metavar="T", multiple=True, help="A tag for filtering digests (repeatable).")
@click.option(
    "--item", "items", metavar="ID", multiple=True, help="Id of a record item this source documents (repeatable)."
)
@click.option("--title", default="", help="A human title.")
@click.option("--jurisdiction", type=click.Choice(["US", "EU", "JP", "CN", "INTL"]), help="Jurisdiction of the issuer.")
@click.option("--no-robots", is_flag=True, help="Do not consult robots.txt for this source.")
@pass_ctx
def sources_add(
    ctx: AppContext, url: str, source_id: str | None, kind: str, select: str | None, ignore: tuple[str, ...],
    every: str | None, tags: tuple[str, ...], items: tuple[str, ...], title: str, jurisdiction: str | None,
    no_robots: bool,
) -> None:
    """Start monitoring URL (records SourceRegistered; the first check records its baseline).

    Example:

    \b
        tracker sources add https://www.fda.gov/vaccines-blood-biologics/cellular-gene-therapy-products \\
            --id fda-cgt-products --select main --ignore 'Content current as of: .*' --every 1d \\
            --tag US --item us-21-cfr-1271
    """
    source = sources_admin.add_source(
        ctx.app, url, source_id=source_id, kind=kind, select=select, ignore=ignore, every=every,
        tags=tags, items=items, title=title, jurisdiction=jurisdiction, respect_robots=not no_robots,
    )
    click.echo(f"added source {source.id} ({source.kind}) {source.url}")


@sources_group.command("list")
@click.option(
    "--state", type=click.Choice(("failing",) + STATES), help="Only sources in this state ('failing': any trouble)."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def sources_list(ctx: AppContext, state: str | None, as_json: bool) -> None:
    """List monitored sources with what their last check found.

    Blocked sources answer with a bot challenge: check those pages by hand, and record what
    you saw with `tracker sources capture`.

    Example:

    \b
        tracker sources list --state failing
    """
    for view in sources_admin.list_sources(ctx.app, state):
        if as_json:
            click.echo(json.dumps(view.__dict__, ensure_ascii=False))
            continue
        every = format_duration(view.every_seconds) if view.every_seconds else "default"
        line = f"{view.id:<40} {view.state:<11} {view.kind:<16} every {every:<7} {view.url}"
        if view.consecutive_failures:
            line += (
                f"  [{view.consecutive_failures} failure(s): {view.last_error_class}: {safe(view.last_error or '')}]"
            )
        if view.needs_manual_check:
            line += "  NEEDS A MANUAL CHECK (bot challenge): save it in a browser, then "
            line += f"`tracker sources capture {view.id} FILE`"
        if view.state == "suspect":
            line += "  (the last check saw a near-empty or much shorter page: the next one confirms it)"
        click.echo(line)
        for pattern in view.volatile:
            click.echo(
                f"    ignores volatile line {pattern}  (found at its first change; `tracker sources revoke {view.id}`)"
            )


@sources_group.command("remove")
@click.argument("source_id", metavar="ID")
@click.option("--reason", default="", help="Why it is no longer monitored (kept in the event).")
@pass_ctx
def sources_remove(ctx: AppContext, source_id: str, reason: str) -> None:
    """Stop monitoring a source (records SourceRemoved; its history stays).

    Example:

    \b
        tracker sources remove src-fda-press-releases-feed --reason "page retired"
    """
    sources_admin.remove_source(ctx.app, source_id, reason)
    click.echo(f"removed source {source_id} (its history stays in the log)")


@sources_group.command("revoke")
@click.argument("source_id", metavar="ID")
@click.option(
    "--pattern", "patterns", metavar="REGEX", multiple=True, help="Revoke only this pattern (repeatable; default: all)."
)
@click.option("--reason", default="", help="Why (kept in the event).")
@pass_ctx
def sources_revoke(ctx: AppContext, source_id: str, patterns: tuple[str, ...], reason: str) -> None:
    """Stop ignoring the volatile lines found at a source's first change (records SourceVolatileRevoked).

    The first time a page's text changes it is fetched twice; lines that differed (a timestamp, a
    request id) are ignored from then on, and `tracker sources list` shows them.

    Example:

    \b
        tracker sources revoke src-fda-cgt-guidances --reason "the date line matters"
    """
    revoked = sources_admin.revoke_volatile(ctx.app, source_id, patterns, reason)
    click.echo(f"{source_id}: no longer ignores {list(revoked)}")


@sources_group.command("try")
@click.argument("source_id", metavar="SOURCE")
@click.option(
    "--ignore",
    metavar="REGEX",
    multiple=True,
    required=True,
    help="Ignore pattern to try (repeatable; replaces the current ones).",
)
@click.option("--select", metavar="CSS", help="CSS selector to try (default: the current one).")
@click.option("--adopt", is_flag=True, help="Adopt these rules (records SourceRulesAdopted).")
@click.option("--reason", default="", help="Why the rules change (kept in the event).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: each replayed step and the verdict.")
@pass_ctx
def sources_try(ctx: AppContext, source_id: str, ignore: tuple[str, ...], select: str | None, adopt: bool, reason: str,
                as_json: bool) -> None:
    """Replay a source's stored history under other noise rules and show what they would report.

    Example:

    \b
        tracker sources try src-fda-cgt-guidances --ignore 'Content current as of: \\S+' --adopt
    """
    report = history.try_rules(ctx.app, source_id, ignore=ignore, select=select)
    if as_json:
        if adopt:
            sources_admin.adopt_rules(ctx.app, source_id, report.rules.select, report.rules.ignore, reason)
        click.echo(json.dumps({
            "source": report.source_id, "select": report.rules.select, "ignore": list(report.rules.ignore),
            "versions": report.versions, "suppressed": len(report.suppressed),
            "still_reported": len(report.still_reported), "adopted": adopt,
            "steps": [{"old": _version_json(s.old), "new": _version_json(s.new), "reported": s.reported,
                       "would_report": s.would_report, "diff": s.diff} for s in report.steps],
        }, ensure_ascii=False))
        return
    click.echo(f"{report.source_id}: {report.versions} stored version(s), {len(report.steps)} step(s) replayed")
    for step in report.steps:
        if step.reported and not step.would_report:
            verdict = "SUPPRESSED  (reported then, silent under these rules)"
        elif step.reported:
            verdict = "reported    (still reported)"
        elif step.would_report:
            verdict = "NEW         (silent then, reported under these rules)"
        else:
            verdict = "silent      (silent then and now)"
        where = f" position {step.new.position}" if step.new.position else ""
        click.echo(f"  {step.new.fetched_at}{where}: {verdict}")
        if step.would_report and step.diff:
            click.echo("    " + safe(step.diff).replace("\n", "\n    "))
    click.echo(
        f"{len(report.suppressed)} past change(s) suppressed, {len(report.still_reported)} reported under these rules"
    )
    if adopt:
        sources_admin.adopt_rules(ctx.app, source_id, report.rules.select, report.rules.ignore, reason)
        click.echo(f"adopted: {source_id} now ignores {list(report.rules.ignore)}")


@sources_group.command("entries")
@click.argument("source_id", metavar="SOURCE")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def sources_entries(ctx: AppContext, source_id: str, as_json: bool) -> None:
    """List a register's entries as the tracker knows them: official id, date, type, deadlines.

    Newest official date first. Dates keep their precision ("~" marks a year or a month).

    Example:

    \b
        tracker sources entries src-federal-register-fda-cgt --json
    """
    ctx.app.fresh()
    for view in register_queries.entries(ctx.app, source_id):
        row = view.as_json()
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
            continue
        date = row["date"] or "-"
        if row["precision"] in ("year", "month"):
            date = f"~{date}"
        deadlines = " ".join(f"{kind}:{when}" for kind, when in sorted(row["deadlines"].items()))
        click.echo(safe(f"{date:<11} {row['type'] or '-':<10} {row['entry_id']}  {row['title']}"
                         + (f"  [{deadlines}]" if deadlines else "")))


@sources_group.command("capture")
@click.argument("source_id", metavar="SOURCE")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--url", metavar="URL", help="The URL the page was saved from (default: the source's URL).")
@click.option(
    "--fetched-at", "fetched_at", metavar="TIME", help="When it was saved, e.g. 2026-12-01T09:30:00Z (default: now)."
)
@pass_ctx
def sources_capture(ctx: AppContext, source_id: str, file: Path, url: str | None, fetched_at: str | None) -> None:
    """Record a page saved in a browser (HTML or PDF) as SOURCE's next version.

    For official pages that refuse automated clients (state blocked). The file is normalised,
    compared and reported like a fetched page, marked as captured by an operator; the source's
    state stays as the automatic checks left it.

    Example:

    \b
        tracker sources capture src-nmpa-drug-regulation-news ~/Downloads/nmpa.html \
            --url https://www.nmpa.gov.cn/yaowen/ypjgyw/index.html --fetched-at 2026-12-01T09:30:00+08:00
    """
    when = capture_service.parse_fetched_at(fetched_at) if fetched_at else None
    outcome = capture_service.capture(ctx.app, source_id, file, url=url, fetched_at=when)
    click.echo(f"captured {file} as {outcome_line(outcome)}")


@click.command("diff")
@click.argument("source_id", metavar="SOURCE")
@click.option(
    "--from",
    "from_ref",
    metavar="POSITION|DATE",
    help="Version current at this event position or date (default: the one before --to that differs).",
)
@click.option(
    "--to",
    "to_ref",
    metavar="POSITION|DATE",
    help="Version current at this event position or date (default: the latest).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object: both versions and the diff.")
@pass_ctx
def diff(ctx: AppContext, source_id: str, from_ref: str | None, to_ref: str | None, as_json: bool) -> None:
    """Show the full diff of a source's normalised text between two stored versions.

    Example:

    \b
        tracker diff src-fda-cgt-guidances --from 2026-01-01 --to 2026-06-30
    """
    result = history.diff_versions(ctx.app, source_id, from_ref, to_ref)
    if as_json:
        click.echo(json.dumps({"source": source_id, "old": _version_json(result.old), "new": _version_json(result.new),
                               "diff": result.diff}, ensure_ascii=False))
        return
    click.echo(
        safe(result.diff)
        if result.diff
        else f"{source_id}: no difference between the versions of {result.old.fetched_at} and {result.new.fetched_at}"
    )


def _version_json(version: Version) -> dict[str, object]:
    return {"position": version.position, "fetched_at": version.fetched_at, "content_hash": version.content_hash,
            "snapshot": version.snapshot}


def register(group: click.Group) -> None:
    for command in (sources_group, diff):
        group.add_command(command)
