"""The local runtime sizes Airflow's parallelism to the host, not to the Kubernetes request."""

from __future__ import annotations

import os
from pathlib import Path

from flightdeck.devenv.project import Project
from flightdeck.runtime.base import DeploymentSpec, WorkerQueue
from flightdeck.runtime.local import LocalRuntime
from flightdeck.runtime.local_sizing import MEMORY_PER_SLOT, host_parallelism, local_parallelism

GIB = 1024**3


def test_two_slots_per_core_while_memory_allows() -> None:
    assert host_parallelism(cores=2, memory=64 * GIB) == 4
    assert host_parallelism(cores=16, memory=64 * GIB) == 32


def test_memory_caps_the_slots() -> None:
    # A quarter of 2 GiB holds three 150 MiB slots, whatever the core count.
    assert host_parallelism(cores=16, memory=2 * GIB) == int(2 * GIB * 0.25 // MEMORY_PER_SLOT)
    assert host_parallelism(cores=16, memory=256 * 1024**2) == 2, "never below two"


def test_never_more_than_requested_or_the_cap() -> None:
    assert local_parallelism(1) == 1
    assert local_parallelism(1000) == host_parallelism()
    assert local_parallelism(1000, cap=3) == min(3, host_parallelism())


def test_a_large_worker_queue_does_not_fork_a_process_per_requested_slot(tmp_path: Path) -> None:
    runtime = LocalRuntime(tmp_path)
    spec = DeploymentSpec(
        id="dep",
        name="big",
        organization_id="org",
        airflow_version="3.1.0",
        worker_queue=WorkerQueue(max_workers=10, tasks_per_worker=5),
    )
    values = runtime._environment_values(spec, {}, Project(tmp_path / "dep"))
    assert values["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    parallelism = int(values["AIRFLOW__CORE__PARALLELISM"])
    assert parallelism == host_parallelism() < 50
    assert parallelism <= 2 * (os.cpu_count() or 1)
