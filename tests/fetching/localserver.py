"""A real HTTP server on 127.0.0.1 (port 0) driven by a route table, for the fetching tests.

Handlers receive the parsed request and return a Reply. A Reply body may be bytes or an
iterable of chunks (sent as they come, so a handler can trickle, hang or drop the connection).
The server counts requests per path and the most requests ever in flight at once. Every wait
in a handler is bounded by ``server.stopping`` so teardown never hangs.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import urlsplit

from tracker.fetching import FetchConfig

T = TypeVar("T")


class BackloggedHTTPServer(ThreadingHTTPServer):
    # The default listen backlog (5) drops SYNs when many clients connect at once, and each
    # dropped SYN costs a 1 s retransmit: a delay of the server's, not of the code under test.
    request_queue_size = 128


class Drop(Exception):
    """Raised by a body iterator to close the connection abruptly."""


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""
    content_length: bool = True      # send Content-Length for a bytes body


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]


Handler = Callable[[Seen], Reply]


class LocalServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight: dict[str, int] = {}
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.httpd = BackloggedHTTPServer((host, 0), _make_handler(self))
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def route(self, path: str, handler: Handler | Reply) -> None:
        if isinstance(handler, Reply):
            reply = handler

            def fixed(_seen: Seen) -> Reply:
                return reply

            handler = fixed
        self.routes[path] = handler

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path)

    def sleep(self, seconds: float) -> None:
        """Sleep in a handler, bounded: returns early when the server stops."""
        self.stopping.wait(seconds)

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


def _make_handler(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class RouteHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"    # one request per connection; the close ends a body without length

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            seen = Seen("GET", parts.path, parts.query, {k.lower(): v for k, v in self.headers.items()})
            with server._lock:
                server.requests.append(seen)
                server.in_flight += 1
                top = server.max_in_flight.get(parts.path, 0)
                server.max_in_flight[parts.path] = max(top, server.in_flight)
            try:
                handler = server.routes.get(parts.path)
                try:
                    reply = handler(seen) if handler else Reply(404, {"Content-Type": "text/plain"}, b"not found")
                finally:
                    # Counted out before the reply is written: a client that has read it may send
                    # its next request before this thread runs again, which counted one too many.
                    with server._lock:
                        server.in_flight -= 1
                self._send(reply)
            except (Drop, BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            headers = dict(reply.headers)
            if isinstance(reply.body, bytes) and reply.content_length:
                headers.setdefault("Content-Length", str(len(reply.body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            chunks = [reply.body] if isinstance(reply.body, bytes) else reply.body
            for chunk in chunks:
                self.wfile.write(chunk)
                self.wfile.flush()

    return RouteHandler


def run(coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    """Run a coroutine to completion, bounded in time."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


def config(**overrides: Any) -> FetchConfig:
    """A fast, strict config for tests: loopback allowed, no delays, short timeouts."""
    base: dict[str, Any] = dict(
        contact="tests@localhost", allow_hosts=("127.0.0.1",), host_delay=0.0, connect_timeout=0.5,
        read_timeout=0.5, attempt_timeout=5.0, retries=0, backoff_base=0.01, backoff_max=0.05,
    )
    base.update(overrides)
    return FetchConfig.default(**base)
