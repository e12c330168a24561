"""Reading DAG runs and task instances from a Deployment's Airflow REST API, for alerts.

The same query parameters exist on Airflow 3's v2 API and Airflow 2's v1 API; ``~`` stands
for "every DAG" and "every run". Pages are read until a page comes back short, up to a cap
(alerts look at recent minutes, so the cap is never reached in practice and bounds a pass).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flightdeck.devenv.airflow_api import AirflowApi, _detail
from flightdeck.devenv.errors import DevEnvError

PAGE = 100
MAX_PAGES = 20


@dataclass(frozen=True)
class DagRun:
    dag_id: str
    run_id: str
    state: str
    start_date: datetime | None
    end_date: datetime | None


@dataclass(frozen=True)
class TaskRun:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    state: str
    start_date: datetime | None
    end_date: datetime | None


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _stamp(when: datetime) -> str:
    return when.isoformat()


class AirflowRunsReader:
    """What the alert evaluator asks of one Deployment's Airflow."""

    def __init__(self, api: AirflowApi) -> None:
        self.api = api

    def _pages(self, path: str, key: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        client = self.api.client()
        for page in range(MAX_PAGES):
            response = client.get(
                f"{self.api.prefix}{path}", params={**params, "limit": PAGE, "offset": page * PAGE}
            )
            if response.status_code >= 400:
                raise DevEnvError(
                    f"Airflow answered HTTP {response.status_code} to {path}: {_detail(response)}"
                )
            batch = response.json().get(key) or []
            items.extend(batch)
            if len(batch) < PAGE:
                break
        return items

    def finished_runs(self, since: datetime) -> list[DagRun]:
        """Runs that ended (failed or succeeded) at or after ``since``."""
        rows = self._pages(
            "/dags/~/dagRuns",
            "dag_runs",
            {"end_date_gte": _stamp(since), "state": ["failed", "success"], "order_by": "end_date"},
        )
        return [_dag_run(row) for row in rows]

    def running_tasks(self, started_before: datetime) -> list[TaskRun]:
        """Task tries still running that started before ``started_before``."""
        rows = self._pages(
            "/dags/~/dagRuns/~/taskInstances",
            "task_instances",
            {"state": ["running"], "start_date_lte": _stamp(started_before)},
        )
        return [_task_run(row) for row in rows]

    def long_finished_tasks(self, since: datetime, min_seconds: float) -> list[TaskRun]:
        """Task tries that ended after ``since`` having run at least ``min_seconds``."""
        rows = self._pages(
            "/dags/~/dagRuns/~/taskInstances",
            "task_instances",
            {"end_date_gte": _stamp(since), "duration_gte": min_seconds},
        )
        return [_task_run(row) for row in rows]

    def active_dags(self) -> list[str]:
        """The ids of the DAGs that are not paused."""
        rows = self._pages("/dags", "dags", {"paused": "false"})
        return [str(row["dag_id"]) for row in rows if not row.get("is_paused")]


def _dag_run(row: dict[str, Any]) -> DagRun:
    return DagRun(
        dag_id=str(row["dag_id"]),
        run_id=str(row.get("dag_run_id") or row.get("run_id")),
        state=str(row.get("state")),
        start_date=_when(row.get("start_date")),
        end_date=_when(row.get("end_date")),
    )


def _task_run(row: dict[str, Any]) -> TaskRun:
    return TaskRun(
        dag_id=str(row["dag_id"]),
        run_id=str(row.get("dag_run_id") or row.get("run_id")),
        task_id=str(row["task_id"]),
        map_index=int(row.get("map_index", -1) if row.get("map_index") is not None else -1),
        try_number=int(row.get("try_number") or 0),
        state=str(row.get("state")),
        start_date=_when(row.get("start_date")),
        end_date=_when(row.get("end_date")),
    )
