"""Headers every response carries, and the last line of defence against a traceback.

The Content-Security-Policy allows nothing but this origin's style sheet and forms posting here:
no script at all (the pages work without JavaScript), no frames, no plugins. So even a fetched
page's text that slipped past escaping could not run. A raw snapshot is served as an attachment
under a sandbox policy, never rendered as a page of this origin.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("tracker.web")

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),  # unsubscribe tokens live in URLs: never leak them onwards
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)
_ERROR_PAGE = (b"<!doctype html><meta charset=utf-8><title>Error 500</title>"
               b"<h1>Error 500</h1><p>Something went wrong on the tracker's side; it has been logged.</p>")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *((n, v) for n, v in HEADERS if n not in names)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:  # noqa: BLE001 - the edge: logged, and a plain 500 instead of a traceback
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await send_with_headers({"type": "http.response.start", "status": 500,
                                     "headers": [(b"content-type", b"text/html; charset=utf-8")]})
            await send({"type": "http.response.body", "body": _ERROR_PAGE})
