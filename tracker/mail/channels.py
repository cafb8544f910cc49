"""apprise only here: digests announced on channels besides e-mail (Slack, Teams, webhooks, ...).

A channel is an Apprise URL (slack://, msteams://, json:// for a plain webhook, ...). Its URL often
is the secret itself (a webhook token in the path, a password in the user part), so it is shown
only masked, through `mask`: the scheme and the host, nothing of the user part, the path or the
query. apprise's own log lines name the target in full; they are captured while a channel is
notified and never reach the tracker's logs: a failure is reported with the masked URL only.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

import apprise

from tracker.errors import DeliveryError, ValidationError

MAX_URL = 2000
_LOG_PREFIX = re.compile(r"\d{4}-\d\d-\d\d [\d:,.]+ - [A-Z]+ - ")
# apprise's records may name a target in full: they stay in the capture below, never in our logs.
logging.getLogger("apprise").propagate = False


def validate(url: str) -> str:
    """The URL as given if apprise knows how to notify it; ValidationError (masked) otherwise."""
    text = url.strip()
    if not text or len(text) > MAX_URL or any(ord(c) < 32 for c in text):
        raise ValidationError(f"--notify: {mask(text)} is not a channel URL (an Apprise URL such as "
                              "slack://..., msteams://..., json://host/path)")
    with apprise.LogCapture(level=logging.CRITICAL + 1):  # type: ignore[no-untyped-call]
        plugin = apprise.Apprise.instantiate(text, suppress_exceptions=True)
    if plugin is None:
        raise ValidationError(f"--notify: {mask(text)} is not a URL apprise can notify (e.g. slack://..., "
                              "msteams://..., json://host/path, jsons://host/path)")
    return text


def mask(url: str) -> str:
    """What may be shown of a channel URL: its scheme and host ("json://127.0.0.1:8080/…")."""
    parts = urlsplit(url.strip())
    if not parts.scheme:
        return "…"
    host = parts.hostname or ""
    port = f":{parts.port}" if _has_port(parts.netloc) else ""
    # A host that is not a name or an address (slack://TokenA/...) is itself a secret.
    shown = f"{host}{port}" if ("." in host or host == "localhost" or ":" in host) else "…"
    more = "/…" if (parts.path.strip("/") or parts.query or shown == "…") else ""
    return f"{parts.scheme}://{shown}{more}"


def _has_port(netloc: str) -> bool:
    try:
        return urlsplit(f"//{netloc}").port is not None
    except ValueError:
        return False


def notify(url: str, *, title: str, body: str) -> None:
    """Deliver one message to one channel; DeliveryError (naming the channel masked) if it fails."""
    sink = apprise.Apprise()
    with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
        if not sink.add(url):
            raise DeliveryError(f"channel {mask(url)}: not a URL apprise can notify")
        ok = bool(sink.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT))
    if not ok:
        reason = " ".join(_LOG_PREFIX.sub("", captured.getvalue()).split())
        raise DeliveryError(f"channel {mask(url)}: not delivered ({_scrub(reason, url)[:300] or 'no reason given'})")


def _scrub(text: str, url: str) -> str:
    """apprise's own words about a failure, with every part of the URL that could be secret removed."""
    parts = urlsplit(url)
    for secret in (url, parts.netloc, parts.path, parts.query, parts.username or "", parts.password or "",
                   *parts.path.split("/")):
        if secret and len(secret) > 3 and secret not in (parts.hostname or ""):
            text = text.replace(secret, "…")
    return text
