"""Who is asking: a named bearer token (scripts), the user a trusted reverse proxy signed in (single
sign-on), or nobody.

Tokens are kept hashed (sha256: they are long random strings, so a fast hash is enough); a request
presenting a token that matches none is refused, never taken for an anonymous one. The proxy's user
header is believed only from the addresses in ``web.trusted_proxies``; from anywhere else it is
ignored, so a client cannot name itself.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from tracker.settings import WebSettings

_NAME = re.compile(r"^[\w.@+-]{1,120}$")


class AuthRefused(Exception):
    """A credential was presented and is not valid (401)."""


@dataclass(frozen=True, slots=True)
class Principal:
    name: str | None
    via: str  # "token", "proxy" or "anonymous"

    @property
    def identified(self) -> bool:
        return self.name is not None

    @property
    def ambient(self) -> bool:
        """A credential a browser sends by itself (proxy sign-on): forms need a CSRF token."""
        return self.via != "token"


ANONYMOUS = Principal(None, "anonymous")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(name: str) -> tuple[str, str]:
    """A fresh token and the settings entry (NAME:sha256:HEX) that admits it."""
    if not _NAME.match(name):
        raise ValueError(f"{name!r}: a token name is letters, digits and . _ @ + - (at most 120)")
    token = "trk_" + secrets.token_urlsafe(32)
    return token, f"{name}:sha256:{hash_token(token)}"


class Authenticator:
    def __init__(self, settings: WebSettings) -> None:
        self._tokens = settings.token_hashes
        self._header = settings.trusted_user_header.lower()
        self._proxies = [ipaddress.ip_network(p, strict=False) for p in settings.proxies]

    def _from_proxy(self, client: str | None) -> bool:
        if not self._proxies or not client:
            return False
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return False
        return any(address in network for network in self._proxies)

    def identify(self, headers: Mapping[str, str], client: str | None) -> Principal:
        authorization = headers.get("authorization", "")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthRefused("only bearer tokens are accepted")
            digest = hash_token(token.strip())
            for known, name in self._tokens.items():
                if hmac.compare_digest(known, digest):
                    return Principal(name, "token")
            raise AuthRefused("this token is not valid")
        if self._header and self._from_proxy(client):
            user = headers.get(self._header, "").strip()
            if user:
                if not _NAME.match(user):
                    raise AuthRefused("the proxy named a user this interface cannot show")
                return Principal(user, "proxy")
        return ANONYMOUS
