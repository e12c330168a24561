"""Wire the Kubernetes runtime to a Deployment's cluster: the customer role's cached clients
and the cluster's recorded outputs."""

from __future__ import annotations

from sqlalchemy.orm import Session

from flightdeck.aws.session import SessionFactory
from flightdeck.config import Settings
from flightdeck.db.models import AwsAccount, Cluster, Deployment
from flightdeck.runtime.base import Runtime
from flightdeck.runtime.kubernetes import KubernetesRuntime
from flightdeck.services.deployments import cluster_outputs
from flightdeck.services.onboarding import role_clients_for


def kubernetes_runtime_for(
    session: Session, deployment: Deployment, settings: Settings, sessions: SessionFactory
) -> Runtime:
    """Everything on the cluster goes through the organization's cross-account role; the
    factory keeps its session between passes, so a pass does not assume the role again."""
    cluster = session.get(Cluster, deployment.cluster_id)
    assert cluster is not None
    account = session.get(AwsAccount, cluster.aws_account_ref)
    assert account is not None
    return KubernetesRuntime(
        role_clients_for(session, account, "deployments", sessions, cluster.region),
        cluster_outputs(cluster, settings),
        settings.secret_key,
    )
