"""Digest messages: multipart/alternative, UTF-8 throughout, the headers RFC 8058 asks for.

A digest is rendered once into a *draft*: its headers (Message-ID, Date, boundary and all) and both
parts, zlib-compressed; that is what the outbox row keeps. `message_bytes(draft, recipient)` turns
it into the RFC 5322 message, byte for byte the same on every attempt, with the To header added
then: the address is personal data, kept sealed apart (services/personal.py). Both parts are base64
so that Chinese and Japanese text survives any relay, whatever its line-length or 8-bit rules.
(Encoding a large digest in base64 costs half as much as rendering it, and the encoded form is four
times larger to store, so it is done at send time, not when the digest is prepared.)
"""

from __future__ import annotations

import base64
import secrets
import zlib
from datetime import datetime
from email import message_from_bytes, policy
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import quote

from tracker.errors import ConfigError, DeliveryError


class _HeaderClasses(HeaderRegistry):
    """The email package's header registry, each header's class made once: the stock registry makes
    a new class (type()) for every header set, 0.2 of the 0.7 ms a digest's headers took."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        made = self._made.get(name.lower())
        if made is None:
            made = self._made[name.lower()] = super().__getitem__(name)
        return made


# Fold only beyond RFC 5322's hard limit: folding a long List-Unsubscribe or X-Tracker-Head value at
# 78 columns would turn it into RFC 2047 encoded words, which mail clients do not read as URLs.
SMTP_POLICY = policy.SMTP.clone(max_line_length=998, header_factory=_HeaderClasses())
_DRAFT_MAGIC = b"tracker-digest-draft/1"


def sender_address(from_setting: str) -> tuple[str, str]:
    """(display name, address) of the mail.from setting, refusing anything unusable."""
    if "\r" in from_setting or "\n" in from_setting:
        raise ConfigError("bad value for mail.from: it contains a line break")
    name, address = parseaddr(from_setting)
    if "@" not in address:
        raise ConfigError(f"bad value for mail.from: {from_setting!r} has no address")
    return name, address


def message_domain(from_setting: str) -> str:
    return sender_address(from_setting)[1].rpartition("@")[2] or "localhost"


def build_digest_message(
    *,
    sender: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    date: datetime,
    unsubscribe_url: str,  # "" when no one-click endpoint is configured: mailto: only
    unsubscribe_token: str,
    head: tuple[int, str],
    extra: dict[str, str] | None = None,
) -> bytes:
    """The digest's draft (see the module docstring), ready for an outbox row.

    The email package writes the headers (RFC 2047 for a Chinese or Japanese subject); the
    multipart body is assembled by `message_bytes`, because the generic generator spends more time
    on a large digest than rendering it does. The boundary holds "_", which base64 never produces,
    so it cannot occur inside a part.
    """
    name, address = sender_address(sender)
    local, _, domain = address.rpartition("@")
    boundary = f"=_tracker_{secrets.token_hex(12)}"
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = Address(display_name=name, username=local, domain=domain)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    mailto = f"mailto:{address}?subject={quote('unsubscribe ' + unsubscribe_token)}"
    if unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{mailto}>, <{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    else:
        # No endpoint answers a one-click POST: advertising one would be a dead link (RFC 8058).
        msg["List-Unsubscribe"] = f"<{mailto}>"
    msg["X-Tracker-Head"] = f"{head[0]} {head[1]}"
    for key, value in (extra or {}).items():
        msg[key] = value
    msg["MIME-Version"] = "1.0"
    msg["Content-Type"] = f'multipart/alternative; boundary="{boundary}"'
    headers = msg.as_bytes(policy=SMTP_POLICY).split(b"\r\n\r\n", 1)[0]
    # Fed piece by piece: a large digest is never copied into one joined buffer before compression.
    packer = zlib.compressobj(1)
    packed: list[bytes] = []
    for frame in (_DRAFT_MAGIC, boundary.encode("ascii"), headers, text.encode("utf-8"), html.encode("utf-8")):
        packed.append(packer.compress(b"%d:" % len(frame)))
        packed.append(packer.compress(frame))
    packed.append(packer.flush())
    return b"".join(packed)


def _frames(draft: bytes) -> list[bytes]:
    try:
        data = zlib.decompress(draft)
    except zlib.error:
        raise DeliveryError("the stored digest is not a tracker draft (cannot decompress)") from None
    frames: list[bytes] = []
    at = 0
    while at < len(data):
        colon = data.index(b":", at)
        size = int(data[at:colon])
        frames.append(data[colon + 1:colon + 1 + size])
        at = colon + 1 + size
    if len(frames) != 5 or frames[0] != _DRAFT_MAGIC:
        raise DeliveryError("the stored digest is not a tracker draft")
    return frames


def message_bytes(draft: bytes, recipient: str | None = None) -> bytes:
    """The message a draft stands for, with a To header when a recipient is given."""
    _, boundary, headers, text, html = _frames(draft)
    delimiter = b"--" + boundary + b"\r\n"
    message = b"".join([
        headers, b"\r\n\r\n",
        delimiter, _base64_part("plain", text),
        delimiter, _base64_part("html", html),
        b"--" + boundary + b"--\r\n",
    ])
    return message if recipient is None else with_recipient(message, recipient)


def _base64_part(subtype: str, content: bytes) -> bytes:
    body = base64.encodebytes(content).replace(b"\n", b"\r\n")
    return (f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n").encode("ascii") + body


def with_recipient(message: bytes, recipient: str) -> bytes:
    """Prepend the To header. The address was validated on subscribe (no CR, LF or commas)."""
    if any(c in recipient for c in "\r\n,<>\"") or "@" not in recipient:
        raise DeliveryError(f"refusing to address a message to {recipient!r}")
    return f"To: {recipient}\r\n".encode("ascii") + message


def witness_texts(data: bytes) -> list[str]:
    """Witness: the X-Tracker-Head header(s) of a stored message, and the log-head lines of its text parts."""
    msg = message_from_bytes(data, policy=policy.default)
    found = [str(value) for value in msg.get_all("X-Tracker-Head", [])]
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            content = part.get_content()
            if isinstance(content, str):
                found.append(content)
    return found
