"""Which runtime runs a Deployment: the local runtime (Airflow processes on this host), or
the Kubernetes runtime on the Deployment's cluster through the customer role."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from flightdeck.aws.session import SessionFactory
from flightdeck.config import SandboxNetwork, Settings
from flightdeck.db.models import AwsAccount, Cluster, Deployment
from flightdeck.runtime.base import Runtime
from flightdeck.runtime.kubernetes import KubernetesRuntime
from flightdeck.services.deployments.requests import cluster_outputs
from flightdeck.services.onboarding import role_clients_for

RuntimeFactory = Callable[[Session, Deployment], Runtime]

_local_runtimes: dict[Path, Runtime] = {}
_local_lock = threading.Lock()


def local_runtime(root: Path, network: SandboxNetwork = SandboxNetwork.ISOLATED) -> Runtime:
    """One LocalRuntime per directory and process: it tracks its background starts.

    ``network`` is the server's ``sandbox_network`` setting (one per process).
    """
    from flightdeck.runtime.local import LocalRuntime

    with _local_lock:
        runtime = _local_runtimes.get(root)
        if runtime is None:
            runtime = _local_runtimes[root] = LocalRuntime(root, network=network)
        return runtime


def kubernetes_runtime_for(
    session: Session, deployment: Deployment, settings: Settings, sessions: SessionFactory
) -> KubernetesRuntime:
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


def default_runtime_factory(settings: Settings, sessions: SessionFactory) -> RuntimeFactory:
    """Local Deployments on this host; Kubernetes ones through ``sessions``' role clients."""

    def factory(session: Session, deployment: Deployment) -> Runtime:
        if deployment.runtime == "local":
            return local_runtime(settings.deployments_dir, settings.sandbox_network)
        return kubernetes_runtime_for(session, deployment, settings, sessions)

    return factory
