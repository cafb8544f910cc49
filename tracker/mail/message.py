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
import re
import secrets
import zlib
from datetime import datetime
from email import message_from_bytes, policy
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.utils import format_datetime, parseaddr
from functools import lru_cache
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
_HEADERS = _HeaderClasses()
SMTP_POLICY = policy.SMTP.clone(max_line_length=998, header_factory=_HEADERS)
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

    The email package writes the headers (RFC 2047 for a Chinese or Japanese subject) whose value is
    not plain (_header_line); the multipart body is assembled by `message_bytes`, because the
    generic generator spends more time on a large digest than rendering it does. The boundary holds
    "_", which base64 never produces, so it cannot occur inside a part.
    """
    name, address = sender_address(sender)
    boundary = f"=_tracker_{secrets.token_hex(12)}"
    mailto = f"mailto:{address}?subject={quote('unsubscribe ' + unsubscribe_token)}"
    headers = [("Subject", subject), ("Date", format_datetime(date)), ("Message-ID", message_id)]
    if unsubscribe_url:
        headers += [("List-Unsubscribe", f"<{mailto}>, <{unsubscribe_url}>"),
                    ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]
    else:
        # No endpoint answers a one-click POST: advertising one would be a dead link (RFC 8058).
        headers.append(("List-Unsubscribe", f"<{mailto}>"))
    headers.append(("X-Tracker-Head", f"{head[0]} {head[1]}"))
    headers += (extra or {}).items()
    headers += [("MIME-Version", "1.0"), ("Content-Type", f'multipart/alternative; boundary="{boundary}"')]
    lines = [_from_line(name, address), *(_header_line(key, value) for key, value in headers)]
    headers_bytes = b"".join(lines)[:-2]  # the block without its last line break, as the draft keeps it
    # Fed piece by piece: a large digest is never copied into one joined buffer before compression.
    packer = zlib.compressobj(1)
    packed: list[bytes] = []
    for frame in (_DRAFT_MAGIC, boundary.encode("ascii"), headers_bytes, text.encode("utf-8"), html.encode("utf-8")):
        packed.append(packer.compress(b"%d:" % len(frame)))
        packed.append(packer.compress(frame))
    packed.append(packer.flush())
    return b"".join(packed)


# Values the email package writes exactly as given (tests/digests/test_mime_headers.py holds the
# two ways equal): for an unstructured header, printable ASCII words between single spaces with
# nothing it would read as an encoded word, far from the line limit; for the structured headers a
# digest has, the shapes it makes of them. Any other value is written by the email package itself.
_UNSTRUCTURED = re.compile(r"[!-~]+(?: [!-~]+)*")
_STRUCTURED = {
    "date": re.compile(  # as format_datetime writes a date
        r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
        r"\d\d:\d\d:\d\d [+-]\d{4}"),
    "message-id": re.compile(r"<[A-Za-z0-9.-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*>"),
    "mime-version": re.compile(r"1\.0"),
    "content-type": re.compile(r'multipart/alternative; boundary="=_tracker_[0-9a-f]+"'),
}
_PLAIN_LENGTH = 900


def _plain(name: str, value: str) -> bool:
    key = name.lower()
    pattern = _STRUCTURED.get(key)
    if pattern is not None:
        return pattern.fullmatch(value) is not None
    return (issubclass(_HEADERS[key], UnstructuredHeader) and len(value) < _PLAIN_LENGTH
            and "=?" not in value and _UNSTRUCTURED.fullmatch(value) is not None)


def _header_line(name: str, value: str) -> bytes:
    """One header line with its CRLF, as `EmailMessage.as_bytes(policy=SMTP_POLICY)` writes it
    (each header is folded on its own there): written directly when the value is plain, as a
    digest's headers nearly always are (the email package parses and refolds each: 0.5 ms a digest)."""
    if _plain(name, value):
        return f"{name}: {value}\r\n".encode("ascii")
    return SMTP_POLICY.fold_binary(name, SMTP_POLICY.header_store_parse(name, value)[1])


@lru_cache(maxsize=16)  # the From header is the mail.from setting's, the same in every digest
def _from_line(name: str, address: str) -> bytes:
    local, _, domain = address.rpartition("@")
    return SMTP_POLICY.fold_binary("From", SMTP_POLICY.header_store_parse(
        "From", Address(display_name=name, username=local, domain=domain))[1])


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
