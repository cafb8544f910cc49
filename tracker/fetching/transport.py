"""The default transport: httpx's own, with a network backend that enforces the URL policy
at connect time and connects only to the addresses it has just checked (no DNS rebinding).

TLS still verifies the certificate against the host name (httpcore passes the name, not the
address, as the server name). Only used when no transport is injected.
"""

from __future__ import annotations

import select
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from tracker.fetching.policy import UrlPolicy


class _Stream(httpcore.AsyncNetworkStream):
    """anyio's stream with its socket looked up once.

    httpcore asks every idle connection "is_readable?" (has the server closed it?) each time a
    request enters or leaves the pool; anyio answers by building a dict of every attribute of the
    socket, with a getpeername() call, just to find the socket (issue 18: with connections kept
    alive that was a third of the CPU of a sweep of 304s).
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream, sock: socket.socket | None) -> None:
        self._inner = inner
        self._sock = sock
        self._poll: tuple[int, select.poll] | None = None    # registered once, asked many times

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout), self._sock)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return self._readable()
        if info == "socket":
            return self._sock
        return self._inner.get_extra_info(info)

    def _readable(self) -> bool:
        """httpcore's is_socket_readable: a closed socket reads as readable (its next read ends)."""
        fd = -1 if self._sock is None else self._sock.fileno()
        if fd < 0:
            return True
        if self._poll is None or self._poll[0] != fd:
            poll = select.poll()
            poll.register(fd, select.POLLIN)
            self._poll = (fd, poll)
        return bool(self._poll[1].poll(0))


class _Pool(httpcore.AsyncConnectionPool):
    """httpcore's pool, its bookkeeping linear in the connections instead of quadratic.

    Each time a request enters or leaves the pool, httpcore's ``_assign_requests_to_connections``
    asks every idle connection ``is_idle()`` of every connection again, only to take the length
    of that list (the number of connections): 256 calls per request at 16 connections, 13% of
    the CPU of 500 conditional GETs answered 304 (issue 18). This is the same method (httpcore
    1.0.9) with that length taken directly, and one decision changed: an HTTP/1.1 connection
    already handed to a request is not handed to another.

    httpcore gives a queued request the first idle connection; the connection stays idle until
    its request's task runs, so a request queued in the meantime was given the same one, found
    it taken (ConnectionNotAvailable) and went round the pool again (issue 18: 2,000 pages at 16
    connections made 5,900 such retries, each a pass of this method and wake-ups of the task).
    """

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        closing: list[httpcore.AsyncConnectionInterface] = []
        # Closed connections dropped; expired ones, and idle ones beyond the keep-alive limit, closed.
        for connection in list(self._connections):
            if connection.is_closed():
                self._connections.remove(connection)
            elif connection.has_expired() or (
                connection.is_idle() and len(self._connections) > self._max_keepalive_connections
            ):
                self._connections.remove(connection)
                closing.append(connection)
        # An HTTP/1.1 connection serves one request at a time: one handed to a request that has not
        # yet started on it looks idle, but is taken (HTTP/2 ones are shared, as httpcore does).
        taken = set() if self._http2 else {id(r.connection) for r in self._requests if r.connection is not None}
        for pool_request in [request for request in self._requests if request.is_queued()]:
            origin = pool_request.request.url.origin
            available = next((c for c in self._connections if id(c) not in taken
                              and c.can_handle_request(origin) and c.is_available()), None)
            if available is None and len(self._connections) >= self._max_connections:
                idle = next((c for c in self._connections if id(c) not in taken and c.is_idle()), None)
                if idle is None:
                    continue        # stays queued until a connection frees up
                self._connections.remove(idle)
                closing.append(idle)
            if available is None:
                available = self.create_connection(origin)
                self._connections.append(available)
            pool_request.assign_to_connection(available)
            if not self._http2:
                taken.add(id(available))
        return closing



# The method above is a copy of httpcore 1.0's: another release may keep its pool's state
# differently, and gets its own pool, unchanged.
_POOL: type[httpcore.AsyncConnectionPool] = (
    _Pool if httpcore.__version__.startswith("1.0.") else httpcore.AsyncConnectionPool
)


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, policy: UrlPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._policy.addresses(host, port)   # FetchError passes through httpx untouched
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
                return _Stream(stream, stream.get_extra_info("socket"))
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_transport(policy: UrlPolicy, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """httpx's transport (no retries, no proxy) whose connections pass ``policy`` at connect time."""
    # One TLS context for both (loading the CA bundle costs about 2 MB a context; issue 18).
    ssl_context = httpx.create_ssl_context(trust_env=False)
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, retries=0, limits=limits, trust_env=False)
    # httpx offers no public way to choose the network backend; the pool is rebuilt with the same
    # options plus ours. tests/fetching/test_policy.py fails if this stops taking effect.
    transport._pool = _POOL(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        retries=0,
        network_backend=_PinnedBackend(policy),
    )
    return transport
