"""A real SMTP server's inbox for the outbox tests (aiosmtpd on loopback)."""

from __future__ import annotations

import socket
from email.message import Message as Email

from aiosmtpd.handlers import Message


class Inbox(Message):
    """Keeps every message the SMTP server received."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Email] = []

    def handle_message(self, message: Email) -> None:
        self.messages.append(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
