"""How a request becomes a page: one wrapper for every route, HTML and JSON alike.

A handler is a plain function ``(web, call) -> Page`` run in a worker thread (the services are
synchronous). The wrapper identifies the caller, reads and bounds the form, checks the CSRF token
of a form, runs the handler, and renders the page as HTML (``/x``) or JSON (``/api/x``). Errors are
translated here, at the edge: a TrackerError becomes a 4xx page or JSON error naming the problem,
anything else a 500 without a traceback.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from tracker.errors import (
    ConcurrencyError,
    ConfigError,
    DatabaseError,
    ExportFileError,
    IntegrityError,
    NotFoundError,
    ProofRejectedError,
    TrackerError,
    ValidationError,
)
from tracker.rendering.web import render_page
from tracker.web.auth import AuthRefused, Principal
from tracker.web.csrf import COOKIE, FIELD, CsrfRefused
from tracker.web.state import Web

log = logging.getLogger("tracker.web")

READ, WRITE, PUBLIC = "read", "write", "public"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Call:
    """What a handler may know of its request: plain values only."""

    params: Mapping[str, str]
    path: Mapping[str, str]
    form: Mapping[str, str]
    who: Principal
    csrf_token: str
    url: str  # path and query of this request (for links that reproduce it)
    method: str = "GET"

    def param(self, name: str) -> str | None:
        value = self.params.get(name, "").strip()
        return value or None


@dataclass
class Page:
    template: str
    title: str
    view: Any
    data: Any = None  # the JSON of /api/...; None: this page has no JSON twin
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    redirect: str | None = None


Handler = Callable[[Web, Call], Page]

_STATUS = (
    (NotFoundError, 404), (ValidationError, 400), (ConfigError, 400), (ExportFileError, 400),
    (ConcurrencyError, 409), (IntegrityError, 409), (ProofRejectedError, 409), (DatabaseError, 503),
)


def status_of(exc: TrackerError) -> int:
    return next((status for kind, status in _STATUS if isinstance(exc, kind)), 400)


def error_response(
    web: Web, status: int, message: str, as_json: bool, headers: Mapping[str, str] | None = None
) -> Response:
    if as_json:
        return JSONResponse({"error": message, "status": status}, status_code=status, headers=dict(headers or {}))
    body = render_page("error.html", title=f"Error {status}", status=status, message=message, nav=web.nav,
                       who=ANONYMOUS_VIEW, csrf_token="")
    return HTMLResponse(body, status_code=status, headers=dict(headers or {}))


ANONYMOUS_VIEW = Principal(None, "anonymous")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HttpError(400, "malformed Content-Length")
        if int(declared) > limit:
            raise HttpError(413, f"the form is too large (at most {limit} bytes)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HttpError(413, f"the form is too large (at most {limit} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_form(body: bytes, content_type: str) -> dict[str, str]:
    if not body:
        return {}
    if content_type.split(";", 1)[0].strip().lower() != "application/x-www-form-urlencoded":
        raise HttpError(415, "forms are sent as application/x-www-form-urlencoded")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=100, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise HttpError(400, "the form is not valid UTF-8 form data") from None
    form: dict[str, str] = {}
    for name, value in pairs:  # a repeated field (checkboxes) is one comma-separated value
        form[name] = f"{form[name]},{value}" if name in form else value
    return form


def route_handler(
    web: Web,
    handler: Handler,
    *,
    as_json: bool,
    access: str,
    writes: bool = False,
    csrf_exempt: Callable[[Mapping[str, str]], bool] | None = None,
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        nonce = request.cookies.get(COOKIE) or ""
        new_nonce = "" if nonce else web.csrf.new_nonce()
        try:
            if writes and web.read_only:
                raise HttpError(503, "this interface runs with a read-only database role: nothing can be changed here")
            response = await _respond(web, request, handler, as_json, access, nonce or new_nonce, csrf_exempt)
        except HttpError as exc:
            response = error_response(web, exc.status, str(exc), as_json, exc.headers)
        except TrackerError as exc:
            response = error_response(web, status_of(exc), str(exc), as_json)
        if new_nonce and not as_json:
            response.set_cookie(COOKIE, new_nonce, httponly=True, samesite="strict", path="/",
                                secure=request.url.scheme == "https")
        return response

    return endpoint


async def _respond(web: Web, request: Request, handler: Handler, as_json: bool, access: str, nonce: str,
                   csrf_exempt: Callable[[Mapping[str, str]], bool] | None) -> Response:
    who = _who(web, request, access)
    form: dict[str, str] = {}
    if request.method == "POST":
        body = await _read_body(request, web.settings.web.max_form_bytes)
        form = parse_form(body, request.headers.get("content-type", ""))
        if not (csrf_exempt and csrf_exempt(form)) and who.ambient:
            try:
                web.csrf.check(request.cookies.get(COOKIE), form.get(FIELD))
            except CsrfRefused as exc:
                raise HttpError(403, str(exc)) from None
    params = dict(request.query_params)
    if any(len(value) > 2000 for value in params.values()):
        raise HttpError(414, "a query parameter is too long")
    if any(_CONTROL.search(value) for value in params.values()):
        raise HttpError(400, "a query parameter holds control characters")
    if any(len(value) > 200 or _CONTROL.search(value) for value in request.path_params.values()):
        raise HttpError(404, "no such page")
    url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    call = Call(params, dict(request.path_params), form, who, web.csrf.token_for(nonce), url, request.method)
    page, content = await run_in_threadpool(_produce, web, handler, call, as_json)
    if page.redirect is not None:
        if as_json:
            return JSONResponse(page.data, status_code=page.status)
        return Response(status_code=303, headers={"Location": page.redirect})
    if as_json:
        return Response(content, status_code=page.status, media_type="application/json", headers=page.headers)
    return HTMLResponse(content, status_code=page.status, headers=page.headers)


def _produce(web: Web, handler: Handler, call: Call, as_json: bool) -> tuple[Page, str]:
    """The handler and the rendering, both in the worker thread: the event loop only moves bytes."""
    page = handler(web, call)
    if page.redirect is not None:
        return page, ""
    if as_json:
        if page.data is None:
            raise HttpError(404, "this page has no JSON form")
        return page, json.dumps(page.data, ensure_ascii=False, default=str)
    return page, render_page(page.template, title=page.title, v=page.view, nav=web.nav, who=call.who,
                             csrf_token=call.csrf_token, csrf_field=FIELD, url=call.url)


def _who(web: Web, request: Request, access: str) -> Principal:
    try:
        who = web.auth.identify(request.headers, request.client.host if request.client else None)
    except AuthRefused as exc:
        raise HttpError(401, str(exc), {"WWW-Authenticate": 'Bearer realm="tracker"'}) from None
    if access == READ and not who.identified and not web.settings.web.open_reading:
        raise HttpError(
            401, "reading needs a token or a signed-in analyst", {"WWW-Authenticate": 'Bearer realm="tracker"'}
        )
    if access == WRITE and not who.identified:
        raise HttpError(403, "changing anything needs an identified analyst (a token or single sign-on)")
    return who
