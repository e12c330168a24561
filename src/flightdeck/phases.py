"""The phases of every object the control plane drives, one vocabulary each.

What the database stores, the API returns and the workers compare: the AWS engine writes the
cluster phases too (``aws/provision``), so a cluster has one set of words everywhere.
"""

from __future__ import annotations

from enum import StrEnum


class ClusterPhase(StrEnum):
    PENDING = "Pending"  # requested, no pass yet
    CREATING = "Creating"  # first provisioning pass under way
    ACTIVE = "Active"  # provisioned (an Active cluster under repair stays Active)
    FAILED = "Failed"  # a permanent error: the user must act
    DELETING = "Deleting"
    DELETED = "Deleted"


class DeploymentPhase(StrEnum):
    CREATING = "Creating"
    HEALTHY = "Healthy"
    UNHEALTHY = "Unhealthy"
    HIBERNATING = "Hibernating"  # asleep on purpose: nothing runs, its data and code are kept
    DELETING = "Deleting"
    DELETED = "Deleted"


class DeploymentEventKind(StrEnum):
    """What a line of a Deployment's timeline is about."""

    CREATED = "created"
    UPDATED = "updated"  # its spec or environment changed (a new generation)
    PHASE = "phase"  # it turned Healthy, Unhealthy, ...
    RESTARTED = "restarted"  # its Airflow was started again (control plane restart, crash)
    DEPLOY = "deploy"  # a deploy finished: succeeded, rejected or failed
    ASLEEP = "asleep"  # hibernation asked (by whom, until when)
    AWAKE = "awake"  # woken up: by a user, or because its hibernation ended
    DELETING = "deleting"
    DELETED = "deleted"


class DeployStatus(StrEnum):
    PENDING = "pending"  # uploaded, waiting for the worker
    CHECKING = "checking"  # a worker is checking it now
    SUCCEEDED = "succeeded"  # serving
    REJECTED = "rejected"  # its checks failed; nothing was switched
    FAILED = "failed"  # the runtime or the worker could not finish; nothing was switched


class PolicyChangeStatus(StrEnum):
    PENDING_NOTICE = "pending-notice"  # grants more: waiting for every Owner's notice
    SCHEDULED = "scheduled"  # effective at ``effective_at``
    APPLIED = "applied"
    FAILED = "failed"  # installing failed; retried with backoff
    SUPERSEDED = "superseded"  # a newer version replaced it before it applied


LIVE_CLUSTER_PHASES = (
    ClusterPhase.PENDING,
    ClusterPhase.CREATING,
    ClusterPhase.ACTIVE,
    ClusterPhase.DELETING,
)
OPEN_DEPLOY_STATUSES = (DeployStatus.PENDING, DeployStatus.CHECKING)
ACTIVE_POLICY_CHANGE_STATUSES = (
    PolicyChangeStatus.PENDING_NOTICE,
    PolicyChangeStatus.SCHEDULED,
    PolicyChangeStatus.FAILED,
)


class PeeringPhase(StrEnum):
    """A cluster's VPC peering, as AWS names its states where it has one."""

    REQUESTED = "requested"  # recorded, not yet created on AWS
    PENDING_ACCEPTANCE = "pending-acceptance"  # created; the peer account must accept
    ACTIVE = "active"  # accepted; the cluster's routes to the peer CIDRs are in place
    FAILED = "failed"  # AWS refused (e.g. a peer VPC that does not exist); see last_error
    EXPIRED = "expired"  # not accepted within AWS's seven days
    DELETING = "deleting"
    DELETED = "deleted"


LIVE_PEERING_PHASES: tuple[PeeringPhase, ...] = (
    PeeringPhase.REQUESTED,
    PeeringPhase.PENDING_ACCEPTANCE,
    PeeringPhase.ACTIVE,
    PeeringPhase.DELETING,
)
