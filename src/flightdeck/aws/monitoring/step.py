"""The shape of every monitoring step: observe (read-only) → create or fix the difference.

Like the cluster steps in ``aws/provision``, a step looks up its resource by its fixed name
before acting and changes only what differs, so ``setup`` can be repeated at any time and
``show`` is simply every step's ``observe``.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from flightdeck.aws.error_codes import error_code
from flightdeck.aws.monitoring.model import MonitorSpec, State
from flightdeck.aws.monitoring.target import Target
from flightdeck.aws.session import client

if TYPE_CHECKING:
    import boto3

T = TypeVar("T")

# IAM is eventually consistent: a role created a moment ago may not yet be usable by
# CloudTrail. These waits (seconds) bound how long a call that depends on it is retried.
PROPAGATION_DELAYS: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0)


class MonitorContext:
    """The customer's session, where the monitoring lives, and what is wanted."""

    def __init__(
        self,
        session: boto3.Session,
        target: Target,
        spec: MonitorSpec,
        propagation_delays: Sequence[float] = PROPAGATION_DELAYS,
    ) -> None:
        self.session = session
        self.target = target
        self.spec = spec
        self.propagation_delays = tuple(propagation_delays)
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = client(self.session, service, self.target.region)
        return self._clients[service]

    def retry_while(self, codes: tuple[str, ...], call: Callable[..., T], **arguments: Any) -> T:
        """``call(**arguments)``, retried while AWS answers one of ``codes`` (propagation)."""
        for delay in (*self.propagation_delays, None):
            try:
                return call(**arguments)
            except Exception as exc:
                if delay is None or error_code(exc) not in codes:
                    raise
                time.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises


@dataclass
class Observation:
    """What ``observe`` found.

    ``differences`` maps a key ``fix`` acts on to the sentence the report shows;
    ``current`` carries the raw description ``fix`` needs.
    """

    state: State
    arn: str | None = None
    differences: dict[str, str] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    current: Any = None


def found(arn: str | None, differences: dict[str, str], **kwargs: Any) -> Observation:
    """``present`` when nothing differs, else ``drifted``."""
    return Observation("drifted" if differences else "present", arn, differences, **kwargs)


class MonitorStep(ABC):
    """One resource of the monitoring, identified by a fixed name."""

    resource: ClassVar[str]

    @abstractmethod
    def name(self, target: Target) -> str:
        """The resource's name in AWS."""

    @abstractmethod
    def observe(self, ctx: MonitorContext) -> Observation:
        """Describe the resource and list how it differs from the declared state; no writes."""

    @abstractmethod
    def create(self, ctx: MonitorContext) -> list[str]:
        """Create the missing resource, fully configured; return what was done."""

    @abstractmethod
    def fix(self, ctx: MonitorContext, observed: Observation) -> list[str]:
        """Change only what ``observed`` lists as different; return what was done."""

