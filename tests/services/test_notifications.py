"""The outbox: mail survives an SMTP outage and is delivered, once, when SMTP is back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.config import Settings
from flightdeck.db.models import Notification
from flightdeck.db.types import utcnow
from flightdeck.notify.mail import SmtpSender
from flightdeck.services import auth, notifications
from support.smtp import Inbox, free_port


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def queued(session_factory: sessionmaker[Session]) -> Iterator[str]:
    with session_factory() as session:
        result = auth.sign_up(session, email="owner@acme.example",
                              password="correct horse battery staple", organization_name="Acme")
        assert result.organization is not None
        notifications.notify_owners(session, result.organization.id, kind="cluster.Active",
                                    subject="flightdeck: cluster prod is Active", body="Ready.")
        session.commit()
        yield result.organization.id


def test_mail_waits_out_an_smtp_outage_then_is_sent_once(
    session_factory: sessionmaker[Session], queued: str, smtp_port: int
) -> None:
    sender = SmtpSender(Settings(smtp_host="127.0.0.1", smtp_port=smtp_port))
    with session_factory() as session:  # nothing listens: SMTP is down
        assert notifications.deliver_due(session, sender) == 0
        mail = session.scalars(select(Notification)).one()
        assert mail.status == "pending" and mail.attempts == 1
        assert mail.last_error and mail.next_attempt_at > utcnow()
        assert notifications.deliver_due(session, sender) == 0  # not due yet: not retried
        assert session.scalars(select(Notification)).one().attempts == 1

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        with session_factory() as session:
            session.execute(update(Notification).values(
                next_attempt_at=utcnow() - timedelta(seconds=1)))
            session.commit()
            assert notifications.deliver_due(session, sender) == 1
            assert notifications.deliver_due(session, sender) == 0
            mail = session.scalars(select(Notification)).one()
            assert mail.status == "sent" and mail.sent_at is not None and mail.attempts == 2
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "owner@acme.example"  # type: ignore[index]
    assert message["Subject"] == "flightdeck: cluster prod is Active"  # type: ignore[index]


def test_retry_delay_grows_and_is_capped() -> None:
    first = notifications.retry_delay(1)
    assert timedelta(seconds=15) <= first <= timedelta(seconds=30)
    assert notifications.retry_delay(30) <= timedelta(hours=1)
