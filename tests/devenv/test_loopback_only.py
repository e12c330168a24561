"""Airflow run by flightdeck listens on loopback only: no log servers on every interface."""

from __future__ import annotations

from flightdeck.devenv import supervisor


def test_scheduler_and_triggerer_start_no_log_server() -> None:
    # Airflow binds its log servers to every interface ("" / [::]) with no setting to
    # change it, so they are not started; the API server reads task logs from disk.
    for component in ("scheduler", "triggerer"):
        assert "--skip-serve-logs" in supervisor.loopback_arguments(component)
    for component in ("api-server", "dag-processor", "webserver"):
        assert supervisor.loopback_arguments(component) == []
