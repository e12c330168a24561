"""Local Deployments belong to the control plane that runs them: they stop when it stops.

When the server stops, the Airflow processes of its local Deployments are stopped (their
metadata database and code stay); when it starts, anything a killed predecessor left running
is stopped first, so every process of a Deployment was started by this server. The worker
then starts every Deployment that should run again at once (they are made due), as on any
pass.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from flightdeck.config import Settings

log = logging.getLogger("flightdeck")


@contextmanager
def local_deployments_follow_server(
    settings: Settings, session_factory: sessionmaker[Session]
) -> Iterator[None]:
    if settings.runtime != "local" or not settings.run_worker_in_server:
        yield
        return
    from flightdeck.runtime.local import LocalRuntime
    from flightdeck.services.deployments.runtimes import local_runtime

    runtime = local_runtime(settings.deployments_dir, settings.sandbox_network)
    assert isinstance(runtime, LocalRuntime)
    leftovers = runtime.stop_all()
    if leftovers:
        log.warning(
            "stopped Airflow left running by a previous server for Deployment(s) %s; "
            "they start again now",
            ", ".join(leftovers),
        )
    from flightdeck.services.deployments.requests import reconcile_now

    with session_factory() as session:
        reconcile_now(session, "local")
    try:
        yield
    finally:
        stopped = runtime.stop_all()
        if stopped:
            log.warning(
                "stopped the Airflow processes of Deployment(s) %s with the control plane; "
                "their data stays and they start again with it",
                ", ".join(stopped),
            )
