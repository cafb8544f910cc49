"""The web interface: `tracker web` serves it alone; `tracker web-token` makes a named token."""

from __future__ import annotations

import click

from tracker.app import App
from tracker.cli.context import AppContext, pass_ctx


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@pass_ctx
def web(ctx: AppContext, host: str, port: int) -> None:
    """Serve the web interface (record, replay, sources, upcoming, audit, one-click unsubscribe).

    Reading is open unless TRACKER_WEB_OPEN_READING=false; changing anything needs a token
    (TRACKER_WEB_TOKENS) or a user named by a trusted proxy. With TRACKER_WEB_READ_ONLY=true the
    database role may only read. `tracker serve --http HOST:PORT` serves it beside the scheduler.

    Example:

    \b
        tracker web --host 127.0.0.1 --port 8080
    """
    from tracker.web import serve_forever  # Starlette and uvicorn load only for this command

    settings = ctx.settings
    app = App(settings, read_only=settings.web.read_only)
    click.echo(f"web interface on http://{host}:{port}/ ({app.db.display_url})", err=True)
    try:
        serve_forever(app, host, port)
    finally:
        app.close()


@click.command("web-token")
@click.argument("name")
def web_token(name: str) -> None:
    """Make a bearer token for NAME: prints the token once, and the TRACKER_WEB_TOKENS entry that
    admits it (only its hash: keep the token itself with the script that uses it).

    Example:

    \b
        tracker web-token ci-bot
    """
    from tracker.web.auth import new_token

    try:
        token, entry = new_token(name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None
    click.echo(f"token (shown once): {token}")
    click.echo(f"add to TRACKER_WEB_TOKENS (comma-separated): {entry}")


def register(group: click.Group) -> None:
    for command in (web, web_token):
        group.add_command(command)
