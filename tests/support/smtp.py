"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what arrives, for the digest and service tests.

`answer` is its reply to DATA ("250 OK", or a 5xx to refuse for good); `delay` slows each DATA,
so that concurrent senders overlap; `quit_answer` is its reply to QUIT.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mailbox:
    """Messages parsed with the modern email policy; envelope recipients kept beside them."""

    def __init__(self, port: int | None = None, *, answer: str = "250 OK", delay: float = 0.0,
                 quit_answer: str = "221 Bye") -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.port = port or free_port()
        self._lock = threading.Lock()
        self.answer, self.delay, self.quit_answer = answer, delay, quit_answer
        self.refused = 0
        box = self

        class Handler:
            async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                return box.quit_answer

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                if box.delay:
                    await asyncio.sleep(box.delay)
                if not box.answer.startswith("250"):
                    with box._lock:
                        box.refused += 1
                    return box.answer
                with box._lock:
                    box.recipients.append(list(envelope.rcpt_tos))
                    box.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
                return box.answer

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.controller.stop()
