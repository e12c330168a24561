"""From what Airflow and the timeline say to alerts that fire once.

``findings`` is pure: given the rules, what the Deployment's Airflow answered and the time,
it lists what matched, each with a key unique within its rule. ``fire`` then inserts one
``alert_events`` row per finding; the unique ``(rule_id, event_key)`` makes the database
decide what is new, so a worker that restarts, or two workers that read the same answers
(a lease that expired mid-pass), alert once. The outbox rows for the rule's channels are
written in the same transaction as the event, so an alert is never recorded unsent.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from flightdeck.db.models import AlertEvent, AlertRule, Deployment, DeploymentEvent
from flightdeck.db.types import new_id
from flightdeck.devenv.airflow_runs import DagRun, TaskRun
from flightdeck.phases import DeploymentEventKind, DeploymentPhase
from flightdeck.services.alerts.kinds import AIRFLOW_KINDS, SEVERITY, Alert, AlertKind, Finding
from flightdeck.services.alerts.outbox import queue_alert

LOOKBACK = timedelta(hours=6)  # how far back a pass reads finished runs (a long outage's edge)


class AirflowRuns(Protocol):
    """What the evaluator reads from a Deployment's Airflow (devenv.airflow_runs)."""

    def finished_runs(self, since: datetime) -> list[DagRun]: ...

    def running_tasks(self, started_before: datetime) -> list[TaskRun]: ...

    def long_finished_tasks(self, since: datetime, min_seconds: float) -> list[TaskRun]: ...

    def active_dags(self) -> list[str]: ...


@dataclass(frozen=True)
class Deadline:
    """A deadline rule's day: when it falls, and the local midnight before it (UTC)."""

    date: str
    due: datetime
    day_start: datetime


def deadline_of(rule: AlertRule, now: datetime) -> Deadline:
    zone = ZoneInfo(rule.timezone or "UTC")
    local = now.astimezone(zone)
    hour, minute = (int(part) for part in (rule.deadline or "00:00").split(":"))
    due = datetime.combine(local.date(), time(hour, minute), zone)
    start = datetime.combine(local.date(), time(0, 0), zone)
    return Deadline(local.date().isoformat(), due, start)


def _matches(rule: AlertRule, dag_id: str) -> bool:
    return fnmatch.fnmatchcase(dag_id, rule.dag_glob)


def _since(rule: AlertRule, now: datetime) -> datetime:
    """A rule sees only what ended after it was created (and within the look-back)."""
    return max(rule.created_at, now - LOOKBACK)


def read_window(rules: Sequence[AlertRule], now: datetime) -> datetime:
    """The earliest end date any of ``rules`` needs finished runs from."""
    starts = [_since(rule, now) for rule in rules]
    starts += [
        deadline_of(rule, now).day_start for rule in rules if rule.kind == AlertKind.DAG_DEADLINE
    ]
    return min(starts, default=now)


def _run_findings(rule: AlertRule, runs: Iterable[DagRun], now: datetime) -> list[Finding]:
    wanted = "failed" if rule.kind == AlertKind.DAG_FAILED else "success"
    verb = "failed" if wanted == "failed" else "succeeded"
    since = _since(rule, now)
    return [
        Finding(
            key=f"run:{run.dag_id}:{run.run_id}",
            summary=f"DAG {run.dag_id} {verb} (run {run.run_id})",
            dag_id=run.dag_id,
            detail={
                "dag_id": run.dag_id,
                "run_id": run.run_id,
                "state": run.state,
                "end_date": run.end_date.isoformat() if run.end_date else None,
            },
        )
        for run in runs
        if run.state == wanted
        and _matches(rule, run.dag_id)
        and run.end_date is not None
        and run.end_date >= since
    ]


def _task_findings(rule: AlertRule, tasks: Iterable[TaskRun], now: datetime) -> list[Finding]:
    limit = timedelta(minutes=rule.minutes or 0)
    found: dict[str, Finding] = {}
    for task in tasks:
        if task.start_date is None or not _matches(rule, task.dag_id):
            continue
        ran = (task.end_date or now) - task.start_date
        if ran < limit or (task.end_date is not None and task.end_date < rule.created_at):
            continue
        key = f"task:{task.dag_id}:{task.run_id}:{task.task_id}:{task.map_index}:{task.try_number}"
        found[key] = Finding(
            key=key,
            summary=(
                f"task {task.dag_id}.{task.task_id} has run longer than {rule.minutes} "
                f"minutes (run {task.run_id})"
            ),
            dag_id=task.dag_id,
            detail={
                "dag_id": task.dag_id,
                "run_id": task.run_id,
                "task_id": task.task_id,
                "try_number": task.try_number,
                "minutes": rule.minutes,
                "running_for_seconds": int(ran.total_seconds()),
            },
        )
    return list(found.values())


def _deadline_findings(
    rule: AlertRule, dags: Iterable[str], runs: Sequence[DagRun], now: datetime
) -> list[Finding]:
    day = deadline_of(rule, now)
    if now < day.due or rule.created_at > day.due:
        return []
    done = {
        run.dag_id
        for run in runs
        if run.state == "success"
        and run.end_date is not None
        and day.day_start <= run.end_date <= day.due
    }
    return [
        Finding(
            key=f"deadline:{dag_id}:{day.date}",
            summary=(
                f"DAG {dag_id} had no successful run by {rule.deadline} {rule.timezone} "
                f"on {day.date}"
            ),
            dag_id=dag_id,
            detail={"dag_id": dag_id, "deadline": f"{day.date} {rule.deadline} {rule.timezone}"},
        )
        for dag_id in sorted(set(dags))
        if _matches(rule, dag_id) and dag_id not in done
    ]


def airflow_findings(
    rules: Sequence[AlertRule], airflow: AirflowRuns, now: datetime
) -> dict[str, list[Finding]]:
    """Every Airflow rule's findings, by rule id, from as few API calls as the rules need."""
    rules = [rule for rule in rules if rule.kind in AIRFLOW_KINDS]
    if not rules:
        return {}
    kinds = {rule.kind for rule in rules}
    runs: list[DagRun] = []
    if kinds & {AlertKind.DAG_FAILED, AlertKind.DAG_SUCCEEDED, AlertKind.DAG_DEADLINE}:
        runs = airflow.finished_runs(read_window(rules, now))
    dags = airflow.active_dags() if AlertKind.DAG_DEADLINE in kinds else []
    found: dict[str, list[Finding]] = {}
    for rule in rules:
        if rule.kind in (AlertKind.DAG_FAILED, AlertKind.DAG_SUCCEEDED):
            found[rule.id] = _run_findings(rule, runs, now)
        elif rule.kind == AlertKind.TASK_DURATION:
            limit = timedelta(minutes=rule.minutes or 0)
            tasks = airflow.running_tasks(now - limit)
            tasks += airflow.long_finished_tasks(_since(rule, now), limit.total_seconds())
            found[rule.id] = _task_findings(rule, tasks, now)
        else:
            found[rule.id] = _deadline_findings(rule, dags, runs, now)
    return found


def health_findings(
    session: Session, deployment: Deployment, rules: Sequence[AlertRule]
) -> dict[str, list[Finding]]:
    """Each health rule's findings from the Deployment's timeline: a turn to Unhealthy, and a
    turn back to Healthy from Unhealthy (a recovery), after the rule was created."""
    rules = [rule for rule in rules if rule.kind == AlertKind.DEPLOYMENT_HEALTH]
    if not rules:
        return {}
    oldest = min(rule.created_at for rule in rules)
    lines = list(
        session.scalars(
            select(DeploymentEvent)
            .where(
                DeploymentEvent.deployment_id == deployment.id,
                DeploymentEvent.kind == DeploymentEventKind.PHASE,
                DeploymentEvent.created_at >= oldest - LOOKBACK,
            )
            .order_by(DeploymentEvent.created_at)
        )
    )
    turns: list[tuple[DeploymentEvent, bool]] = []  # (line, recovered)
    previous = ""
    for line in lines:
        phase = line.message.split(":", 1)[0]
        if phase == DeploymentPhase.UNHEALTHY and previous != DeploymentPhase.UNHEALTHY:
            turns.append((line, False))
        elif phase == DeploymentPhase.HEALTHY and previous == DeploymentPhase.UNHEALTHY:
            turns.append((line, True))
        previous = phase
    found: dict[str, list[Finding]] = {}
    for rule in rules:
        found[rule.id] = [
            Finding(
                key=f"health:{line.id}",
                summary=(
                    f"Deployment {deployment.name} recovered: Healthy again"
                    if recovered
                    else f"Deployment {deployment.name} is {line.message}"
                ),
                resolved=recovered,
                detail={"phase": line.message, "at": line.created_at.isoformat()},
            )
            for line, recovered in turns
            if line.created_at >= rule.created_at
        ]
    return found


def _insert_once(session: Session, **values: object) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING on the unique (rule, key): true when this call
    inserted the row. On PostgreSQL a concurrent insert of the same key waits for the other
    transaction and then does nothing, so two workers cannot both win."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(AlertEvent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["rule_id", "event_key"])
        .returning(AlertEvent.id)
    )
    return session.execute(statement).scalar() is not None


def fire(
    session: Session,
    deployment: Deployment,
    rules: Sequence[AlertRule],
    findings: dict[str, list[Finding]],
    *,
    url: str | None,
    now: datetime,
) -> list[AlertEvent]:
    """Record each new finding once and queue its deliveries; the caller commits. A finding
    already recorded (by an earlier pass or another worker) is skipped."""
    by_id = {rule.id: rule for rule in rules}
    fired: list[AlertEvent] = []
    keys = [finding.key[:500] for found in findings.values() for finding in found]
    if not keys:
        return []
    recorded = session.execute(
        select(AlertEvent.rule_id, AlertEvent.event_key).where(
            AlertEvent.rule_id.in_(list(findings)), AlertEvent.event_key.in_(keys)
        )
    )
    known = {(rule_id, key) for rule_id, key in recorded}
    for rule_id, rule_findings in findings.items():
        rule = by_id[rule_id]
        for finding in rule_findings:
            if (rule_id, finding.key[:500]) in known:
                continue
            event_id = new_id()
            if not _insert_once(
                session,
                id=event_id,
                organization_id=deployment.organization_id,
                rule_id=rule.id,
                deployment_id=deployment.id,
                event_key=finding.key[:500],
                summary=finding.summary[:300],
                detail=finding.detail,
                created_at=now,
            ):
                continue  # another worker recorded it first: it alerts once
            event = session.get(AlertEvent, event_id)
            assert event is not None
            alert = Alert(
                id=event.id,
                kind=AlertKind(rule.kind),
                rule=rule.name,
                organization_id=deployment.organization_id,
                deployment=deployment.name,
                summary=finding.summary,
                severity=SEVERITY[AlertKind(rule.kind)],
                created_at=now,
                resolved=finding.resolved,
                url=url,
                detail=finding.detail,
            )
            queue_alert(session, rule, alert, event_id=event.id)
            fired.append(event)
    return fired
