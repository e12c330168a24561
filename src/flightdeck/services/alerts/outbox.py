"""Queueing an alert's deliveries in the outbox: one row per channel of its rule.

Email rows are sent by the mail loop (services/notifications.py) like every other mail; the
HTTP transports by services/alerts/delivery.py. Either way the row is the delivery's status.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from flightdeck.db.models import AlertChannel, AlertRule, Notification
from flightdeck.services.alerts.kinds import Alert, ChannelKind
from flightdeck.services.alerts.payloads import outbox_body, subject


def queue_delivery(
    session: Session, channel: AlertChannel, alert: Alert, *, event_id: str | None
) -> Notification:
    kind = ChannelKind(channel.kind)
    row = Notification(
        organization_id=channel.organization_id,
        recipient=channel.target,
        subject=subject(alert),
        body=outbox_body(kind, alert),
        kind=f"alert.{alert.kind}",
        transport=str(kind),
        channel_id=channel.id,
        alert_id=event_id,
    )
    session.add(row)
    return row


def queue_alert(
    session: Session, rule: AlertRule, alert: Alert, *, event_id: str | None
) -> list[Notification]:
    """A delivery per channel still there (a channel in use cannot be deleted)."""
    rows = []
    for channel_id in rule.channel_ids:
        channel = session.get(AlertChannel, channel_id)
        if channel is not None:
            rows.append(queue_delivery(session, channel, alert, event_id=event_id))
    return rows
