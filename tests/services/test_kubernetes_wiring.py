"""The Kubernetes runtime acts through the role session the process's factory caches: a
Deployment pass (every 30 s) does not assume the customer role again."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.aws import session as aws
from flightdeck.aws.emulator import RunningEmulator
from flightdeck.config import Settings
from flightdeck.runtime.kubernetes import KubernetesRuntime
from flightdeck.services.deployments.runtimes import kubernetes_runtime_for
from services.conftest import Tenant, add_cluster


def test_each_pass_reuses_the_cached_role_session_and_clients(
    session_factory: sessionmaker[Session],
    tenant: Tenant,
    emulator_env: RunningEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assumed: list[str] = []
    assume = aws.assumed_role_session

    def counting_assume(*args: Any, **kwargs: Any) -> Any:
        assumed.append(args[1])
        return assume(*args, **kwargs)

    monkeypatch.setattr(aws, "assumed_role_session", counting_assume)
    cluster_id = add_cluster(session_factory, tenant)
    deployment: Any = SimpleNamespace(cluster_id=cluster_id)
    settings = Settings(secret_key="k" * 40)
    runtimes = []
    for _ in range(3):  # three worker passes
        with session_factory() as session:
            runtimes.append(kubernetes_runtime_for(session, deployment, settings, tenant.sessions))
    first = runtimes[0]
    assert isinstance(first, KubernetesRuntime)
    assert all(isinstance(r, KubernetesRuntime) and r.clients is first.clients for r in runtimes)
    assert assumed == [tenant.account.role_arn]
    identity = first.clients.client("sts").get_caller_identity()
    assert identity["Account"] == emulator_env.customer_account_id
    assert first.clients.client("eks").meta.endpoint_url == emulator_env.endpoint_url
