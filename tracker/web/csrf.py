"""Cross-site request forgery: every form carries a token bound to a cookie of this browser.

The cookie holds a random nonce (HttpOnly, SameSite=Strict); the form field holds its HMAC under a
secret of this process. A request from another site can neither read the cookie nor compute the
field, so a form it submits is refused (403). Scripts that authenticate with a bearer token send no
ambient credential and need no form token; RFC 8058 one-click unsubscribes carry none by design.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

COOKIE = "tracker_csrf"
FIELD = "csrf_token"


class CsrfRefused(Exception):
    """A form without a valid token (403)."""


class Csrf:
    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    @staticmethod
    def new_nonce() -> str:
        return secrets.token_urlsafe(24)

    def token_for(self, nonce: str) -> str:
        return hmac.new(self._secret, nonce.encode(), hashlib.sha256).hexdigest()

    def check(self, nonce: str | None, token: str | None) -> None:
        if not nonce:
            raise CsrfRefused("this form has expired or cookies are off: reload the page and try again")
        if not token or not hmac.compare_digest(self.token_for(nonce), token):
            raise CsrfRefused("this form's security token is missing or not valid: reload the page and try again")
