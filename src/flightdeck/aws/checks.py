"""Named checks with a verdict and a remedy: what verification and preflight report.

Each check has a stable snake_case ``name``; ``message`` is one concrete sentence and
``remedy`` says what to do, naming the command when there is one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

CheckStatus = Literal["pass", "warn", "fail"]


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: CheckStatus
    message: str
    remedy: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def overall(results: Iterable[CheckResult]) -> CheckStatus:
    """The worst verdict: any fail fails, else any warn warns, else pass."""
    statuses = {result.status for result in results}
    if "fail" in statuses:
        return "fail"
    if "warn" in statuses:
        return "warn"
    return "pass"
