"""Drive the engine the way the lead's worker will: pass after pass, persisting status."""

from __future__ import annotations

import copy
from typing import Any

from flightdeck.aws.provision import ClusterSpec, Outcome, delete_cluster, reconcile


class Persisted:
    """What the database would hold: a deep copy of the status at every ``on_progress``."""

    def __init__(self) -> None:
        self.status: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []

    def __call__(self, status: dict[str, Any], event: dict[str, Any]) -> None:
        self.status = copy.deepcopy(status)
        self.events.append(dict(event))


def converge(
    spec: ClusterSpec, status: dict[str, Any], clients: Any, max_passes: int = 50
) -> tuple[Outcome, int]:
    """Reconcile until the outcome is not ``requeue`` (delays are not slept)."""
    persisted = Persisted()
    for passes in range(1, max_passes + 1):
        outcome = reconcile(spec, status, clients, persisted)
        if outcome.kind != "requeue":
            return outcome, passes
    raise AssertionError(f"no convergence in {max_passes} passes: {outcome}")


def delete_until_done(
    spec: ClusterSpec, status: dict[str, Any], clients: Any, max_passes: int = 50
) -> tuple[Outcome, int]:
    for passes in range(1, max_passes + 1):
        outcome = delete_cluster(spec, status, clients, None)
        if outcome.kind != "requeue":
            return outcome, passes
    raise AssertionError(f"deletion did not finish in {max_passes} passes: {outcome}")
