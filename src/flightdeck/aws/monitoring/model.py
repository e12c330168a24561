"""What monitoring setup is asked to do, and what it reports back.

Kept free of boto3 so the CLI can validate its input (the e-mail address above all) before
a single AWS call is made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email

State = Literal["present", "missing", "drifted"]
Action = Literal["created", "updated", "unchanged"]

DEFAULT_RETENTION_DAYS = 90
# The values CloudWatch Logs accepts for a log group's retention.
RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip


class MonitoringError(Exception):
    """Setup or show stopped on something the customer must act on; the message says how."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def normalise_email(address: str, field: str = "--email") -> str:
    """The address as SNS will store it; syntax only (no DNS lookup, so it works offline)."""
    try:
        result = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise MonitoringError(
            f"{field}: {address!r} is not a valid e-mail address ({exc}); give the address "
            "that should receive the alarm, e.g. security@example.com",
            field=field,
        ) from None
    return str(result.normalized)


@dataclass(frozen=True)
class MonitorSpec:
    """The desired monitoring: who gets the alarm and which CloudTrail events count.

    ``filter_pattern`` is passed in rather than built here: the pattern lives in
    ``flightdeck.filterpattern``, a layer this adapter does not import.
    """

    filter_pattern: str
    email: str | None = None
    retention_days: int = DEFAULT_RETENTION_DAYS

    def __post_init__(self) -> None:
        if not self.filter_pattern.strip():
            raise MonitoringError("filter_pattern: must not be empty", field="filter_pattern")
        if self.email is not None:
            object.__setattr__(self, "email", normalise_email(self.email))
        if self.retention_days not in RETENTION_DAYS:
            raise MonitoringError(
                f"retention_days: {self.retention_days} is not a CloudWatch Logs retention; "
                f"choose one of {', '.join(map(str, RETENTION_DAYS))}",
                field="retention_days",
            )


@dataclass
class ResourceReport:
    """One resource: its ``state`` now and, for setup, how it was ``found`` and the ``action``.

    ``differences`` say what was wrong: as shown, or (for setup) as found before fixing.
    """

    resource: str
    name: str
    state: State
    arn: str | None = None
    differences: list[str] = field(default_factory=list)
    found: State | None = None
    action: Action | None = None
    changes: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "resource": self.resource,
            "name": self.name,
            "state": self.state,
            "arn": self.arn,
            "differences": list(self.differences),
            "detail": dict(self.detail),
        }
        if self.action is not None:
            data["found"] = self.found
            data["action"] = self.action
            data["changes"] = list(self.changes)
        return data


@dataclass
class MonitorReport:
    account_id: str
    region: str
    resources: list[ResourceReport]

    @property
    def changed(self) -> bool:
        return any(r.action in ("created", "updated") for r in self.resources)

    @property
    def complete(self) -> bool:
        """Every resource exists as declared (the state after setup, or as shown)."""
        return all(r.state == "present" for r in self.resources)

    def resource(self, name: str) -> ResourceReport:
        return next(r for r in self.resources if r.resource == name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "region": self.region,
            "changed": self.changed,
            "complete": self.complete,
            "resources": [r.as_dict() for r in self.resources],
        }
