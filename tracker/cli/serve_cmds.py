"""The operator's commands: serve (the scheduler), status, config show."""

from __future__ import annotations

import json
from typing import Any

import click

from tracker.cli.context import AppContext, pass_ctx
from tracker.settings import SETTINGS


@click.command()
@click.option("--config", "config_path", metavar="FILE", type=click.Path(dir_okay=False),
              help="TOML configuration file (default: ./tracker.toml if present, or $TRACKER_CONFIG).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    help="Log lines as text or one JSON object per line (default: setting log.format).",
)
@click.option("--once", is_flag=True, help="Run what is due now (checks, a missed digest, the outbox) and exit.")
@click.option(
    "--standby", is_flag=True, help="On SQLite: if another process serves this file, wait and take over when it stops."
)
@click.option(
    "--http",
    "http",
    metavar="HOST:PORT",
    help="Also serve the web interface here, in this process (see `tracker web`).",
)
@pass_ctx
def serve(ctx: AppContext, config_path: str | None, log_format: str | None, once: bool, standby: bool,
          http: str | None) -> None:
    """Run the scheduler: due source checks, digests on their cadence, housekeeping.

    Stops cleanly on SIGTERM or SIGINT (exit 0 within 10 seconds). On SQLite one process serves a
    database file; on PostgreSQL run as many as you like: each due check and each digest runs once.

    Example:

    \b
        TRACKER_DATABASE_URL=postgresql+psycopg://db/tracker tracker serve --config /etc/tracker.toml --log-format json
        tracker serve --http 127.0.0.1:8080
    """
    if config_path:
        ctx.config_path = config_path
    settings = ctx.settings  # a bad configuration is refused here, naming the key
    # Imported here: APScheduler is loaded only by the command that needs it.
    from tracker.scheduling import ServeOptions
    from tracker.scheduling import serve as run_service
    from tracker.scheduling.logs import setup_logging

    logger = setup_logging(log_format or settings.log.format)
    web_server = None
    if http:
        from tracker.web.server import WebServer, parse_address  # Starlette and uvicorn only with --http

        host, port = parse_address(http)
        ctx.app.require_ready()
        web_server = WebServer(ctx.app, host, port).start()
        logger.info("web interface listening", extra={"fields": {"address": f"http://{host}:{port}/"}})
    try:
        status = run_service(ctx.app, ServeOptions(once=once, standby=standby), logger)
    finally:
        if web_server is not None:
            web_server.stop()
    if status:
        raise click.exceptions.Exit(status)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_ctx
def status(ctx: AppContext, as_json: bool) -> None:
    """Show the scheduler heartbeat, sources by state, digests and the outbox, and the log head.

    Example:

    \b
        tracker status --json
    """
    from tracker.services import status as status_service

    report = status_service.gather(ctx.app)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for line in render_status(report):
        click.echo(line)


def render_status(report: dict[str, Any]) -> list[str]:
    lines = [f"database   {report['database']}   at {report['generated_at']}"]
    sched = report["scheduler"]
    if sched["last_tick_at"]:
        lines.append(f"scheduler  last tick {sched['last_tick_at']} by {sched['last_tick_by']} "
                     f"({_counts(sched['last_tick'] or {})}); {sched['alive']} process(es) alive")
    else:
        lines.append(f"scheduler  no tick yet; {sched['alive']} process(es) alive")
    for process in sched["processes"][:5]:
        state = "alive" if process["alive"] else ("stopped" if process["stopped_at"] else "silent")
        lines.append(
            f"           {process['process_id']:<40} {process['role']:<8} {state:<8} seen {process['seen_at']}"
        )
    src = report["sources"]
    if not src.get("available"):
        lines.append(f"sources    unavailable: {src['reason']}")
    else:
        states = ", ".join(f"{name} {count}" for name, count in src["by_state"].items())
        lines.append(f"sources    {src['total']} active: {states}; due {src['due']}, claimed {src['claimed']}")
        for row in src["worst"]:
            lines.append(f"  worst    {row['id']:<32} {row['state']:<11} failures {row['failures']:<3} "
                         f"{row['error_class'] or ''} {row['url']}")
        for row in src["next_due"]:
            lines.append(f"  next     {row['id']:<32} due {row['next_due_at']}")
    dig = report["digests"]
    if not dig.get("available"):
        lines.append(f"digests    unavailable: {dig['reason']}")
    else:
        lines.append(f"outbox     {_counts(dig['outbox'])}")
        for sub in dig["subscriptions"]:
            last = sub["last_digest"]
            what = (
                "no digest yet"
                if last is None
                else (
                    f"last digest {last['status']}: prepared {last['prepared_at']}"
                    + (f", sent {last['sent_at']}" if last["sent_at"] else "")
                )
            )
            lines.append(f"  digest   {sub['id']:<24} {sub['cadence']:<7} {sub['status']:<10} {what}")
        for row in dig["failed"]:
            lines.append(f"  FAILED   {row['message_id']} for {row['subscription']}: refused {row['rejections']} times "
                         f"({row['error']}); not retried")
    ev = report["events"]
    lines.append(f"events     {ev['count']} events; head position {ev['head_position']} hash {ev['head_hash']}")
    lines.extend(quarantine_lines(report["projections"]))
    return lines


def quarantine_lines(report: dict[str, Any]) -> list[str]:
    """What the projections could not apply (see `tracker projections status`)."""
    if not report["quarantined"]:
        return []
    lines = [f"QUARANTINE {report['quarantined']} stored event(s) could not be applied, "
             f"{report['uncorrected']} not corrected by a later event (see `tracker projections status`)"]
    for projection in report["projections"]:
        for q in projection["quarantined"]:
            fix = f"corrected by position {q['corrected_by']}" if q["corrected_by"] else "not corrected"
            lines.append(f"  {projection['name']:<12} position {q['position']} {q['type']} {q['stream']}: "
                         f"{q['reason']} ({fix})")
    return lines


def _counts(counts: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items()) or "nothing"


@click.group()
def config() -> None:
    """Inspect the configuration.

    Example:

    \b
        tracker config show
    """


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: key -> {value, source}.")
@pass_ctx
def config_show(ctx: AppContext, as_json: bool) -> None:
    """Print the effective configuration, secrets masked, with where each value came from.

    Sources: default, the TOML file's path, or the environment variable that set it.

    Example:

    \b
        tracker config show --json
    """
    settings = ctx.settings
    shown = settings.masked()
    if as_json:
        click.echo(json.dumps({key: {"value": shown[key], "source": settings.source(key)} for key in shown},
                              ensure_ascii=False, indent=2))
        return
    width = max(len(s.key) for s in SETTINGS)
    for setting in SETTINGS:
        value = shown[setting.key]
        text = (
            json.dumps(value, ensure_ascii=False)
            if isinstance(value, str)
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
        )
        click.echo(f"{setting.key:<{width}} = {text:<40} # {settings.source(setting.key)}")


def register(group: click.Group) -> None:
    for command in (serve, status, config):
        group.add_command(command)
