"""Where the evaluator reads a Deployment's Airflow: the local runtime's processes on this
host (their URL and admin login). The Kubernetes runtime does not offer it yet: its
Deployments get health alerts only (docs/alerts.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flightdeck.config import Settings
from flightdeck.db.models import Deployment
from flightdeck.devenv.airflow_runs import AirflowRunsReader
from flightdeck.runtime.base import RuntimeError_
from flightdeck.services.alerts.evaluate import AirflowRuns
from flightdeck.services.deployments.requests import runtime_spec
from flightdeck.services.deployments.runtimes import local_runtime


@dataclass(frozen=True)
class AirflowSource:
    runs: AirflowRuns
    url: str | None  # the Airflow UI, linked from the alert


AirflowFor = Callable[[Deployment], AirflowSource | None]


def local_airflow(settings: Settings) -> AirflowFor:
    def airflow_for(deployment: Deployment) -> AirflowSource | None:
        if deployment.runtime != "local":
            return None
        from flightdeck.runtime.local import LocalRuntime

        runtime = local_runtime(settings.deployments_dir, settings.sandbox_network)
        assert isinstance(runtime, LocalRuntime)
        spec = runtime_spec(deployment, settings.secret_key)
        try:
            api = runtime.airflow_api(spec)
        except RuntimeError_:  # not running here (yet): nothing to read this pass
            return None
        return AirflowSource(AirflowRunsReader(api), api.base_url)

    return airflow_for
