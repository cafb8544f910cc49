"""Subscriptions, digests, changelogs and witnesses: thin commands over the digest services."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from tracker.cli.context import AppContext, pass_ctx
from tracker.domain.words import counted
from tracker.errors import ExportFileError
from tracker.services import calendar_export, changelog, digesting, subscribing


@click.command()
@click.argument("email")
@click.option(
    "--jurisdiction", "jurisdictions", multiple=True, metavar="J", help="US, EU, JP, CN or INTL (repeatable)."
)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    metavar="K",
    help="law, regulation, directive, guidance, program, product, agency, fact (repeatable).",
)
@click.option("--tag", "tags", multiple=True, metavar="T", help="Item topic or source tag, e.g. car-t (repeatable).")
@click.option("--item", "items", multiple=True, metavar="ID", help="An item or source id (repeatable).")
@click.option("--accepted-only", is_flag=True, help="Only changes of the regulatory record (seeded or accepted in "
              "triage): no page changes, register entries or proposals awaiting triage.")
@click.option("--cadence", type=click.Choice(["daily", "weekly"]), default="weekly", show_default=True)
@click.option("--name", help="A name for this subscription (shown in the subject).")
@click.option(
    "--notify",
    "notify",
    multiple=True,
    metavar="URL",
    help="Also announce each digest on this channel: an Apprise URL "
    "(slack://, msteams://, json://host/path ...; repeatable).",
)
@pass_ctx
def subscribe(ctx: AppContext, email: str, jurisdictions: tuple[str, ...], kinds: tuple[str, ...],
              tags: tuple[str, ...], items: tuple[str, ...], accepted_only: bool, cadence: str, name: str | None,
              notify: tuple[str, ...]) -> None:
    """Subscribe an address to digests of matching changes.

    Filters: every option given must match (any of its values); none means everything. Channels
    (--notify) get each digest's summary and links; their URLs are secrets, shown only masked.

    Example:

    \b
        tracker subscribe qa@example.org --jurisdiction CN --kind guidance --cadence daily --name "CN guidances"
        tracker subscribe qa@example.org --notify slack://TokenA/TokenB/TokenC/#regulatory
    """
    info = subscribing.subscribe(ctx.app, email, jurisdictions=jurisdictions, kinds=kinds, tags=tags,
                                 items=items, cadence=cadence, name=name, notify=notify, accepted_only=accepted_only)
    shown = f"; channels: {', '.join(info.channels)}" if info.channels else ""
    if info.existing:
        click.echo(f"already subscribed with these filters: {info.id} ({info.cadence}, {info.filters.describe()}) "
                   f"\"{info.name}\"{shown}")
        return
    click.echo(f"subscribed: {info.id} ({info.cadence}, {info.filters.describe()}) \"{info.name}\"{shown}")


@click.command()
@click.argument("ref", metavar="EMAIL|ID")
@pass_ctx
def unsubscribe(ctx: AppContext, ref: str) -> None:
    """Cancel one subscription (by id or unsubscribe token) or all of an address.

    Example:

    \b
        tracker unsubscribe qa@example.org
    """
    ids = subscribing.unsubscribe(ctx.app, ref)
    click.echo(f"cancelled: {', '.join(ids)}" if ids else "nothing to cancel (already cancelled)")


@click.group("subscriptions")
def subscriptions_group() -> None:
    """Inspect subscriptions.

    Example:

    \b
        tracker subscriptions list
    """


@subscriptions_group.command("list")
@click.option("--active", is_flag=True, help="Only active subscriptions.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def list_cmd(ctx: AppContext, active: bool, as_json: bool) -> None:
    """List subscriptions: id, status, cadence, address, filters, name.

    Example:

    \b
        tracker subscriptions list --active
    """
    for info in subscribing.list_subscriptions(ctx.app, include_cancelled=not active):
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "id": info.id,
                        "status": info.status,
                        "cadence": info.cadence,
                        "address": info.address,
                        "name": info.name,
                        "filters": info.filters.as_payload(),
                        "created_at": info.created_at,
                    },
                    ensure_ascii=False,
                )
            )
            continue
        address = info.address or "(forgotten)"
        shown = f"  channels: {', '.join(info.channels)}" if info.channels else ""
        click.echo(
            f"{info.id}  {info.status:<9} {info.cadence:<6} {address}  [{info.filters.describe()}]  {info.name}{shown}"
        )


@click.command()
@click.argument("email")
@pass_ctx
def forget(ctx: AppContext, email: str) -> None:
    """Erase an address for good; the log keeps only its opaque id and still verifies.

    The address is matched as `subscribe` normalises it (case does not matter). Its key is
    destroyed, so its address, subscription names, channel URLs and prepared messages, stored only
    sealed under that key, can never be read again, from the database or any copy of it.

    Example:

    \b
        tracker forget qa@example.org
    """
    result = subscribing.forget(ctx.app, email)
    click.echo(f"forgotten: the address of {result.subscriber_id} is erased (its key destroyed); "
               "its subscriptions are cancelled")
    if not result.purged:
        click.echo("warning: the database could not purge old copies of the key now (a SQLite reader kept the "
                   "WAL busy, or the PostgreSQL role may not VACUUM FULL); run PRAGMA wal_checkpoint(TRUNCATE) "
                   "(SQLite) or VACUUM FULL subscriber_keys (PostgreSQL) when it can", err=True)


@click.command()
@click.option("--send", "mode", flag_value="send", help="Prepare and deliver (SMTP, or .eml files in <home>/outbox).")
@click.option(
    "--preview", "mode", flag_value="preview", default=True, help="Show what would be sent; record nothing (default)."
)
@click.option("--subscription", "subscription_id", metavar="ID", help="Only this subscription (prepared and sent).")
@click.option(
    "--json", "as_json", is_flag=True, help="With --preview: one JSON object per digest (subject, counts, every entry)."
)
@pass_ctx
def digest(ctx: AppContext, mode: str, subscription_id: str | None, as_json: bool) -> None:
    """Prepare and send digests, or preview exactly what would be sent.

    Sending claims each message first, so a second sender (another `digest --send`, or `tracker
    serve`) running at the same time never sends it twice.

    Example:

    \b
        tracker digest --preview
        tracker digest --preview --json
    """
    app = ctx.app
    if mode == "preview":
        rendered, _ = digesting.render_digests(app, subscription_id=subscription_id)
        if as_json:
            for r in rendered:
                click.echo(json.dumps(digesting.preview_json(r), ensure_ascii=False))
            return
        for r in rendered:
            click.echo(f"=== {r.subscription_id}: {r.subject} (positions {r.positions[0]}-{r.positions[1]})")
            click.echo(r.text)
        if not rendered:
            click.echo("nothing to send: no subscription has matching changes")
        return
    run = digesting.run_digests(app, send=True, subscription_id=subscription_id)
    for p in run.prepared:
        click.echo(f"prepared {p.message_id} for {p.subscription_id}: {counted(p.count, 'entry', 'entries')}, "
                   f"positions {p.positions[0]}-{p.positions[1]}")
    report = run.report
    assert report is not None
    for message_id, sub, where in report.sent:
        click.echo(f"sent {message_id} for {sub} via {report.transport}: {where}")
    for message_id, sub, error, attempts in report.failed:
        click.echo(f"queued {message_id} for {sub} (attempt {attempts} failed: {error}); retried on the next run")
    for message_id, sub, error, rejections in report.given_up:
        click.echo(f"failed {message_id} for {sub}: refused {rejections} times ({error}); not retried, "
                   "later digests go on (see `tracker status`)")
    for message_id in report.cancelled:
        click.echo(f"dropped {message_id}: its subscription was cancelled or forgotten")
    if not run.prepared and not report.sent and not report.failed and not report.given_up:
        click.echo("nothing to send")


@click.command("changelog")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "atom", "html", "ics"]),
    help="One format (default: all four; ics is the calendar of due dates).",
)
@click.option(
    "--jurisdiction", "jurisdictions", multiple=True, metavar="J", help="Only these jurisdictions (repeatable)."
)
@click.option("--since", metavar="DATE", help="Only entries dated on or after this date (YYYY, YYYY-MM or YYYY-MM-DD).")
@click.option("--output", type=click.Path(), help="File (with --format) or folder (default: <home>/changelog/).")
@pass_ctx
def changelog_cmd(ctx: AppContext, fmt: str | None, jurisdictions: tuple[str, ...], since: str | None,
                  output: str | None) -> None:
    """Write the changelog: Markdown, Atom feed, a self-contained HTML timeline, and deadlines.ics.

    Example:

    \b
        tracker changelog
        tracker changelog --format atom --jurisdiction CN --since 2025-01-01 --output cn.atom
    """
    if output and fmt and output.endswith(("/", os.sep)):  # Path() would drop the slash that says "folder"
        raise ExportFileError(f"{output}: is a folder; give a file name")
    app = ctx.app
    paths = changelog.write_changelogs(
        app, Path(output) if output and not fmt else None, formats=(fmt,) if fmt else None,
        jurisdictions=jurisdictions, since=since, output_file=Path(output) if output and fmt else None,
    )
    for path in paths:
        click.echo(f"wrote {path}")


@click.command("calendar")
@click.option(
    "--jurisdiction", "jurisdictions", multiple=True, metavar="J", help="Only these jurisdictions (repeatable)."
)
@click.option("--output", type=click.Path(dir_okay=False), help="The .ics file to write (default: stdout).")
@pass_ctx
def calendar_cmd(ctx: AppContext, jurisdictions: tuple[str, ...], output: str | None) -> None:
    """Due dates as an iCalendar file: one all-day event per date, UIDs stable across runs.

    Effective dates and comment deadlines from today on, with each item's bilingual title and
    official link. Import it once or subscribe to it: a later file updates the same events.

    Example:

    \b
        tracker calendar --jurisdiction CN --jurisdiction US --output deadlines.ics
    """
    if output is None:
        data, _ = calendar_export.render(ctx.app, jurisdictions=jurisdictions)
        click.echo(data.decode("utf-8"), nl=False)
        return
    path, count = calendar_export.write(ctx.app, Path(output), jurisdictions=jurisdictions)
    click.echo(f"wrote {path}: {count} due date{'' if count == 1 else 's'}")


def register(group: click.Group) -> None:
    for command in (subscribe, unsubscribe, subscriptions_group, forget, digest, changelog_cmd, calendar_cmd):
        group.add_command(command)
