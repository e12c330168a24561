"""Delivering the outbox's HTTP rows (webhook, Slack, PagerDuty), retried with backoff.

Like the mail loop: due rows are locked (``SKIP LOCKED`` on PostgreSQL, so two control-plane
processes never send one row twice), sent, and marked sent or rescheduled, all in one
transaction. A receiver that is down only delays its rows: each is retried with the outbox's
backoff until it answers 2xx, for up to ``MAX_ATTEMPTS`` tries. A webhook's timestamp and
signature are made at each try, so the receiver can reject a stale replay; the
``Flightdeck-Delivery`` header is the row's id, the same on every retry, so it can also drop
a duplicate.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from flightdeck.db.models import AlertChannel, Notification, User
from flightdeck.db.types import utcnow
from flightdeck.notify.webhook import DeliveryFailed, HttpPoster, HttpRequest
from flightdeck.services.access import require_owner
from flightdeck.services.alerts.kinds import ChannelKind
from flightdeck.services.alerts.payloads import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)
from flightdeck.services.notifications import MAX_ATTEMPTS, retry_delay
from flightdeck.services.secrets import unseal

HTTP_TRANSPORTS = tuple(str(kind) for kind in ChannelKind if kind is not ChannelKind.EMAIL)


def build_request(
    row: Notification, channel: AlertChannel, secret_key: str, now: datetime
) -> HttpRequest:
    kind = ChannelKind(channel.kind)
    secret = unseal(channel.secret_sealed, secret_key) if channel.secret_sealed else ""
    headers = {"Content-Type": "application/json", DELIVERY_HEADER: row.id}
    body = row.body.encode()
    if kind is ChannelKind.WEBHOOK:
        timestamp = int(now.timestamp())
        headers[TIMESTAMP_HEADER] = str(timestamp)
        headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
        return HttpRequest(channel.target, body, headers)
    if kind is ChannelKind.SLACK:
        return HttpRequest(secret, body, headers)
    event = {"routing_key": secret, **json.loads(row.body)}
    return HttpRequest(channel.target, json.dumps(event).encode(), headers)


def deliver_due(
    session: Session,
    poster: HttpPoster,
    secret_key: str,
    *,
    now: datetime | None = None,
    limit: int = 50,
) -> int:
    """Send due HTTP rows; returns how many were delivered. Failures are rescheduled."""
    now = now or utcnow()
    due = list(
        session.scalars(
            select(Notification)
            .where(
                Notification.status == "pending",
                Notification.transport.in_(HTTP_TRANSPORTS),
                Notification.next_attempt_at <= now,
            )
            .order_by(Notification.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    sent = 0
    for row in due:
        row.attempts += 1
        channel = session.get(AlertChannel, row.channel_id) if row.channel_id else None
        if channel is None:
            row.status, row.last_error = "failed", "its channel was deleted"
            continue
        try:
            poster.post(build_request(row, channel, secret_key, now))
        except DeliveryFailed as exc:
            row.last_error = str(exc)[:500]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
            else:
                row.next_attempt_at = now + retry_delay(row.attempts)
        else:
            row.status, row.sent_at, row.last_error = "sent", now, None
            sent += 1
    session.commit()
    return sent


def list_deliveries(
    session: Session, user: User, organization_id: str, limit: int = 100
) -> list[Notification]:
    """The organization's alert deliveries, newest first: for Organization Owners, who see
    the outbox (``flightdeck notifications list``) too."""
    require_owner(session, user, organization_id)
    return list(
        session.scalars(
            select(Notification)
            .where(
                Notification.organization_id == organization_id,
                Notification.kind.startswith("alert."),
            )
            .order_by(Notification.created_at.desc())
            .limit(limit)
        )
    )
