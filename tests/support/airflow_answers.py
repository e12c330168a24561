"""A loopback HTTP server shaped like Airflow 3's REST API (v2), answering from recorded
runs, task instances and DAGs, and filtering them as Airflow does for the parameters the
alert evaluator sends. For tests that need Airflow's answers, not Airflow."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "recorded-airflow-token"


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass
class RecordedAirflow:
    server: ThreadingHTTPServer
    dag_runs: list[dict[str, Any]] = field(default_factory=list)
    task_instances: list[dict[str, Any]] = field(default_factory=list)
    dags: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, path: str, query: dict[str, list[str]]) -> dict[str, Any]:
        def one(name: str) -> str | None:
            return query.get(name, [None])[0]

        if path == "/api/v2/dags":
            rows = [d for d in self.dags if one("paused") != "false" or not d["is_paused"]]
            return {"dags": rows, "total_entries": len(rows)}
        if path == "/api/v2/dags/~/dagRuns":
            rows = self.dag_runs
            key = "dag_runs"
        elif path == "/api/v2/dags/~/dagRuns/~/taskInstances":
            rows = self.task_instances
            key = "task_instances"
        else:
            raise KeyError(path)
        states = query.get("state")
        since, before = _when(one("end_date_gte")), _when(one("start_date_lte"))
        longest = float(one("duration_gte") or 0)
        selected = [
            row
            for row in rows
            if (not states or row["state"] in states)
            and (since is None or (row["end_date"] and _when(row["end_date"]) >= since))  # type: ignore[operator]
            and (before is None or (row["start_date"] and _when(row["start_date"]) <= before))  # type: ignore[operator]
            and (not longest or (row.get("duration") or 0) >= longest)
        ]
        offset, limit = int(one("offset") or 0), int(one("limit") or 50)
        return {key: selected[offset : offset + limit], "total_entries": len(selected)}


def start_recorded_airflow() -> RecordedAirflow:
    recorded: RecordedAirflow

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path == "/auth/token":
                self._send(201, {"access_token": TOKEN})
            else:
                self._send(404, {"detail": "Not Found"})

        def do_GET(self) -> None:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, {"detail": "Not authenticated"})
                return
            parts = urlsplit(self.path)
            recorded.calls += 1
            try:
                self._send(200, recorded.answer(parts.path, parse_qs(parts.query)))
            except KeyError:
                self._send(404, {"detail": "Not Found"})

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorded = RecordedAirflow(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return recorded


def dag_run(
    dag_id: str, run_id: str, state: str, start: datetime, end: datetime | None
) -> dict[str, Any]:
    return {
        "dag_id": dag_id,
        "dag_run_id": run_id,
        "state": state,
        "start_date": start.isoformat(),
        "end_date": end.isoformat() if end else None,
        "logical_date": start.isoformat(),
    }


def task_instance(
    dag_id: str, run_id: str, task_id: str, state: str, start: datetime, end: datetime | None
) -> dict[str, Any]:
    return {
        "dag_id": dag_id,
        "dag_run_id": run_id,
        "task_id": task_id,
        "map_index": -1,
        "try_number": 1,
        "state": state,
        "start_date": start.isoformat(),
        "end_date": end.isoformat() if end else None,
        "duration": (end - start).total_seconds() if end else None,
    }
