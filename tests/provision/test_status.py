"""The typed cluster status: one reader of the JSON column, one phase vocabulary."""

from __future__ import annotations

from flightdeck.aws.provision.database import DB_ENDPOINT, DatabaseStep
from flightdeck.aws.provision.eks import EKS_CLUSTER, EksClusterStep
from flightdeck.aws.provision.status import ClusterStatus, ConditionState
from flightdeck.phases import ClusterPhase


def test_status_reads_conditions_and_resources_by_the_steps_keys() -> None:
    status = ClusterStatus.from_json({
        "phase": "Active",
        "conditions": {
            "eks_cluster": {"state": "Ready", "aws_id": "arn:eks", "pass": 3,
                            "resources": {"eks-cluster": "arn:aws:eks:us-east-1:1:cluster/c"},
                            "token_generation": {"eks-cluster": 1}},
            "database": {"state": "Waiting", "resources": {"db-endpoint": "db:5432"}},
        },
        "last_error": {"step": "database", "message": "busy", "temporary": True},
    })
    assert status.phase is ClusterPhase.ACTIVE
    assert status.resource(EksClusterStep.name, EKS_CLUSTER) == "arn:aws:eks:us-east-1:1:cluster/c"
    assert status.resource(DatabaseStep.name, DB_ENDPOINT) == "db:5432"
    assert status.resource("vpc", "vpc") is None
    assert status.condition("database").state is ConditionState.WAITING
    assert status.last_error is not None and status.last_error.step == "database"
    shown = status.conditions_json()["eks_cluster"]
    assert shown["pass"] == 3 and "token_generation" not in shown  # an engine detail


def test_the_engines_old_phase_words_read_as_the_one_vocabulary() -> None:
    assert ClusterStatus.from_json({"phase": "Provisioning"}).phase is ClusterPhase.CREATING
    assert ClusterStatus.from_json({"phase": "Updating"}).phase is ClusterPhase.ACTIVE
    assert ClusterStatus.from_json({"phase": "nonsense"}).phase is None
    assert ClusterStatus.from_json(None) == ClusterStatus()
    odd = ClusterStatus.from_json({"conditions": {"vpc": {"state": "Exploded"}}})
    assert odd.condition("vpc").state is ConditionState.PENDING
