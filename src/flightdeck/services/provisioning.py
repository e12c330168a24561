"""Bridges cluster rows and the AWS provisioning engine (``flightdeck.aws.provision``).

Builds the engine's spec and clients (through the organization's cross-account role, in
the cluster's region) and turns the engine's outcome into a cluster phase.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy.orm import Session

from flightdeck.aws import provision
from flightdeck.aws import session as aws
from flightdeck.db.models import AwsAccount, Cluster, User
from flightdeck.services import clusters, orgs
from flightdeck.services.errors import AwsRefused, AwsUnavailable
from flightdeck.services.reconcile import EngineOutcome


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


_CLIENTS_LOCK = threading.Lock()
_CLIENTS: OrderedDict[tuple[str, str, str], provision.CachedClients] = OrderedDict()
_CLIENTS_MAX = 512


def clients_for(account: AwsAccount, external_id: str, region: str) -> provision.CachedClients:
    """Clients in the customer account, through the role, with refreshable credentials.

    Kept across passes (least recently used first out): assuming the role and building
    clients costs more than a steady-state reconcile's five describe calls."""
    key = (account.role_arn, external_id, region)
    with _CLIENTS_LOCK:
        cached = _CLIENTS.get(key)
        if cached is not None:
            _CLIENTS.move_to_end(key)
            return cached
        role_session = aws.assumed_role_session(
            account.role_arn, external_id, "flightdeck-provisioning", region=region
        )
        clients = provision.CachedClients(lambda service: aws.client(role_session, service, region))
        _CLIENTS[key] = clients
        while len(_CLIENTS) > _CLIENTS_MAX:
            _CLIENTS.popitem(last=False)
        return clients


def forget_clients() -> None:
    """Drop cached sessions (when the endpoint or credentials of the process change)."""
    with _CLIENTS_LOCK:
        _CLIENTS.clear()


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
) -> EngineOutcome:
    """One reconcile (or deletion) pass of ``cluster``."""
    deleting = cluster.desired_state == "absent"
    try:
        clients = clients_for(account, external_id, cluster.region)
        status = dict(cluster.status or {})
        if deleting:
            outcome = provision.delete_cluster(spec_for(cluster), status, clients, on_progress)
        else:
            outcome = provision.reconcile(spec_for(cluster), status, clients, on_progress)
    except (ClientError, BotoCoreError) as exc:  # the role itself could not be assumed
        error = provision.classify(exc) if isinstance(exc, ClientError) else None
        if isinstance(error, provision.PermanentError):
            return EngineOutcome(
                phase="Failed", error=f"{error} — fix: {error.remedy or 'verify the account'}"
            )
        return EngineOutcome(
            phase="Deleting" if deleting else _pending_phase(cluster),
            requeue_after=30,
            error=f"{type(exc).__name__}: {exc}",
        )
    if outcome.kind == "active":
        return EngineOutcome(phase="Active")
    if outcome.kind == "deleted":
        return EngineOutcome(phase="Deleted")
    if outcome.kind == "failed":
        return EngineOutcome(phase="Failed", error=_explain(outcome))
    return EngineOutcome(
        phase="Deleting" if deleting else _pending_phase(cluster),
        requeue_after=outcome.after or 5,
        error=_explain(outcome) if outcome.message else None,
    )


def _pending_phase(cluster: Cluster) -> str:
    """An Active cluster that needs repair stays Active while it is fixed."""
    return "Active" if cluster.phase == "Active" else "Creating"


def plan(session: Session, user: User, organization_id: str, ref: str) -> list[dict[str, Any]]:
    """Read-only: what the next pass would create, change or delete."""
    cluster = clusters.get_cluster(session, user, organization_id, ref)
    account = session.get(AwsAccount, cluster.aws_account_ref)
    assert account is not None
    external_id = orgs.external_id_for(session, organization_id)
    try:
        changes = provision.plan_cluster(
            spec_for(cluster),
            clients_for(account, external_id, cluster.region),
            deleting=cluster.desired_state == "absent",
        )
    except provision.TemporaryError as exc:
        raise AwsUnavailable(f"AWS is busy, try again shortly: {exc}") from None
    except provision.PermanentError as exc:
        raise AwsRefused(f"{exc} — fix: {exc.remedy}") from None
    except ClientError as exc:
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
