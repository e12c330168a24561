"""The cluster provisioning engine: ordered, re-runnable steps over boto3 clients.

No database here: callers pass a :class:`ClusterSpec`, a JSON-serialisable ``status`` dict
and an :class:`AwsClients`, persist the status from ``on_progress``, and act on the
returned :class:`Outcome`.
"""

from flightdeck.aws.provision.context import (
    AwsClients,
    CachedClients,
    PlannedChange,
    Ready,
    Waiting,
)
from flightdeck.aws.provision.errors import (
    AWS_ERRORS,
    AwsAnswered,
    PermanentError,
    TemporaryError,
    backoff,
    classify,
)
from flightdeck.aws.provision.reconciler import Outcome, delete_cluster, plan_cluster, reconcile
from flightdeck.aws.provision.spec import ClusterSpec, InvalidClusterSpec
from flightdeck.aws.provision.steps import STEP_NAMES, STEPS
from flightdeck.aws.provision.tag_scan import tag_scan

__all__ = [
    "AWS_ERRORS",
    "STEPS",
    "STEP_NAMES",
    "AwsAnswered",
    "AwsClients",
    "CachedClients",
    "ClusterSpec",
    "InvalidClusterSpec",
    "Outcome",
    "PermanentError",
    "PlannedChange",
    "Ready",
    "TemporaryError",
    "Waiting",
    "backoff",
    "classify",
    "delete_cluster",
    "plan_cluster",
    "reconcile",
    "tag_scan",
]
