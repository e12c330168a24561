"""Runs the steps: create/converge (``reconcile``), delete, and plan.

Every call ends in one :class:`Outcome`, as a Kopf handler does: done (``active`` /
``deleted``), retry later (``requeue`` with a delay) or ``failed`` with AWS's message and a
remedy. Progress is written into ``status`` (a JSON-serialisable dict the caller owns) and
handed to ``on_progress`` after every event, so a worker killed at any instant resumes
from the last persisted status, or even from an empty one, since every step finds its
resources by tag.

Steady-state cost. A step whose condition is ``Ready`` in the current *pass* is not run
again, so a pass interrupted by throttling resumes where it stopped instead of re-checking
everything. Once the cluster is Active with an unchanged spec fingerprint, a reconcile
only calls each step's ``verify``: recorded ids are trusted and only the resources that
change state on their own are described (NAT gateways 1 call, EKS cluster 1, node groups
2, database 1: five calls). Trusting ids is safe because a full pass (every ``ensure``,
find-by-tag and compare) still runs when the spec changes, when a ``verify`` finds
something wrong, and at least every ``full_pass_every`` (6 hours by default) to catch
out-of-band edits such as a deleted route. A tag-based "fingerprint" describe of every
type would cost ten or more calls per cluster and catch the same drift only hours sooner.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    ParamValidationError,
)

from flightdeck.aws.provision.context import (
    AwsClients,
    PlannedChange,
    Ready,
    StepContext,
    StepResult,
    utc_now_iso,
)
from flightdeck.aws.provision.errors import (
    PermanentError,
    TemporaryError,
    backoff,
    classify,
)
from flightdeck.aws.provision.spec import ClusterSpec
from flightdeck.aws.provision.status import ConditionState
from flightdeck.aws.provision.steps import STEPS
from flightdeck.aws.provision.tag_scan import tag_scan
from flightdeck.phases import ClusterPhase

ProgressCallback = Callable[[dict[str, Any], dict[str, Any]], None]
DEFAULT_FULL_PASS_EVERY = timedelta(hours=6)

# The step running right now; read by the permission recorder in tests and by logging.
current_step: ContextVar[str | None] = ContextVar("flightdeck_provision_step", default=None)


@dataclass(frozen=True)
class Outcome:
    """How one reconcile, delete or plan pass ended, and what the caller should do next."""

    kind: Literal["active", "requeue", "failed", "deleted"]
    after: float | None = None
    message: str = ""
    remedy: str = ""
    aws_code: str | None = None
    step: str | None = None

    @classmethod
    def active(cls, message: str = "") -> Outcome:
        return cls("active", message=message)

    @classmethod
    def deleted(cls) -> Outcome:
        return cls("deleted")

    @classmethod
    def requeue(
        cls, after: float, message: str = "", step: str | None = None, aws_code: str | None = None
    ) -> Outcome:
        return cls("requeue", after=after, message=message, step=step, aws_code=aws_code)

    @classmethod
    def failed(
        cls, message: str, remedy: str, aws_code: str | None = None, step: str | None = None
    ) -> Outcome:
        return cls("failed", message=message, remedy=remedy, aws_code=aws_code, step=step)


@contextlib.contextmanager
def running(step: str) -> Iterator[None]:
    """Mark ``step`` as the one making AWS calls (see :data:`current_step`)."""
    token = current_step.set(step)
    try:
        yield
    finally:
        current_step.reset(token)


def as_provisioning_error(exc: Exception) -> TemporaryError | PermanentError | None:
    """Map anything boto3 raises to our two outcomes; ``None`` for non-AWS exceptions."""
    if isinstance(exc, TemporaryError | PermanentError):
        return exc
    if isinstance(exc, ClientError):
        return classify(exc)
    if isinstance(exc, ParamValidationError):
        return PermanentError(str(exc), remedy="correct the cluster request and retry")
    if isinstance(exc, NoCredentialsError):
        return PermanentError(str(exc), remedy="configure the control plane's AWS credentials")
    if isinstance(exc, BotoCoreError):
        return TemporaryError(str(exc), retry_after=10)
    return None


def _parse(timestamp: Any) -> datetime | None:
    if not isinstance(timestamp, str):
        return None
    try:
        return datetime.fromisoformat(timestamp)
    except ValueError:
        return None


class _Runner:
    """Shared bookkeeping of reconcile and delete: conditions, events, error outcomes."""

    def __init__(
        self,
        spec: ClusterSpec,
        status: dict[str, Any],
        clients: AwsClients,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.status = status
        self.on_progress = on_progress
        self.ctx = StepContext(spec, status, clients, emit=self.emit)

    def emit(self, event: dict[str, Any]) -> None:
        if self.on_progress is not None:
            self.on_progress(self.status, event)

    def run(self, step_name: str, call: Callable[[], StepResult]) -> StepResult | Outcome:
        """Run one step method; errors become an :class:`Outcome` recorded in the status."""
        self.ctx.step = step_name
        with running(step_name):
            try:
                return call()
            except Exception as exc:
                error = as_provisioning_error(exc)
                if error is None:
                    raise
                return self.error_outcome(step_name, error)

    def error_outcome(self, step: str, error: TemporaryError | PermanentError) -> Outcome:
        condition = self.ctx.condition(step)
        condition["message"] = error.message
        condition["updated_at"] = utc_now_iso()
        if isinstance(error, TemporaryError):
            retries = int(self.status.get("retries", 0)) + 1
            self.status["retries"] = retries
            condition["state"] = ConditionState.RETRYING
            self.status["last_error"] = {
                "step": step,
                "aws_code": error.aws_code,
                "message": error.message,
                "remedy": "",
                "temporary": True,
            }
            self.emit(
                {
                    "step": step,
                    "action": "error",
                    "resource": step,
                    "aws_id": None,
                    "message": f"will retry: {error.message}",
                }
            )
            after = max(error.retry_after, backoff(retries))
            return Outcome.requeue(after, error.message, step, error.aws_code)
        condition["state"] = ConditionState.FAILED
        self.status["phase"] = ClusterPhase.FAILED
        self.status["last_error"] = {
            "step": step,
            "aws_code": error.aws_code,
            "message": error.message,
            "remedy": error.remedy,
            "temporary": False,
        }
        self.emit(
            {
                "step": step,
                "action": "error",
                "resource": step,
                "aws_id": None,
                "message": f"{error.message} — {error.remedy}",
            }
        )
        return Outcome.failed(error.message, error.remedy, error.aws_code, step)

    def mark(self, step: str, state: str, message: str = "", **extra: Any) -> None:
        condition = self.ctx.condition(step)
        condition.update(state=state, message=message, updated_at=utc_now_iso(), **extra)


def reconcile(
    spec: ClusterSpec,
    status: dict[str, Any],
    clients: AwsClients,
    on_progress: ProgressCallback | None = None,
    *,
    now: datetime | None = None,
    full_pass_every: timedelta = DEFAULT_FULL_PASS_EVERY,
) -> Outcome:
    """Bring the cluster one pass closer to ``spec``; mutates and reports ``status``.

    Call again after ``Outcome.after`` seconds while the outcome is ``requeue``.
    """
    moment = now or datetime.now(UTC)
    runner = _Runner(spec, status, clients, on_progress)
    fingerprint = spec.fingerprint()
    current = status.get("pass") or {}
    verified_at = _parse(status.get("verified_at"))
    steady = (
        status.get("phase") == ClusterPhase.ACTIVE
        and current.get("converged", True)
        and current.get("fingerprint") == fingerprint
        and verified_at is not None
        and moment - verified_at < full_pass_every
    )
    if steady:
        for step in STEPS:
            result = runner.run(step.name, lambda s=step: s.verify(runner.ctx))  # type: ignore[misc]
            if isinstance(result, Outcome):
                if result.kind == "failed":
                    return result
                break  # a temporary error while checking: converge with a full pass
            if not isinstance(result, Ready):
                runner.emit(
                    {
                        "step": step.name,
                        "action": "waiting",
                        "resource": step.name,
                        "aws_id": None,
                        "message": f"drift: {result.reason}",
                    }
                )
                break
        else:
            return Outcome.active()
    converged = status.get("phase") == ClusterPhase.ACTIVE and current.get("converged", True)
    if not current or current.get("fingerprint") != fingerprint or converged:
        current = {
            "number": int(current.get("number", 0)) + 1,
            "fingerprint": fingerprint,
            "started_at": moment.isoformat(timespec="seconds"),
            "converged": False,
        }
        status["pass"] = current
    # A cluster that was Active once stays Active while a pass repairs or updates it.
    status["phase"] = ClusterPhase.ACTIVE if status.get("verified_at") else ClusterPhase.CREATING
    number = current["number"]
    for step in STEPS:
        condition = status.get("conditions", {}).get(step.name)
        ready = condition and condition.get("state") == ConditionState.READY
        if ready and condition.get("pass") == number:
            continue
        result = runner.run(step.name, lambda s=step: s.ensure(runner.ctx))  # type: ignore[misc]
        if isinstance(result, Outcome):
            return result
        if not isinstance(result, Ready):
            runner.mark(step.name, ConditionState.WAITING, result.reason)
            runner.emit(
                {
                    "step": step.name,
                    "action": "waiting",
                    "resource": step.name,
                    "aws_id": runner.ctx.condition(step.name).get("aws_id"),
                    "message": result.reason,
                }
            )
            return Outcome.requeue(result.after, result.reason, step.name)
        runner.mark(step.name, ConditionState.READY, result.message, **{"pass": number})
        status["retries"] = 0
        runner.emit(
            {
                "step": step.name,
                "action": "ready",
                "resource": step.name,
                "aws_id": runner.ctx.condition(step.name).get("aws_id"),
                "message": result.message,
            }
        )
    status["phase"] = ClusterPhase.ACTIVE
    current["converged"] = True
    status["verified_at"] = moment.isoformat(timespec="seconds")
    status["last_error"] = None
    runner.emit(
        {
            "step": "cluster",
            "action": "ready",
            "resource": "cluster",
            "aws_id": None,
            "message": "cluster is Active",
        }
    )
    return Outcome.active()


def delete_cluster(
    spec: ClusterSpec,
    status: dict[str, Any],
    clients: AwsClients,
    on_progress: ProgressCallback | None = None,
) -> Outcome:
    """Remove the cluster's resources, steps backwards, then prove it with a tag scan.

    ``deleted`` only when :func:`tag_scan` finds nothing; otherwise ``requeue``.
    """
    runner = _Runner(spec, status, clients, on_progress)
    if status.get("phase") != ClusterPhase.DELETING:
        status["phase"] = ClusterPhase.DELETING
        for condition in status.get("conditions", {}).values():
            if condition.get("state") == ConditionState.DELETED:
                condition["state"] = ConditionState.DELETING
    for step in reversed(STEPS):
        condition = status.get("conditions", {}).get(step.name)
        if condition and condition.get("state") == ConditionState.DELETED:
            continue
        result = runner.run(step.name, lambda s=step: s.delete(runner.ctx))  # type: ignore[misc]
        if isinstance(result, Outcome):
            return result
        if not isinstance(result, Ready):
            runner.mark(step.name, ConditionState.DELETING, result.reason)
            runner.emit(
                {
                    "step": step.name,
                    "action": "waiting",
                    "resource": step.name,
                    "aws_id": None,
                    "message": result.reason,
                }
            )
            return Outcome.requeue(result.after, result.reason, step.name)
        runner.mark(step.name, ConditionState.DELETED, "", aws_id=None)
        status["retries"] = 0
        runner.emit(
            {
                "step": step.name,
                "action": "deleted",
                "resource": step.name,
                "aws_id": None,
                "message": "",
            }
        )
    leftovers = runner.run("tag_scan", lambda: _scan_as_result(clients, spec, status))
    if isinstance(leftovers, Outcome):
        return leftovers
    if not isinstance(leftovers, Ready):
        for condition in status.get("conditions", {}).values():
            condition["state"] = ConditionState.DELETING
        runner.emit(
            {
                "step": "tag_scan",
                "action": "waiting",
                "resource": "cluster",
                "aws_id": None,
                "message": leftovers.reason,
            }
        )
        return Outcome.requeue(leftovers.after, leftovers.reason, "tag_scan")
    status["phase"] = ClusterPhase.DELETED
    status["last_error"] = None
    runner.emit(
        {
            "step": "tag_scan",
            "action": "deleted",
            "resource": "cluster",
            "aws_id": None,
            "message": "tag scan found no resource left",
        }
    )
    return Outcome.deleted()


def _scan_as_result(clients: AwsClients, spec: ClusterSpec, status: dict[str, Any]) -> StepResult:
    from flightdeck.aws.provision.context import Waiting

    remaining = tag_scan(clients, spec)
    status["leftovers"] = remaining
    if remaining:
        return Waiting(f"still tagged: {', '.join(remaining)}", after=30)
    return Ready()


def plan_cluster(
    spec: ClusterSpec, clients: AwsClients, *, deleting: bool = False
) -> list[PlannedChange]:
    """What a create/update (or, with ``deleting``, a delete) would do; read-only.

    Raises :class:`TemporaryError` or :class:`PermanentError` when AWS refuses a describe.
    """
    ctx = StepContext(spec, {"conditions": {}}, clients)
    changes: list[PlannedChange] = []
    steps = reversed(STEPS) if deleting else iter(STEPS)
    for step in steps:
        ctx.step = step.name
        with running(step.name):
            try:
                changes += step.plan_delete(ctx) if deleting else step.plan(ctx)
            except Exception as exc:
                error = as_provisioning_error(exc)
                if error is None:
                    raise
                raise error from exc
    return changes
