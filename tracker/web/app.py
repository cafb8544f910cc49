"""The ASGI application: routes, built from the composition root (an App) and nothing else.

Every page is served twice: as HTML at ``/x`` and as JSON at ``/api/x`` (the same handler; see
handling.py). Reading is open or behind a token (``web.open_reading``); writing needs an identified
analyst; the subscriber's pages need only their token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from tracker.app import App
from tracker.errors import TrackerError
from tracker.rendering.web import web_asset
from tracker.web import audit_pages, ops, record_pages, source_pages, subscriber_pages, triage_pages
from tracker.web.auth import ANONYMOUS, AuthRefused
from tracker.web.handling import PUBLIC, READ, WRITE, Call, Handler, HttpError, error_response, route_handler, status_of
from tracker.web.security import SecurityHeaders
from tracker.web.state import Web

Endpoint = Callable[[Request], Awaitable[Response]]


def _pages(web: Web) -> list[BaseRoute]:
    """(path, handler, access, methods): each one as HTML and as JSON under /api."""
    pages: list[tuple[str, Handler, str, list[str]]] = [
        ("/", record_pages.record, READ, ["GET"]),
        ("/items", record_pages.record, READ, ["GET"]),
        ("/items/{item_id:str}", record_pages.item, READ, ["GET"]),
        ("/replay", record_pages.replay, READ, ["GET"]),
        ("/sources", source_pages.sources, READ, ["GET"]),
        ("/sources/{source_id:str}", source_pages.source, READ, ["GET"]),
        ("/sources/{source_id:str}/changes/{version_id:str}", source_pages.change, READ, ["GET"]),
        ("/upcoming", audit_pages.upcoming, READ, ["GET"]),
        ("/audit", audit_pages.audit, READ, ["GET"]),
        ("/audit/witness", audit_pages.check_witness, READ, ["POST"]),
        ("/triage", triage_pages.queue, READ, ["GET"]),
        ("/triage/{proposal_id:str}", triage_pages.proposal, READ, ["GET"]),
        ("/triage/{proposal_id:str}/{action:str}", triage_pages.decide, WRITE, ["POST"]),
        ("/unsubscribe/{token:str}", subscriber_pages.show, PUBLIC, ["GET"]),
        ("/unsubscribe/{token:str}/filters", subscriber_pages.change_filters, PUBLIC, ["POST"]),
    ]
    writing = {subscriber_pages.change_filters, triage_pages.decide}
    routes: list[BaseRoute] = []
    for path, handler, access, methods in pages:
        writes = handler in writing
        routes.append(Route(path, route_handler(web, handler, as_json=False, access=access, writes=writes),
                            methods=methods))
        if path != "/":
            routes.append(Route(f"/api{path}", route_handler(web, handler, as_json=True, access=access, writes=writes),
                                methods=methods))
    # RFC 8058: the one-click POST carries no cookie and no CSRF token, by design.
    for prefix, as_json in (("", False), ("/api", True)):
        routes.append(Route(f"{prefix}/unsubscribe/{{token:str}}", route_handler(
            web, subscriber_pages.one_click, as_json=as_json, access=PUBLIC, writes=True,
            csrf_exempt=subscriber_pages.is_one_click,
        ), methods=["POST"]))
    return routes


def _download(web: Web, produce: Callable[[Request], tuple[bytes, str, str, bool]]) -> Endpoint:
    """A file (calendar, feed, raw snapshot): bytes, media type, file name, as an attachment or not."""
    async def endpoint(request: Request) -> Response:
        try:
            who = web.auth.identify(request.headers, request.client.host if request.client else None)
            if not who.identified and not web.settings.web.open_reading:
                raise HttpError(401, "reading needs a token or a signed-in analyst")
            data, media, name, attachment = await run_in_threadpool(produce, request)
        except HttpError as exc:
            return error_response(web, exc.status, str(exc), as_json=False, headers=exc.headers)
        except TrackerError as exc:
            return error_response(web, status_of(exc), str(exc), as_json=False)
        except AuthRefused as exc:
            return error_response(
                web, 401, str(exc), as_json=False, headers={"WWW-Authenticate": 'Bearer realm="tracker"'}
            )
        disposition = "attachment" if attachment else "inline"
        headers = {"Content-Disposition": f'{disposition}; filename="{name}"'}
        if attachment:  # a fetched page is never rendered as a page of this origin
            headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return Response(data, media_type=media, headers=headers)

    return endpoint


def _files(web: Web) -> list[BaseRoute]:
    def ics(request: Request) -> tuple[bytes, str, str, bool]:
        return audit_pages.calendar(web, _call(request)), "text/calendar; charset=utf-8", "cgt-deadlines.ics", False

    def feed(request: Request) -> tuple[bytes, str, str, bool]:
        return audit_pages.atom(web, _call(request)), "application/atom+xml; charset=utf-8", "changelog.atom", False

    def raw(request: Request) -> tuple[bytes, str, str, bool]:
        body, name = source_pages.snapshot(web, _call(request))
        return body, "application/octet-stream", name, True

    return [
        Route("/upcoming.ics", _download(web, ics), methods=["GET"]),
        Route("/changelog.atom", _download(web, feed), methods=["GET"]),
        Route("/sources/{source_id:str}/snapshots/{version_id:str}", _download(web, raw), methods=["GET"]),
    ]


def _call(request: Request) -> Call:
    return Call(dict(request.query_params), dict(request.path_params), {}, ANONYMOUS, "", request.url.path)


def _ops(web: Web) -> list[BaseRoute]:
    async def healthz(request: Request) -> Response:
        status, body = await run_in_threadpool(ops.health, web)
        return JSONResponse(body, status_code=status)

    async def metrics(request: Request) -> Response:
        text = await run_in_threadpool(ops.exposition, web)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    async def css(request: Request) -> Response:
        return Response(web_asset("web.css"), media_type="text/css; charset=utf-8")

    return [Route("/healthz", healthz, methods=["GET"]), Route("/metrics", metrics, methods=["GET"]),
            Route("/static/web.css", css, methods=["GET"])]


def create_app(app: App, *, web: Web | None = None) -> Starlette:
    """The ASGI app of the web interface over an application built by the composition root."""
    web = web or Web(app)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = {404: "no such page", 405: "this page does not accept that method"}.get(status, "request refused")
        return error_response(web, status, message, as_json=request.url.path.startswith("/api/"))

    starlette = Starlette(
        routes=[*_pages(web), *_files(web), *_ops(web)],
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: http_error},
    )
    starlette.state.web = web
    return starlette


__all__ = ["READ", "WRITE", "create_app"]
