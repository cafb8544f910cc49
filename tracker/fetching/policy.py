"""URL policy: which URLs the fetcher may request at all.

Only http and https. A host whose resolved addresses include a private, loopback, link-local,
multicast, reserved or unspecified address is refused, unless its name or that address is on
the allow list. The check runs on every redirect hop, after DNS resolution and before any
connection; the default transport (transport.py) checks again at connect time and connects
only to the addresses it checked, so a DNS answer that changes between the two looks ("DNS
rebinding") is refused too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from tracker.errors import FetchError
from tracker.fetching.result import DNS, REFUSED_ADDRESS, UNSUPPORTED_SCHEME

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

SCHEMES = {"http": 80, "https": 443}


async def system_resolve(host: str, port: int) -> list[str]:
    """All addresses of ``host`` from the system resolver, without blocking the loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return _public(address.ipv4_mapped)
        if address.is_site_local:
            return False
    return not (
        address.is_private or address.is_loopback or address.is_link_local
        or address.is_multicast or address.is_reserved or address.is_unspecified
    )


class UrlPolicy:
    """Checks a URL before each request; raises FetchError with a policy error class."""

    def __init__(self, allow: Iterable[str] = (), resolve: Resolver | None = None) -> None:
        self._names: set[str] = set()
        self._networks: list[IPNetwork] = []
        for item in allow:
            item = item.strip()
            if not item:
                continue
            try:
                self._networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                self._names.add(item.lower().rstrip("."))
        self._resolve = resolve or system_resolve

    def _allowed_address(self, address: IPAddress) -> bool:
        return _public(address) or any(address in net for net in self._networks)

    async def check(self, url: str) -> None:
        """Raise FetchError (unsupported-scheme, dns or refused-address) unless ``url`` may be fetched."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise FetchError(UNSUPPORTED_SCHEME, f"not a valid URL: {url!r} ({exc})") from None
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise FetchError(UNSUPPORTED_SCHEME, f"only http and https are fetched, not {scheme or 'no scheme'!r}")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise FetchError(UNSUPPORTED_SCHEME, f"no host in URL {url!r}")
        await self.addresses(host, port or SCHEMES[scheme])

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses of ``host`` we may connect to (all of them, or FetchError dns/refused-address)."""
        host = host.strip("[]").rstrip(".")
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            found = [str(literal)]
        else:
            try:
                found = await self._resolve(host, port)
            except (OSError, UnicodeError) as exc:
                raise FetchError(DNS, f"cannot resolve {host}: {exc}") from None
            if not found:
                raise FetchError(DNS, f"cannot resolve {host}: no address")
        if host.lower() in self._names:
            return found
        refused = [a for a in found if not self._allowed_address(ipaddress.ip_address(a.split("%", 1)[0]))]
        if refused:
            raise FetchError(
                REFUSED_ADDRESS, f"{host} resolves to a non-public address ({', '.join(refused)}) not on the allow list"
            )
        return found
