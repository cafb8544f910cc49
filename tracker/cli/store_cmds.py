"""The auditor's commands over the event store: init, log, export, verify."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, time
from pathlib import Path

import click

from tracker.cli.context import AppContext, pass_ctx
from tracker.core import RecordedEvent
from tracker.core.events import format_time
from tracker.domain import choices
from tracker.errors import ExportFileError, TrackerError, ValidationError
from tracker.files import replacing
from tracker.services import auditing


def parse_moment(value: str, *, end_of_day: bool = False, option: str = "date") -> datetime:
    """A date (the whole day, UTC) or an ISO datetime (UTC if no offset); an impossible one is refused."""
    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value).date()
            return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError(f"{option}: {value!r} is not a real date (YYYY-MM-DD) or ISO datetime ({exc})") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_event(event: RecordedEvent) -> str:
    summary = event.payload.get("title_en") or event.payload.get("title") or event.payload.get("id") or ""
    valid = f" valid_from={event.valid_from}" if event.valid_from else ""
    text = f"{event.position:>7}  {event.recorded_at}  {event.type:<22} {event.stream} v{event.version}{valid}"
    return f"{text}  {summary}" if summary else text


@click.command()
@pass_ctx
def init(ctx: AppContext) -> None:
    """Create or upgrade the database schema (harmless to run twice).

    Example:

    \b
        tracker --db sqlite:///var/tracker.db init
    """
    before, after = ctx.app.init()
    if before == after:
        click.echo(f"database {ctx.app.db.display_url} is up to date (migration {after})")
    else:
        click.echo(f"database {ctx.app.db.display_url} upgraded from {before or 'empty'} to migration {after}")


@click.command()
@click.option("--stream", help="Only this stream, e.g. instrument/cn-biomed-new-tech-regulation.")
@click.option("--type", "types", multiple=True, help="Only events of this type (repeatable).")
@click.option("--since", help="Recorded at or after this date or time (UTC).")
@click.option("--until", help="Recorded at or before this date or time (UTC).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def log(
    ctx: AppContext, stream: str | None, types: tuple[str, ...], since: str | None, until: str | None, as_json: bool
) -> None:
    """Show the event log in position order.

    Example:

    \b
        tracker log --type InstrumentPublished --since 2026-01-01 --json
    """
    choices.choose(types, choices.event_types(), "event type", "--type")
    events = ctx.app.store.read(
        stream=stream,
        types=types or None,
        since=parse_moment(since, option="--since") if since else None,
        until_time=parse_moment(until, end_of_day=True, option="--until") if until else None,
    )
    for event in events:
        if as_json:
            click.echo(json.dumps(event.as_dict(), ensure_ascii=False))
        else:
            click.echo(format_event(event))


@click.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True), help="File to write (default: stdout).")
@pass_ctx
def export(ctx: AppContext, fmt: str, output: str | None) -> None:
    """Export every field of every event, hashes included, one JSON object per line.

    payload and metadata are exported as the exact JSON text that was hashed.

    Example:

    \b
        tracker export --format jsonl --output var/export.jsonl
    """
    store = ctx.app.store
    if output is None:
        count = auditing.export_jsonl(store, sys.stdout)
        return
    target = Path(output)
    try:
        with replacing(target) as handle:  # an interrupted export never leaves a truncated file under the real name
            count = auditing.export_jsonl(store, handle)
    except OSError as exc:
        raise ExportFileError(f"{target}: cannot write: {exc.strerror or exc}") from None
    click.echo(f"exported {count} events to {target}", err=True)


@click.command()
@click.option(
    "--file", "export_file", type=click.Path(dir_okay=False), help="Verify an export file instead of the database."
)
@click.option(
    "--witness",
    "witness_file",
    type=click.Path(dir_okay=False),
    help="Check the log (or the --file export) still holds the head an .eml digest, Atom feed or changelog states.",
)
@click.option(
    "--proof", "proof_file", type=click.Path(dir_okay=False), help="Check a proof from `tracker prove --json`, offline."
)
@click.option(
    "--event",
    "event_file",
    type=click.Path(dir_okay=False),
    help="The event an inclusion proof is for (its line of `tracker export`).",
)
@click.option(
    "--checkpoint",
    "checkpoint_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A signed checkpoint; twice: detect a split view, or the two ends of a consistency proof.",
)
@click.option(
    "--public-key",
    help="Verifier key (vkey) or PEM file that signed the checkpoints (default: this tracker's own key).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object when the log or export verifies (an error is one line on stderr, exit 1).",
)
@pass_ctx
def verify(ctx: AppContext, export_file: str | None, witness_file: str | None, proof_file: str | None,
           event_file: str | None, checkpoint_files: tuple[str, ...], public_key: str | None, as_json: bool) -> None:
    """Recompute the whole hash chain; exit 1 naming the first bad position.

    With --witness FILE carrying a checkpoint, a consistency proof (O(log n)) replaces the scan.

    Example:

    \b
        tracker verify
        tracker verify --file var/export.jsonl
        tracker verify --witness var/changelog/changelog.atom
        tracker verify --proof proof.json --event event.json --checkpoint checkpoint.txt --public-key KEY
        tracker verify --checkpoint a.txt --checkpoint b.txt --public-key KEY
    """
    from tracker.cli import proof_cmds

    if proof_file or checkpoint_files:
        proof_cmds.verify_proofs(ctx, proof_file, event_file, checkpoint_files, public_key)
        return
    if witness_file and export_file:  # the export is what is checked: no database is opened
        from tracker.services import witness

        found = witness.verify_witness_export(Path(export_file), Path(witness_file))
        click.echo(f"ok: the export {export_file} still holds position {found.position} hash {found.hash} "
                   f"stated by {witness_file}")
        return
    if witness_file and proof_cmds.verify_witness_checkpoint(ctx, witness_file, public_key):
        return
    if witness_file:
        from tracker.services import witness

        found = witness.verify_witness(ctx.app.store, Path(witness_file))
        if as_json:
            click.echo(
                json.dumps({"ok": True, "witness": witness_file, "position": found.position, "hash": found.hash})
            )
            return
        click.echo(f"ok: the log still holds position {found.position} hash {found.hash} stated by {witness_file}")
        return
    if export_file:
        report = auditing.verify_export(Path(export_file))
        where = export_file
    else:
        report = auditing.verify_recorded(ctx.app.store, by="cli", at=format_time(ctx.app.clock()))
        where = ctx.app.db.display_url
    if as_json:
        click.echo(json.dumps({"ok": True, "source": where, "events": report.count,
                               "head_position": report.head_position, "head_hash": report.head_hash}))
        return
    click.echo(
        f"ok: {report.count} events in {where} verify; head position {report.head_position} hash {report.head_hash}"
    )
    if not export_file:
        tree, nodes = auditing.verify_tree(ctx.app.store, report.head_position)
        click.echo(
            f"ok: the Merkle tree of {tree.size} events matches them ({nodes} stored nodes); root {tree.root_hash}"
        )


def register(group: click.Group) -> None:
    for command in (init, log, export, verify):
        group.add_command(command)


__all__ = ["register", "parse_moment", "format_event", "TrackerError"]
