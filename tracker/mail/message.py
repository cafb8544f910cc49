"""Digest messages: multipart/alternative, UTF-8 throughout, the headers RFC 8058 asks for.

The stored message has no To header: the address is personal data and lives only in the
`subscribers` table, so it is added at send time (`with_recipient`). Both parts are base64 so that
Chinese and Japanese text survives any relay, whatever its line-length or 8-bit rules.
"""

from __future__ import annotations

from datetime import datetime
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import quote

from tracker.errors import ConfigError, DeliveryError

# Fold only beyond RFC 5322's hard limit: folding a long List-Unsubscribe or X-Tracker-Head value at
# 78 columns would turn it into RFC 2047 encoded words, which mail clients do not read as URLs.
SMTP_POLICY = policy.SMTP.clone(max_line_length=998)


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
    unsubscribe_url: str,
    unsubscribe_token: str,
    head: tuple[int, str],
    extra: dict[str, str] | None = None,
) -> bytes:
    """The digest as bytes (CRLF line ends), ready for an outbox row."""
    name, address = sender_address(sender)
    local, _, domain = address.rpartition("@")
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = Address(display_name=name, username=local, domain=domain)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    mailto = f"mailto:{address}?subject={quote('unsubscribe ' + unsubscribe_token)}"
    msg["List-Unsubscribe"] = f"<{mailto}>, <{unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["X-Tracker-Head"] = f"{head[0]} {head[1]}"
    for key, value in (extra or {}).items():
        msg[key] = value
    msg.set_content(text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    return msg.as_bytes(policy=SMTP_POLICY)


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
