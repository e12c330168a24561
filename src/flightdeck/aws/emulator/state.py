"""The emulator's own state: what moto does not model (EC2 quotas, region opt-in) and faults.

Everything is keyed by account (and region where AWS keys it so), guarded by one lock because
the HTTP server answers requests on several threads.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from flightdeck.aws.reference import is_opt_in

REGION_OPT_STATUSES = ("ENABLED", "ENABLING", "DISABLING", "DISABLED", "ENABLED_BY_DEFAULT")


@dataclass(frozen=True)
class QuotaInfo:
    """Static description of a quota the emulator answers for (AWS's names and units)."""

    service_code: str
    service_name: str
    quota_code: str
    quota_name: str
    default_value: float
    unit: str = "None"
    adjustable: bool = True


KNOWN_QUOTAS: dict[tuple[str, str], QuotaInfo] = {
    ("ec2", "L-1216C47A"): QuotaInfo(
        "ec2",
        "Amazon Elastic Compute Cloud (Amazon EC2)",
        "L-1216C47A",
        "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
        64.0,
    ),
    ("ec2", "L-34B43A08"): QuotaInfo(
        "ec2",
        "Amazon Elastic Compute Cloud (Amazon EC2)",
        "L-34B43A08",
        "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests",
        64.0,
    ),
}


@dataclass
class FaultRule:
    """Answer a fraction of matching calls with an AWS throttling error."""

    rule_id: int
    fraction: float
    service: str | None = None
    action: str | None = None
    code: str | None = None
    count: int | None = None
    seed: int | None = None
    injected: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.rule_id,
            "fraction": self.fraction,
            "service": self.service,
            "action": self.action,
            "code": self.code,
            "count": self.count,
            "seed": self.seed,
            "injected": self.injected,
        }


# Aliases so a rule may name a service by its boto3 client name or its SigV4 signing name.
_SERVICE_ALIASES = {"service-quotas": "servicequotas", "sts": "sts", "s3api": "s3"}


def normalize_service(service: str | None) -> str | None:
    if service is None:
        return None
    return _SERVICE_ALIASES.get(service, service)


class EmulatorState:
    """Quota values, region opt-in statuses and fault rules, per emulator instance."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._quotas: dict[tuple[str, str, str, str], float] = {}
        self._regions: dict[tuple[str, str], str] = {}
        # Reads of a region that still show ENABLING/DISABLING before it settles.
        self._pending_reads: dict[tuple[str, str], int] = {}
        self.transition_reads = 0
        self._faults: list[FaultRule] = []
        self._next_rule_id = 1

    # -- quotas ---------------------------------------------------------------------------
    def quota_value(
        self, account_id: str, region: str, service_code: str, quota_code: str
    ) -> float | None:
        """The value set for this quota, else its default; None when the emulator has no opinion."""
        with self._lock:
            value = self._quotas.get((account_id, region, service_code, quota_code))
        if value is not None:
            return value
        info = KNOWN_QUOTAS.get((service_code, quota_code))
        return info.default_value if info else None

    def set_quota(
        self, account_id: str, region: str, service_code: str, quota_code: str, value: float
    ) -> None:
        with self._lock:
            self._quotas[(account_id, region, service_code, quota_code)] = float(value)

    # -- regions --------------------------------------------------------------------------
    def region_status(self, account_id: str, region: str) -> str:
        """Current opt status; a pending ENABLING/DISABLING settles after ``transition_reads``."""
        key = (account_id, region)
        with self._lock:
            status = self._regions.get(key)
            if status is None:
                return "DISABLED" if is_opt_in(region) else "ENABLED_BY_DEFAULT"
            if status in ("ENABLING", "DISABLING"):
                remaining = self._pending_reads.get(key, 0)
                if remaining > 0:
                    self._pending_reads[key] = remaining - 1
                    return status
                status = "ENABLED" if status == "ENABLING" else "DISABLED"
                self._regions[key] = status
                self._pending_reads.pop(key, None)
            return status

    def set_region_status(self, account_id: str, region: str, status: str) -> None:
        if status not in REGION_OPT_STATUSES:
            raise ValueError(f"region opt status must be one of {', '.join(REGION_OPT_STATUSES)}")
        with self._lock:
            self._regions[(account_id, region)] = status
            self._pending_reads[(account_id, region)] = self.transition_reads

    # -- faults ---------------------------------------------------------------------------
    def add_fault(
        self,
        fraction: float,
        service: str | None = None,
        action: str | None = None,
        code: str | None = None,
        count: int | None = None,
        seed: int | None = None,
    ) -> FaultRule:
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("fraction must be between 0 and 1")
        if count is not None and count < 0:
            raise ValueError("count must not be negative")
        with self._lock:
            rule = FaultRule(
                rule_id=self._next_rule_id,
                fraction=fraction,
                service=normalize_service(service),
                action=action,
                code=code,
                count=count,
                seed=seed,
                rng=random.Random(seed),  # noqa: S311 - fault sampling, not security
            )
            self._next_rule_id += 1
            self._faults.append(rule)
            return rule

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.as_dict() for rule in self._faults]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def draw_fault(self, service: str | None, action: str | None) -> FaultRule | None:
        """The first matching rule whose dice say "fail this call" (counts it), else None."""
        with self._lock:
            for rule in self._faults:
                if rule.service is not None and rule.service != service:
                    continue
                if rule.action is not None and rule.action != action:
                    continue
                if rule.count is not None and rule.injected >= rule.count:
                    continue
                if rule.rng.random() < rule.fraction:
                    rule.injected += 1
                    return rule
            return None

    def reset(self) -> None:
        with self._lock:
            self._quotas.clear()
            self._regions.clear()
            self._pending_reads.clear()
            self.transition_reads = 0
            self._faults.clear()

    def export(self) -> dict[str, Any]:
        """What outlives a restart: quotas and region statuses (fault rules are test tools)."""
        with self._lock:
            return {
                "quotas": dict(self._quotas),
                "regions": dict(self._regions),
                "pending_reads": dict(self._pending_reads),
                "transition_reads": self.transition_reads,
            }

    def restore(self, data: dict[str, Any]) -> None:
        with self._lock:
            self._quotas = dict(data.get("quotas", {}))
            self._regions = dict(data.get("regions", {}))
            self._pending_reads = dict(data.get("pending_reads", {}))
            self.transition_reads = int(data.get("transition_reads", 0))

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "quotas": [
                    {"account_id": a, "region": r, "service_code": s, "quota_code": q, "value": v}
                    for (a, r, s, q), v in self._quotas.items()
                ],
                "regions": [
                    {"account_id": a, "region": r, "status": s}
                    for (a, r), s in self._regions.items()
                ],
                "transition_reads": self.transition_reads,
                "faults": [rule.as_dict() for rule in self._faults],
            }
