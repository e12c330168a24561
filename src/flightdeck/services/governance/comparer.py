"""How a policy version compares with the one in force: does it grant anything new?"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PolicyDelta:
    """Whether ``new`` grants anything ``old`` does not, with a request that shows it."""

    expands: bool
    example: dict[str, Any] | None = None
    statement: dict[str, Any] | None = None
    reason: str = ""


Comparer = Callable[[dict[str, Any], dict[str, Any]], PolicyDelta]


def default_comparer() -> Comparer:
    """The exact comparison (``flightdeck.policy.compare``): "expands" comes with a request
    the new version allows and the old one denies, "no new access" is a proof. Imported
    when first needed: the solver behind it is slow to load."""
    from flightdeck.policy.compare import compare

    def comparer(old: dict[str, Any], new: dict[str, Any]) -> PolicyDelta:
        outcome = compare(old, new)
        statement: dict[str, Any] | None = None
        if outcome.statement is not None:
            statements = new.get("Statement", [])
            if isinstance(statements, dict):
                statements = [statements]
            if 0 <= outcome.statement < len(statements):
                statement = {"index": outcome.statement, **statements[outcome.statement]}
        return PolicyDelta(
            expands=outcome.result == "expands",
            example=outcome.example.as_dict() if outcome.example else None,
            statement=statement,
            reason=outcome.reason,
        )

    return comparer
