"""The default transport: httpx's own, with a network backend that enforces the URL policy
at connect time and connects only to the addresses it has just checked (no DNS rebinding).

TLS still verifies the certificate against the host name (httpcore passes the name, not the
address, as the server name). Only used when no transport is injected.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpcore
import httpx

from tracker.fetching.policy import UrlPolicy


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
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
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
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        retries=0,
        network_backend=_PinnedBackend(policy),
    )
    return transport
