"""`flightdeck alert test`: a sample alert through a rule's channels, or one channel, by
the same outbox as real ones, so a test proves the whole way (signature, format, receiver)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from flightdeck.db.models import Notification, User
from flightdeck.db.types import new_id, utcnow
from flightdeck.services.access import require_owner
from flightdeck.services.alerts.channels import find_channel
from flightdeck.services.alerts.kinds import SEVERITY, Alert, AlertKind
from flightdeck.services.alerts.outbox import queue_alert, queue_delivery
from flightdeck.services.alerts.rules import get_manageable_rule


def _sample(organization_id: str, kind: AlertKind, rule: str, what: str) -> Alert:
    return Alert(
        id=new_id(),
        kind=kind,
        rule=rule,
        organization_id=organization_id,
        deployment=None,
        summary=f"test alert for {what}: this is what a real one looks like",
        severity=SEVERITY[kind],
        created_at=utcnow(),
        test=True,
        detail={"dag_id": "example_dag", "run_id": "manual__sample"},
    )


def send_rule_sample(
    session: Session, user: User, organization_id: str, ref: str
) -> list[Notification]:
    """Those who may change the rule may test it."""
    rule = get_manageable_rule(session, user, organization_id, ref)
    alert = _sample(organization_id, AlertKind(rule.kind), rule.name, f"rule {rule.name}")
    rows = queue_alert(session, rule, alert, event_id=None)
    session.commit()
    return rows


def send_channel_sample(
    session: Session, user: User, organization_id: str, ref: str
) -> list[Notification]:
    require_owner(session, user, organization_id)
    channel = find_channel(session, organization_id, ref)
    alert = _sample(organization_id, AlertKind.DAG_FAILED, "test", f"channel {channel.name}")
    row = queue_delivery(session, channel, alert, event_id=None)
    session.commit()
    return [row]
