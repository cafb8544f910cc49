"""Connections are kept alive across short answers (304s, redirects), against a real HTTP/1.1 server.

The local server of the other tests speaks HTTP/1.0 (one request per connection); this one keeps
every connection open and counts them, as most sites do (issue 18: a sweep of conditional GETs
answered 304 opened a new connection, and on a real site a TLS handshake, for every page).
"""

from __future__ import annotations

import asyncio

import pytest

from tests.fetching.localserver import config, run
from tracker.fetching import Fetcher, FetchRequest, FetchResult

PAGE = b"<!doctype html><p>Rules in force</p>"


class KeepAliveServer:
    """HTTP/1.1 on 127.0.0.1: /page has ETag "v1" (304 to If-None-Match "v1"); /moved redirects to /page
    with a short body; /big answers 304 with a body longer than a challenge page (a broken server)."""

    def __init__(self, close_after_answer: bool = False) -> None:
        self.close_after_answer = close_after_answer    # and say nothing about it (no Connection: close)
        self.connections = 0
        self.requests = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                path = head.split(b" ", 2)[1]
                conditional = b'if-none-match: "v1"' in head.lower()
                if path == b"/moved":
                    status, extra, body = b"301 Moved Permanently", b"Location: /page\r\n", b"moved to /page"
                elif conditional:
                    status, extra, body = b"304 Not Modified", b'ETag: "v1"\r\n', b""
                else:
                    status, extra, body = b"200 OK", b'ETag: "v1"\r\nContent-Type: text/html\r\n', PAGE
                writer.write(b"HTTP/1.1 %s\r\n%sContent-Length: %d\r\n\r\n%s" % (status, extra, len(body), body))
                await writer.drain()
                if self.close_after_answer:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def _sweep(requests: list[tuple[str, str | None]], server: KeepAliveServer | None = None,
           pause: float = 0.0) -> tuple[list[FetchResult], int, int]:
    """Fetch one after the other through one Fetcher; the results, connections and requests seen."""

    async def go() -> tuple[list[FetchResult], int, int]:
        nonlocal server
        server = server or KeepAliveServer()
        await server.start()
        try:
            async with Fetcher(config(concurrency=1, per_host=1)) as fetcher:
                results = []
                for path, etag in requests:
                    results.append(await fetcher.fetch(
                        FetchRequest("src", server.url(path), etag=etag, respect_robots=False)))
                    await asyncio.sleep(pause)
        finally:
            await server.close()
        return results, server.connections, server.requests

    return run(go())


def test_304_answers_reuse_one_connection() -> None:
    results, connections, requests = _sweep([("/page", '"v1"')] * 10)
    assert [r.outcome for r in results] == ["not_modified"] * 10
    assert (connections, requests) == (1, 10)


def test_redirects_reuse_the_connection_and_reach_the_page() -> None:
    results, connections, requests = _sweep([("/moved", None)] * 5)
    assert [(r.outcome, r.body, r.final_url.endswith("/page")) for r in results] == [("ok", PAGE, True)] * 5
    assert (connections, requests) == (1, 10)


def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    # The idle connection is asked whether its socket is readable (at its end) before it is taken.
    results, connections, requests = _sweep([("/page", '"v1"')] * 4, KeepAliveServer(close_after_answer=True),
                                            pause=0.05)
    assert [r.outcome for r in results] == ["not_modified"] * 4
    assert (connections, requests) == (4, 4)


def test_the_pool_holds_its_bound_across_hosts_and_concurrent_requests() -> None:
    # The pool's own bookkeeping (fetching/transport.py): many requests at once share the bound,
    # and a full pool closes an idle connection to one host to open one to another.
    async def go() -> tuple[list[str], list[int], list[int]]:
        servers = [KeepAliveServer(), KeepAliveServer()]
        for server in servers:
            await server.start()
        try:
            async with Fetcher(config(concurrency=2, per_host=2)) as fetcher:
                burst = await asyncio.gather(*(
                    fetcher.fetch(FetchRequest(f"s{i}", servers[0].url("/page"), respect_robots=False))
                    for i in range(12)))
                after_burst = servers[0].connections
            async with Fetcher(config(concurrency=1, per_host=1)) as fetcher:
                alternating = [await fetcher.fetch(FetchRequest("s", servers[i % 2].url("/page"), etag='"v1"',
                                                                respect_robots=False)) for i in range(6)]
        finally:
            for server in servers:
                await server.close()
        return ([r.outcome for r in [*burst, *alternating]], [after_burst],
                [s.connections for s in servers])

    outcomes, [after_burst], connections = run(go())
    assert outcomes == ["ok"] * 12 + ["not_modified"] * 6
    assert after_burst == 2                     # twelve requests, never more than two connections
    assert connections == [2 + 3, 3]            # one connection at a time: each host's closed for the other's



def test_a_connection_handed_to_a_request_is_not_handed_to_another(monkeypatch: pytest.MonkeyPatch) -> None:
    # httpcore hands a queued request the first idle connection, which stays idle until that
    # request's task runs: one queued in the meantime got the same one, found it taken and went
    # round the pool again (issue 18: about three times a page in a sweep). Counted here.
    from httpcore._async import connection_pool

    retries: list[object] = []
    clear = connection_pool.AsyncPoolRequest.clear_connection

    def counted(request: connection_pool.AsyncPoolRequest) -> None:
        retries.append(request)
        clear(request)

    monkeypatch.setattr(connection_pool.AsyncPoolRequest, "clear_connection", counted)

    async def go() -> list[FetchResult]:
        server = KeepAliveServer()
        await server.start()
        try:
            async with Fetcher(config(concurrency=4, per_host=4)) as fetcher:
                return [r async for r in fetcher.fetch_many(
                    FetchRequest(f"s{i}", server.url("/page"), respect_robots=False) for i in range(200))]
        finally:
            await server.close()

    results = run(go())
    assert [r.outcome for r in results] == ["ok"] * 200
    if _linear_pool():
        assert retries == []


def _linear_pool() -> bool:
    import httpcore

    return httpcore.__version__.startswith("1.0.")


def test_httpcore_1_0_gets_the_linear_pool() -> None:
    """The pool's bookkeeping is a copy of httpcore 1.0's method: taken on that release only."""
    import httpcore

    from tracker.fetching import transport

    if not httpcore.__version__.startswith("1.0."):
        pytest.skip(f"httpcore {httpcore.__version__}: its own pool (transport._Pool copies 1.0's method)")
    assert transport._POOL is transport._Pool
