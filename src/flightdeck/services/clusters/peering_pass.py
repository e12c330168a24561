"""The peering pass: drives each live peering of a cluster toward its request, through the role.

Runs after the cluster's own reconcile has recorded its VPC and private route tables (a
peering of a cluster still being created waits). Every call in :mod:`flightdeck.aws.peering`
finds its resources by tag, so a pass killed anywhere resumes without duplicates. A phase
change is one line of the cluster's timeline; Owners are emailed when acceptance is
waiting and when the peering is active.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from flightdeck.aws import peering as cluster_side
from flightdeck.aws import provision
from flightdeck.aws.peering_request import DnsForward, IngressTarget, PeeringRequest, PeerIngress
from flightdeck.aws.provision.network_plan import AZ_SUFFIXES
from flightdeck.aws.session import SessionFactory
from flightdeck.db.models import AwsAccount, Cluster, ClusterEvent, ClusterPeering
from flightdeck.phases import ClusterPhase, PeeringPhase
from flightdeck.services import notifications, orgs
from flightdeck.services.clusters.engine import clients_for
from flightdeck.services.clusters.peerings import live_peerings

_MAILED = {
    PeeringPhase.PENDING_ACCEPTANCE: "waits for your acceptance",
    PeeringPhase.ACTIVE: "is active",
}


def request_of(peering: ClusterPeering) -> PeeringRequest:
    spec = peering.spec
    return PeeringRequest(
        peer_account_id=str(spec["peer_account_id"]),
        peer_region=str(spec["peer_region"]),
        peer_vpc_id=str(spec["peer_vpc_id"]),
        peer_cidrs=tuple(spec["peer_cidrs"]),
        dns=tuple(
            DnsForward(str(d["domain"]), tuple(d["resolver_ips"])) for d in spec.get("dns", [])
        ),
        ingress=tuple(
            PeerIngress(IngressTarget(str(i["target"])), int(i["port"]))
            for i in spec.get("ingress", [])
        ),
    )


# The cluster's security group each ingress target names (``SECURITY_GROUPS`` keys).
_GROUP_OF_TARGET = {
    IngressTarget.NODES: "sg-eks-cluster",
    IngressTarget.DATABASE: "sg-database",
}


def network_of(cluster: Cluster) -> cluster_side.ClusterNetwork | None:
    """The cluster's VPC, private route tables, private subnets and security groups as
    its reconcile recorded them, or ``None`` while the VPC and tables are not all known."""
    conditions = (cluster.status or {}).get("conditions", {})

    def recorded(step: str, resource: str) -> str | None:
        value = conditions.get(step, {}).get("resources", {}).get(resource)
        return str(value) if value else None

    vpc = recorded("vpc", "vpc")
    tables = [recorded("route_tables", f"private-{s}") for s in AZ_SUFFIXES]
    if vpc is None or None in tables:
        return None
    subnets = [recorded("subnets", f"private-{s}") for s in AZ_SUFFIXES]
    groups = {
        target: group
        for target, key in _GROUP_OF_TARGET.items()
        if (group := recorded("security_groups", key))
    }
    return cluster_side.ClusterNetwork(
        cluster.id,
        vpc,
        tuple(t for t in tables if t),
        private_subnet_ids=tuple(s for s in subnets if s),
        security_groups=groups,
    )


def run_peering_pass(session: Session, cluster_id: str, sessions: SessionFactory) -> int:
    """One pass over the cluster's live peerings; returns how many changed phase. Each
    peering's outcome is committed before the next one is touched."""
    cluster = session.get(Cluster, cluster_id)
    if cluster is None:
        return 0
    peerings = live_peerings(session, cluster_id)
    if not peerings:
        return 0
    account = session.get(AwsAccount, cluster.aws_account_ref)
    assert account is not None
    network = network_of(cluster)
    changed = 0
    cluster_gone = cluster.desired_state == "absent" or cluster.phase == ClusterPhase.DELETED
    for peering in peerings:
        removing = peering.desired_state == "absent" or cluster_gone
        if network is None:
            if removing:  # nothing can have been created without the cluster's VPC
                gone = cluster_side.PeeringState(PeeringPhase.DELETED)
                changed += _set(session, cluster, peering, PeeringPhase.DELETED, None, gone)
            continue
        if cluster.phase != ClusterPhase.ACTIVE and not removing:
            continue
        external_id = orgs.external_id_for(session, cluster.organization_id)
        clients = clients_for(account, external_id, cluster.region, sessions)
        try:
            if removing:
                state = cluster_side.delete_peering(
                    clients, network, peering.id, request_of(peering)
                )
            else:
                state = cluster_side.reconcile_peering(
                    clients,
                    network,
                    peering.id,
                    peering.name,
                    request_of(peering),
                    previous=PeeringPhase(peering.phase),
                )
        except provision.AWS_ERRORS as exc:
            peering.last_error = f"{type(exc).__name__}: {exc}"
            session.commit()
            continue
        changed += _set(
            session,
            cluster,
            peering,
            state.phase,
            state.aws_peering_id or peering.aws_peering_id,
            state,
        )
    return changed


def _set(
    session: Session,
    cluster: Cluster,
    peering: ClusterPeering,
    phase: PeeringPhase,
    aws_id: str | None,
    state: cluster_side.PeeringState,
) -> int:
    message = state.message
    moved = peering.phase != phase
    peering.phase = phase
    peering.aws_peering_id = aws_id
    peering.status = {**state.as_status(), "aws_peering_id": aws_id}
    peering.last_error = message if phase in (PeeringPhase.FAILED, PeeringPhase.EXPIRED) else None
    if moved:
        session.add(
            ClusterEvent(
                cluster_id=cluster.id,
                step="peering",
                action=f"peering-{phase}",
                resource=peering.name,
                aws_id=aws_id,
                message=message or f"peering {peering.name} is {phase}",
            )
        )
        if phase in _MAILED:
            notifications.notify_owners(
                session,
                cluster.organization_id,
                kind="peering",
                subject=f"flightdeck: peering {peering.name} of cluster {cluster.name} "
                f"{_MAILED[phase]}",
                body=message or f"The peering {peering.name} ({aws_id}) is {phase}.",
            )
    session.commit()
    return int(moved)
