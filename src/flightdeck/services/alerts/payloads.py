"""What each channel receives for one alert, and the webhook signature.

The body is fixed when the alert fires (so a retry sends the same bytes); only the timestamp
and signature are made at send time, so a receiver can reject a replayed old request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from flightdeck.services.alerts.kinds import Alert, ChannelKind

SIGNATURE_HEADER = "Flightdeck-Signature"
TIMESTAMP_HEADER = "Flightdeck-Timestamp"
DELIVERY_HEADER = "Flightdeck-Delivery"
REPLAY_WINDOW_SECONDS = 300  # what docs/alerts.md tells receivers to accept


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=`` and the hex HMAC-SHA256 of ``"{timestamp}." + body`` under the secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify(secret: str, timestamp: int, body: bytes, signature: str, now: float) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    if abs(now - timestamp) > REPLAY_WINDOW_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def subject(alert: Alert) -> str:
    prefix = "[flightdeck test] " if alert.test else "[flightdeck] "
    return (prefix + alert.summary)[:300]


def webhook_body(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": str(alert.kind),
        "rule": alert.rule,
        "organization_id": alert.organization_id,
        "deployment": alert.deployment,
        "summary": alert.summary,
        "severity": str(alert.severity),
        "resolved": alert.resolved,
        "test": alert.test,
        "created_at": alert.created_at.isoformat(),
        "url": alert.url,
        "detail": alert.detail,
    }


def slack_body(alert: Alert) -> dict[str, Any]:
    """Slack's incoming-webhook format: ``text`` (the notification) and Block Kit blocks."""
    icon = ":white_check_mark:" if alert.resolved else ":rotating_light:"
    lines = [f"{icon} *{subject(alert)}*", f"Rule: {alert.rule} ({alert.kind})"]
    if alert.deployment:
        lines.append(f"Deployment: {alert.deployment}")
    if alert.url:
        lines.append(f"<{alert.url}|Open in Airflow>")
    return {
        "text": subject(alert),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}],
    }


def pagerduty_body(alert: Alert) -> dict[str, Any]:
    """PagerDuty Events API v2, without ``routing_key``: the sender adds it from the sealed
    channel, so the secret is never stored in the outbox."""
    body: dict[str, Any] = {
        "event_action": "resolve" if alert.resolved else "trigger",
        "dedup_key": alert.dedup_key,
        "payload": {
            "summary": subject(alert)[:1024],
            "source": alert.deployment or "flightdeck",
            "severity": str(alert.severity),
            "timestamp": alert.created_at.isoformat(),
            "component": alert.detail.get("dag_id") or "deployment",
            "group": alert.rule,
            "class": str(alert.kind),
            "custom_details": alert.detail,
        },
        "client": "flightdeck",
    }
    if alert.url:
        body["links"] = [{"href": alert.url, "text": "Airflow"}]
    return body


def email_body(alert: Alert) -> str:
    lines = [alert.summary, "", f"Rule: {alert.rule} ({alert.kind}, {alert.severity})"]
    if alert.deployment:
        lines.append(f"Deployment: {alert.deployment}")
    for key, value in sorted(alert.detail.items()):
        lines.append(f"{key}: {value}")
    if alert.url:
        lines += ["", f"Airflow: {alert.url}"]
    lines += ["", "Change or delete this rule with `flightdeck alert list` / `alert delete`."]
    return "\n".join(lines)


def outbox_body(kind: ChannelKind, alert: Alert) -> str:
    """What the outbox row keeps for a channel of ``kind``."""
    if kind is ChannelKind.EMAIL:
        return email_body(alert)
    builder = {
        ChannelKind.WEBHOOK: webhook_body,
        ChannelKind.SLACK: slack_body,
        ChannelKind.PAGERDUTY: pagerduty_body,
    }[kind]
    return json.dumps(builder(alert), sort_keys=True, separators=(",", ":"))
