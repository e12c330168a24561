"""The one vocabulary of alerts: what a rule watches, where it applies, how it is delivered.

The API schema, the CLI's choices, the console's form and the evaluator all read these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class AlertKind(StrEnum):
    DAG_FAILED = "dag-failed"
    DAG_SUCCEEDED = "dag-succeeded"
    TASK_DURATION = "task-duration"  # a task ran longer than ``minutes``
    DAG_DEADLINE = "dag-deadline"  # no successful run finished by ``deadline`` in ``timezone``
    DEPLOYMENT_HEALTH = "deployment-health"  # turned Unhealthy, or recovered


KIND_DESCRIPTIONS: dict[AlertKind, str] = {
    AlertKind.DAG_FAILED: "a DAG run failed",
    AlertKind.DAG_SUCCEEDED: "a DAG run succeeded",
    AlertKind.TASK_DURATION: "a task ran longer than N minutes (--minutes)",
    AlertKind.DAG_DEADLINE: "a DAG had no successful run by a time of day "
    "(--deadline HH:MM --timezone ZONE)",
    AlertKind.DEPLOYMENT_HEALTH: "the Deployment turned Unhealthy, or recovered",
}

AIRFLOW_KINDS = frozenset(
    {AlertKind.DAG_FAILED, AlertKind.DAG_SUCCEEDED, AlertKind.TASK_DURATION, AlertKind.DAG_DEADLINE}
)
"""Kinds evaluated from the Deployment's Airflow REST API (the other reads its timeline)."""


class ChannelKind(StrEnum):
    EMAIL = "email"  # through the outbox, by SMTP
    WEBHOOK = "webhook"  # JSON, signed with HMAC-SHA256 under the channel's secret
    SLACK = "slack"  # a Slack incoming-webhook URL
    PAGERDUTY = "pagerduty"  # PagerDuty Events API v2, with a routing key


class Scope(StrEnum):
    ORGANIZATION = "organization"
    WORKSPACE = "workspace"
    DEPLOYMENT = "deployment"


class Severity(StrEnum):
    """PagerDuty's severities; the other channels show them as words."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


SEVERITY: dict[AlertKind, Severity] = {
    AlertKind.DAG_FAILED: Severity.ERROR,
    AlertKind.DAG_SUCCEEDED: Severity.INFO,
    AlertKind.TASK_DURATION: Severity.WARNING,
    AlertKind.DAG_DEADLINE: Severity.ERROR,
    AlertKind.DEPLOYMENT_HEALTH: Severity.CRITICAL,
}

DEFAULT_PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"
MAX_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class RuleInput:
    """A rule as asked (by the API, the CLI or the console), before it is checked."""

    name: str
    kind: str
    channels: list[str]
    workspace: str | None = None
    deployment: str | None = None
    dag_glob: str = "*"
    minutes: int | None = None
    deadline: str | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class ChannelInput:
    """A channel as asked: ``target`` is the address or URL, ``routing_key`` PagerDuty's."""

    name: str
    kind: str
    target: str
    routing_key: str | None = None


@dataclass(frozen=True)
class Finding:
    """Something a rule matched, before the database decides it is new: ``key`` names it
    uniquely within the rule (a run, a task try, a day's deadline, a timeline line)."""

    key: str
    summary: str
    dag_id: str | None = None
    resolved: bool = False  # a recovery: PagerDuty resolves the incident it opened
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Alert:
    """What every channel's payload is built from."""

    id: str
    kind: AlertKind
    rule: str
    organization_id: str
    deployment: str | None
    summary: str
    severity: Severity
    created_at: datetime
    resolved: bool = False
    test: bool = False
    url: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def dedup_key(self) -> str:
        """Groups an alert with its recovery (PagerDuty's incident key)."""
        return f"flightdeck/{self.organization_id}/{self.rule}/{self.deployment or '-'}"
