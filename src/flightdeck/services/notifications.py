"""Email notifications through the outbox table.

A notification is written in the same transaction as the event it reports, so it can't
be lost; a sender delivers due rows later and retries with backoff while SMTP is down.
Without SMTP configured (the embedded default) mail simply stays in the outbox, where
`flightdeck notifications list` shows it.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from flightdeck.db.models import Notification, OrganizationMembership, User
from flightdeck.db.types import utcnow
from flightdeck.notify.mail import MailSender, OutgoingMail
from flightdeck.services.access import require_owner

MAX_ATTEMPTS = 12


def owner_emails(session: Session, organization_id: str) -> list[str]:
    """The Organization Owners' addresses, sorted."""
    return list(
        session.scalars(
            select(User.email)
            .join(OrganizationMembership, OrganizationMembership.user_id == User.id)
            .where(
                OrganizationMembership.organization_id == organization_id,
                OrganizationMembership.role == "owner",
            )
            .order_by(User.email)
        )
    )


def notify_owners(
    session: Session,
    organization_id: str,
    *,
    kind: str,
    subject: str,
    body: str,
    only: Collection[str] | None = None,
) -> list[Notification]:
    """Queue one email per Organization Owner (with ``only``: per Owner among those);
    the caller's commit makes them durable."""
    owners = owner_emails(session, organization_id)
    queued = [
        Notification(
            organization_id=organization_id, recipient=email, subject=subject, body=body, kind=kind
        )
        for email in owners
        if only is None or email in only
    ]
    session.add_all(queued)
    return queued


def notify_address(
    session: Session,
    recipient: str,
    *,
    kind: str,
    subject: str,
    body: str,
    organization_id: str | None = None,
) -> Notification:
    """Queue one email to an address. Personal mail (sign-up verification, invitations) has
    no organization, so no Owner reads it in the organization's outbox."""
    notification = Notification(
        organization_id=organization_id,
        recipient=recipient,
        subject=subject,
        body=body,
        kind=kind,
    )
    session.add(notification)
    return notification


def list_outbox(
    session: Session, recipient: str | None = None, limit: int = 100
) -> list[Notification]:
    """Every queued and sent mail, newest first: for the operator of the data directory
    (the embedded default keeps mail here, unsent), never through the API."""
    query = select(Notification).order_by(Notification.created_at.desc()).limit(limit)
    if recipient is not None:
        query = query.where(Notification.recipient == recipient)
    return list(session.scalars(query))


def list_notifications(
    session: Session, user: User, organization_id: str, limit: int = 100
) -> list[Notification]:
    require_owner(session, user, organization_id)
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.organization_id == organization_id)
            .order_by(Notification.created_at.desc())
            .limit(limit)
        )
    )


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with full jitter, capped at an hour."""
    ceiling = min(3600.0, 30.0 * 2 ** max(0, attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311


def deliver_due(
    session: Session, sender: MailSender, limit: int = 50, now: datetime | None = None
) -> int:
    """Send due mail (alert channels' HTTP rows go by services/alerts/delivery.py); returns
    how many were sent. Failures are rescheduled."""
    now = now or utcnow()
    due = list(
        session.scalars(
            select(Notification)
            .where(
                Notification.status == "pending",
                Notification.transport == "email",
                Notification.next_attempt_at <= now,
            )
            .order_by(Notification.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    sent = 0
    for notification in due:
        notification.attempts += 1
        try:
            sender.send(
                OutgoingMail(
                    recipient=notification.recipient,
                    subject=notification.subject,
                    body=notification.body,
                )
            )
        except Exception as exc:  # any delivery failure: keep the mail and retry later
            notification.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if notification.attempts >= MAX_ATTEMPTS:
                notification.status = "failed"
            else:
                notification.next_attempt_at = now + retry_delay(notification.attempts)
        else:
            notification.status = "sent"
            notification.sent_at = now
            notification.last_error = None
            sent += 1
    session.commit()
    return sent
