"""Sending one email over SMTP. The outbox (services/notifications.py) decides when."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from flightdeck.config import Settings


@dataclass(frozen=True)
class OutgoingMail:
    recipient: str
    subject: str
    body: str


class MailSender(Protocol):
    def send(self, mail: OutgoingMail) -> None: ...


class SmtpSender:
    """STARTTLS on the submission port unless the server is on loopback (a local relay)."""

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise ValueError("FLIGHTDECK_SMTP_HOST is not set")
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.sender = settings.mail_from

    def send(self, mail: OutgoingMail) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.recipient
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        with smtplib.SMTP(self.host, self.port, timeout=20) as smtp:
            if self.host not in ("127.0.0.1", "localhost", "::1"):
                smtp.starttls(context=ssl.create_default_context())
            if self.username and self.password:
                smtp.login(self.username, self.password)
            smtp.send_message(message)
