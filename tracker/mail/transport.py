"""Transports: the outbox folder (.eml files) and SMTP (smtp:// with STARTTLS when offered, smtps://).

smtplib and socket errors are translated here into DeliveryError, whose text never carries the
password or the recipient's address; a 5xx answer to RCPT or DATA is a DeliveryRejectedError (a
permanent refusal of this message). The transport is injected into the digest service, so tests
choose a local server.

`accepted` is called once the message is the server's (the 250 reply to DATA, or the .eml file
written), before QUIT: the sender records it as sent there, and whatever QUIT answers no longer
matters. A transport that does not call it has its return taken as acceptance.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from tracker.errors import ConfigError, DeliveryError, DeliveryRejectedError
from tracker.files import write_replacing

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")


class Transport(Protocol):
    name: str

    def send(self, message: bytes, *, sender: str, recipient: str, message_id: str,
             accepted: Accepted | None = None) -> str:
        """Deliver one message; return where it went. Raise DeliveryError on failure."""
        ...


Accepted = Callable[[str], None]  # called with where the message went, the moment it is accepted


def eml_name(message_id: str) -> str:
    """The outbox file name of a Message-ID: stable, so a resend overwrites the same file."""
    return _UNSAFE.sub("_", message_id.strip("<>")) + ".eml"


class OutboxTransport:
    """Writes each message as <folder>/<message-id>.eml; counts as delivered."""

    name = "outbox"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: bytes, *, sender: str, recipient: str, message_id: str,
             accepted: Accepted | None = None) -> str:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self.folder / eml_name(message_id)
            write_replacing(target, message)
        except OSError as exc:
            raise DeliveryError(f"cannot write to the outbox {self.folder}: {exc.strerror}") from None
        if accepted is not None:
            accepted(str(target))
        return str(target)


class SmtpTransport:
    """One connection per send: digests are few, and a fresh connection recovers from any state."""

    name = "smtp"

    def __init__(self, url: str, *, username: str = "", password: str = "", timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError("bad value for smtp.url: use smtp://host:port or smtps://host:port")
        self.ssl = parts.scheme == "smtps"
        self.host = parts.hostname
        try:
            self.port = parts.port or (465 if self.ssl else 25)
        except ValueError:
            raise ConfigError("bad value for smtp.url: the port is not a number") from None
        self.username = username or unquote(parts.username or "")
        self._password = password or unquote(parts.password or "")
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"SmtpTransport({'smtps' if self.ssl else 'smtp'}://{self.host}:{self.port})"

    def send(self, message: bytes, *, sender: str, recipient: str, message_id: str,
             accepted: Accepted | None = None) -> str:
        where = f"{'smtps' if self.ssl else 'smtp'}://{self.host}:{self.port}"
        client = self._deliver(where, message, sender, recipient)
        # The server has the message (250 to DATA): recorded now, before QUIT. A QUIT that fails or
        # times out changes nothing, so it can no longer turn a delivered digest into a resend.
        try:
            if accepted is not None:
                accepted(where)
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
        return where

    def _deliver(self, where: str, message: bytes, sender: str, recipient: str) -> smtplib.SMTP:
        """Connect and run MAIL, RCPT and DATA; the connection, still open, once DATA is accepted."""
        client: smtplib.SMTP | None = None
        done = False
        try:
            if self.ssl:
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                          context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            client.ehlo()
            if not self.ssl and client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if self.username:
                client.login(self.username, self._password)
            refused = client.sendmail(sender, [recipient], message)
            if refused:
                raise smtplib.SMTPRecipientsRefused(refused)
            done = True
            return client
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"{where}: authentication as {self.username!r} refused ({exc.smtp_code})") from None
        except smtplib.SMTPSenderRefused as exc:  # the sender setting's fault, not this message's: stays queued
            raise DeliveryError(f"{where}: the sender was refused ({exc.smtp_code})") from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            code = codes[0] if codes else 0
            if 500 <= code < 600:
                raise DeliveryRejectedError(f"{where}: the recipient was refused ({code})", code) from None
            raise DeliveryError(f"{where}: the recipient was refused ({code})") from None
        except smtplib.SMTPResponseException as exc:
            text = _text(exc.smtp_error).replace(recipient, "…")  # a server may quote the address back
            if 500 <= exc.smtp_code < 600 and isinstance(exc, smtplib.SMTPDataError):
                raise DeliveryRejectedError(f"{where}: server answered {exc.smtp_code} {text}", exc.smtp_code) from None
            raise DeliveryError(f"{where}: server answered {exc.smtp_code} {text}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}: {str(exc).replace(recipient, '…')}") from None
        finally:
            if client is not None and not done:
                client.close()


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def transport_from_settings(url: str, username: str, password: str, timeout: float, outbox: Path) -> Transport:
    """SMTP when smtp.url is set, else the outbox folder."""
    if url:
        return SmtpTransport(url, username=username, password=password, timeout=timeout)
    return OutboxTransport(outbox)
