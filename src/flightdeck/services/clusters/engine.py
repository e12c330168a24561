"""Bridges cluster rows and the AWS provisioning engine (``flightdeck.aws.provision``).

Builds the engine's spec and clients (through the organization's cross-account role, in
the cluster's region) and turns the engine's outcome into a cluster phase.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from flightdeck.aws import provision
from flightdeck.aws.session import RoleClients, SessionFactory
from flightdeck.db.models import AwsAccount, Cluster, User
from flightdeck.phases import ClusterPhase
from flightdeck.services import orgs
from flightdeck.services.clusters import requests as clusters
from flightdeck.services.errors import AwsRefused, AwsUnavailable


@dataclass(frozen=True)
class EngineOutcome:
    """What one reconcile pass concluded, in the worker's terms."""

    phase: ClusterPhase
    requeue_after: float | None = None
    error: str | None = None


# (cluster, account, external_id, on_progress) -> outcome: what the cluster worker runs.
# ``run_engine`` drives the AWS provisioning engine; tests and benchmarks may pass another.
Engine = Callable[
    [Cluster, AwsAccount, str, Callable[[dict[str, Any], dict[str, Any]], None]], EngineOutcome
]


def spec_for(cluster: Cluster) -> provision.ClusterSpec:
    spec = cluster.spec
    return provision.ClusterSpec(
        cluster_id=cluster.id,
        name=cluster.name,
        account_id=str(spec["account_id"]),
        region=cluster.region,
        node_instance_type=str(spec["node_instance_type"]),
        max_nodes=int(spec["max_nodes"]),
        db_instance_type=str(spec["db_instance_type"]),
        vpc_cidr=str(spec["vpc_cidr"]),
        db_final_snapshot=bool(spec.get("db_final_snapshot", True)),
    )


def clients_for(
    account: AwsAccount, external_id: str, region: str, sessions: SessionFactory
) -> RoleClients:
    """Clients in the customer account, through the role, with refreshable credentials;
    the factory keeps them across passes (assuming the role and building clients costs more
    than a steady-state reconcile's five describe calls)."""
    return sessions.role_clients(account.role_arn, external_id, "flightdeck-provisioning", region)


def _explain(outcome: provision.Outcome) -> str:
    parts = [outcome.message]
    if outcome.aws_code:
        parts[0] = f"{outcome.message} ({outcome.aws_code})"
    if outcome.step:
        parts[0] = f"step {outcome.step}: {parts[0]}"
    if outcome.remedy:
        parts.append(f"fix: {outcome.remedy}")
    return " — ".join(parts)


def run_engine(
    cluster: Cluster,
    account: AwsAccount,
    external_id: str,
    on_progress: Callable[[dict[str, Any], dict[str, Any]], None],
    sessions: SessionFactory,
) -> EngineOutcome:
    """One reconcile (or deletion) pass of ``cluster``."""
    deleting = cluster.desired_state == "absent"
    try:
        clients = clients_for(account, external_id, cluster.region, sessions)
        status = dict(cluster.status or {})
        if deleting:
            outcome = provision.delete_cluster(spec_for(cluster), status, clients, on_progress)
        else:
            outcome = provision.reconcile(spec_for(cluster), status, clients, on_progress)
    except provision.AWS_ERRORS as exc:  # the role itself could not be assumed
        error = provision.classify(exc) if isinstance(exc, provision.AwsAnswered) else None
        if isinstance(error, provision.PermanentError):
            return EngineOutcome(
                phase=ClusterPhase.FAILED,
                error=f"{error} — fix: {error.remedy or 'verify the account'}",
            )
        return EngineOutcome(
            phase=ClusterPhase.DELETING if deleting else _pending_phase(cluster),
            requeue_after=30,
            error=f"{type(exc).__name__}: {exc}",
        )
    if outcome.kind == "active":
        return EngineOutcome(phase=ClusterPhase.ACTIVE)
    if outcome.kind == "deleted":
        return EngineOutcome(phase=ClusterPhase.DELETED)
    if outcome.kind == "failed":
        return EngineOutcome(phase=ClusterPhase.FAILED, error=_explain(outcome))
    return EngineOutcome(
        phase=ClusterPhase.DELETING if deleting else _pending_phase(cluster),
        requeue_after=outcome.after or 5,
        error=_explain(outcome) if outcome.message else None,
    )


def aws_engine(sessions: SessionFactory) -> Engine:
    """The worker's engine: ``run_engine`` acting through ``sessions``."""

    def engine(
        cluster: Cluster,
        account: AwsAccount,
        external_id: str,
        on_progress: Callable[[dict[str, Any], dict[str, Any]], None],
    ) -> EngineOutcome:
        return run_engine(cluster, account, external_id, on_progress, sessions)

    return engine


def _pending_phase(cluster: Cluster) -> ClusterPhase:
    """An Active cluster that needs repair stays Active while it is fixed."""
    return ClusterPhase.ACTIVE if cluster.phase == ClusterPhase.ACTIVE else ClusterPhase.CREATING


def plan(
    session: Session, user: User, organization_id: str, ref: str, sessions: SessionFactory
) -> list[dict[str, Any]]:
    """Read-only: what the next pass would create, change or delete."""
    cluster = clusters.get_cluster(session, user, organization_id, ref)
    account = session.get(AwsAccount, cluster.aws_account_ref)
    assert account is not None
    external_id = orgs.external_id_for(session, organization_id)
    try:
        changes = provision.plan_cluster(
            spec_for(cluster),
            clients_for(account, external_id, cluster.region, sessions),
            deleting=cluster.desired_state == "absent",
        )
    except provision.TemporaryError as exc:
        raise AwsUnavailable(f"AWS is busy, try again shortly: {exc}") from None
    except provision.PermanentError as exc:
        raise AwsRefused(f"{exc} — fix: {exc.remedy}") from None
    except provision.AwsAnswered as exc:
        raise AwsRefused(
            f"the role could not be used: {exc}; run `flightdeck aws account verify`"
        ) from None
    return [
        {
            "step": c.step,
            "action": c.action,
            "resource": c.resource,
            "detail": c.detail,
            "aws_id": c.aws_id,
        }
        for c in changes
    ]
