"""`tracker run`: the main job, once, with a plain account of what happened and where it went."""

from __future__ import annotations

from pathlib import Path

import click

from tracker.cli.context import AppContext, pass_ctx
from tracker.cli.progress import CheckProgress
from tracker.domain.words import counted
from tracker.services import main_job


@click.command()
@click.option(
    "--seeds",
    "seed_paths",
    multiple=True,
    type=click.Path(exists=True),
    help="Seed files or folders (default: seeds/).",
)
@click.option(
    "--subscribe",
    "addresses",
    multiple=True,
    metavar="EMAIL",
    help="Make sure EMAIL has a subscription to everything (repeatable).",
)
@click.option(
    "--cadence",
    type=click.Choice(["daily", "weekly"]),
    default="weekly",
    show_default=True,
    help="Cadence of subscriptions made by --subscribe.",
)
@click.option("--no-check", is_flag=True, help="Skip fetching the sources.")
@pass_ctx
def run(ctx: AppContext, seed_paths: tuple[str, ...], addresses: tuple[str, ...], cadence: str, no_check: bool) -> None:
    """Initialise, seed the review's record, check every source once, write digests and changelogs.

    Digests go to the SMTP server of TRACKER_SMTP_URL, or as .eml files to the outbox folder when
    none is configured. Sources that cannot be reached are recorded as failures and reported.

    Example:

    \b
        tracker run --subscribe compliance@example.org
    """
    app = ctx.app
    click.echo(f"database: {app.db.display_url}")

    def announce(total: int) -> str:
        return (f"checking {total} sources once (concurrency {app.settings.fetch.concurrency}, "
                f"{app.settings.fetch.per_host} per host)...")

    with CheckProgress(announce=announce) as shown:
        report = main_job.run_once(
            app, seed_paths=[Path(p) for p in seed_paths] or None, subscribe=addresses, cadence=cadence,
            check=not no_check, progress=shown.progress, on_start=shown.on_start,
        )
    for line in describe(report):
        click.echo(line)


def describe(report: main_job.RunReport) -> list[str]:
    before, after = report.migration
    if before is None:
        lines = [f"schema: created at migration {after}"]
    elif before != after:
        lines = [f"schema: upgraded from migration {before} to {after}"]
    else:
        lines = [f"schema: already at migration {after}"]
    if report.seeded is not None:
        lines.append(
            f"seeded: {counted(report.seeded.written, 'new event')} from "
            f"{counted(len(report.seeded.files), 'seed file')}"
        )
        lines.extend(f"  {f.summary()}" for f in report.seeded.files if f.written or f.removed)
    lines.extend(f"subscribed: {s}" for s in report.subscribed)
    lines.extend(report.not_subscribed)
    if report.check is not None:
        lines.append(report.check.summary())
        failures = report.failures_by_class()
        if failures:
            classes = ", ".join(f"{n} {name}" for name, n in failures.most_common())
            lines.append(f"  unreachable this time: {counted(sum(failures.values()), 'source')} ({classes}); "
                         "see `tracker sources list --state failing`")
        changed = [o.source_id for o in report.check.outcomes if o.outcome == "changed"]
        if changed:
            lines.append(f"  changed: {', '.join(changed)}")
    if report.digests is not None:
        prepared = report.digests.prepared
        delivery = report.digests.report
        if not prepared and not (delivery and (delivery.sent or delivery.failed)):
            lines.append("digests: nothing new for any subscription since its last digest "
                         "(add one with `tracker subscribe EMAIL` or `tracker run --subscribe EMAIL`)")
        else:
            lines.append(f"digests: {len(prepared)} prepared")
        if delivery is not None:
            lines.extend(
                f"  sent {message_id} ({subscription}) -> {where}" for message_id, subscription, where in delivery.sent
            )
            lines.extend(
                f"  NOT sent {message_id} ({subscription}): {error} (attempt {attempts}; queued for the next run)"
                for message_id, subscription, error, attempts in delivery.failed
            )
    for path in report.changelogs:
        lines.append(f"changelog: {path}")
    if report.verified is not None:
        lines.append(f"verified: {report.verified.count} events, head position {report.verified.head_position} "
                     f"hash {report.verified.head_hash}")
    return lines


def register(group: click.Group) -> None:
    group.add_command(run)
