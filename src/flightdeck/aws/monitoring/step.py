"""The shape of every monitoring step: observe (read-only) → create or fix the difference.

Like the cluster steps in ``aws/provision``, a step looks up its resource by its fixed name
before acting and changes only what differs, so ``setup`` can be repeated at any time and
``show`` is simply every step's ``observe``.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import unquote

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


# -- helpers shared by the steps -------------------------------------------------------------


def absent_on(codes: tuple[str, ...], call: Callable[..., T], **arguments: Any) -> T | None:
    """``call(**arguments)``, or None when AWS answers a "does not exist" code."""
    try:
        return call(**arguments)
    except Exception as exc:
        if error_code(exc) in codes:
            return None
        raise


def as_document(value: Any) -> Any:
    """A policy document as a dict, whether AWS returned it parsed, JSON or URL-encoded."""
    if isinstance(value, str):
        text = unquote(value) if value.lstrip().startswith("%") else value
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return None
    return value


def canonical(node: Any) -> Any:
    """Equivalent IAM spellings collapsed (key order, one-item lists), for comparison."""
    if isinstance(node, dict):
        return {key: canonical(value) for key, value in sorted(node.items())}
    if isinstance(node, list):
        items = [canonical(item) for item in node]
        if all(isinstance(item, str) for item in items):
            items = sorted(items)
        return items[0] if len(items) == 1 else items
    return node


def same_document(current: Any, wanted: Any) -> bool:
    return bool(canonical(as_document(current)) == canonical(wanted))
