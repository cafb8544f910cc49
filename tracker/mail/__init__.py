"""smtplib and the email package only here: building digest messages and delivering them."""

from __future__ import annotations

from tracker.mail.message import (
    build_digest_message,
    message_bytes,
    message_domain,
    sender_address,
    with_recipient,
    witness_texts,
)
from tracker.mail.transport import OutboxTransport, SmtpTransport, Transport, eml_name, transport_from_settings

__all__ = [
    "OutboxTransport", "SmtpTransport", "Transport", "build_digest_message", "eml_name", "message_bytes",
    "message_domain", "witness_texts", "sender_address", "transport_from_settings", "with_recipient",
]
