"""The ``local`` runtime: each Deployment is a set of real Airflow processes on this host.

A Deployment's directory is laid out as a ``flightdeck dev`` project, so the dev runner's
supervisor (cached venvs, database migration, components in their own process groups,
health polling) runs it unchanged::

    <root>/<deployment id>/
        .flightdeck/config.yaml     airflow_version
        .flightdeck/airflow/        the control plane's files: run.json, component logs, keys
        airflow-home/               AIRFLOW_HOME as Airflow sees it (metadata DB, task logs):
                                    mounted at .flightdeck/airflow inside the sandbox
        home/                       the processes' HOME
        deployment.json             what this runtime recorded (spec digest, ports, deploys)
        bundles/<deploy id>/        unpacked code bundles (the last few)
        current -> bundles/<id>     switched atomically by a deploy
        dags, include, plugins, requirements.txt -> current/...

Everything lives on disk, so the processes outlive the control plane and the next call
re-attaches. Secret environment values reach only the processes' environment: they are
never written under the directory, and every message is scrubbed of them.

Every Airflow process (and the parse gate) runs in the Deployment's sandbox
(:mod:`flightdeck.devenv.sandbox`): as its own system user when the server runs as root,
seeing only its own directory, venv and processes, and (``FLIGHTDECK_SANDBOX_NETWORK``
isolated) in the Deployment's own network namespace, bridged only for its UI port and its
loopback AWS endpoint. ``airflow-home/`` and ``home/`` are the only places it can write;
the control plane never writes there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from flightdeck.airflow_versions import (
    UnsupportedAirflowVersion,
    airflow_major,
    check_exact_airflow_version,
)
from flightdeck.config import SandboxNetwork
from flightdeck.devenv import netns, sandbox, supervisor, venvs
from flightdeck.devenv.airflow_api import AirflowApi
from flightdeck.devenv.airflow_env import ADMIN_USER, Ports, local_secrets, passwords_file
from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.ports import choose_ports, free_port
from flightdeck.devenv.project import AirflowSettings, Project, ProjectConfig
from flightdeck.runtime import local_layout as layout
from flightdeck.runtime.base import (
    DEFAULT_LOG_LINES,
    EXECUTORS,
    LOG_COMPONENTS,
    ClusterOutputs,
    CodeBundle,
    CodeRejected,
    DeploymentSpec,
    LogRead,
    RuntimeError_,
    RuntimeStatus,
    components_to_restart,
    mask_secrets,
)
from flightdeck.runtime.bundle import CONTENTS, safe_extract
from flightdeck.runtime.local_logs import read_component_logs
from flightdeck.runtime.local_sizing import local_parallelism

log = logging.getLogger(__name__)

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
STARTUP_GRACE = 300.0  # seconds a started Airflow may take to report healthy
RESTART_BACKOFF = 60.0  # a crashed or failed Deployment is restarted at most this often
KEEP_BUNDLES = 3
PARSE_TIMEOUT = 300.0
REFRESH_SECONDS = "5"  # how soon a deploy's new or changed DAG files are seen
TERMINAL_RUN_STATES = ("success", "failed")
# The only variables of the control plane's own environment a Deployment inherits.
PASSED_THROUGH = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ")
HIBERNATED = "hibernated"  # the record's phase while the Deployment sleeps on purpose
HIBERNATING_MESSAGE = "Airflow's processes are stopped; its metadata database and code are kept"
SANDBOX_HOME = "airflow-home"  # the host directory behind AIRFLOW_HOME inside the sandbox


class LocalRuntime:
    """Runs Deployments as Airflow processes under ``root`` (see the module docstring)."""

    name = "local"

    def __init__(
        self,
        root: Path,
        *,
        startup_grace: float = STARTUP_GRACE,
        restart_backoff: float = RESTART_BACKOFF,
        keep_bundles: int = KEEP_BUNDLES,
        max_parallelism: int | None = None,
        isolation: sandbox.Isolation | None = None,
        network: SandboxNetwork = SandboxNetwork.ISOLATED,
    ) -> None:
        self.root = root
        self.isolation = isolation or sandbox.available()
        self.network = network
        self.startup_grace = startup_grace
        self.restart_backoff = restart_backoff
        self.keep_bundles = max(1, keep_bundles)
        self.max_parallelism = max_parallelism
        self._threads: dict[str, threading.Thread] = {}

    # -- the Runtime protocol ---------------------------------------------------------------
    def apply(self, spec: DeploymentSpec, cluster: ClusterOutputs) -> RuntimeStatus:
        """Start Airflow in the background, or restart it when the spec changed or it died.

        Returns at once: the first start (venv, database, processes) runs in a thread and
        ``status`` says ``creating`` meanwhile. Re-applying a running, unchanged spec does
        nothing.
        """
        directory = self.directory(spec)
        _check_spec(spec)
        if spec.hibernated:
            return self._hibernate(spec)
        lock = self._lock(spec)
        if not lock.acquire(blocking=False):  # a start or deploy is under way
            return self.status(spec)
        handed_over = False
        try:
            record = layout.read_record(directory)
            salt = record.get("salt") or secrets.token_hex(16)
            fingerprint = _fingerprint(spec, cluster, salt)
            state = supervisor.read_state(Project(directory))
            alive = state.alive() if state is not None else {}
            running = bool(alive) and all(alive.values())
            if record.get("fingerprint") == fingerprint:
                recently = time.time() - float(record.get("attempted_at", 0)) < self.restart_backoff
                if running or recently:
                    return self.status(spec)
            base, digests = (
                _fingerprint(spec, cluster, salt, with_env=False),
                _env_digests(spec, salt),
            )
            some = self._components_to_restart(state, record, base, digests) if running else ()
            if some:
                record |= {"fingerprint": fingerprint, "base": base, "env": digests}
                self._begin_restart(spec, record, lock, some)
                handed_over = True
                return self.status(spec)
            layout.lay_out(directory, spec.airflow_version)
            record |= {
                "salt": salt,
                "fingerprint": fingerprint,
                "base": base,
                "env": digests,
                "airflow_version": spec.airflow_version,
                "cluster": {"region": cluster.region, "aws_endpoint_url": cluster.aws_endpoint_url},
            }
            self._begin_start(spec, record, lock)
            handed_over = True
            return RuntimeStatus("creating", "Starting Airflow", deploy_id=record.get("deploy_id"))
        finally:
            if not handed_over:
                lock.release()

    def status(self, spec: DeploymentSpec) -> RuntimeStatus:
        """Health from the processes and Airflow's own health endpoint; secrets scrubbed."""
        directory = self.directory(spec)
        if not directory.exists():
            return RuntimeStatus("absent")
        result = self._status(directory, spec)
        return dataclasses.replace(result, message=_scrub(result.message, spec))

    def deploy_code(self, spec: DeploymentSpec, bundle: CodeBundle) -> RuntimeStatus:
        """Unpack, parse with the Deployment's own Airflow, then switch ``current`` atomically.

        Any import error raises :class:`CodeRejected` (file -> its error) and leaves the
        running code as it was. A full deploy builds its requirements' venv before the
        switch and restarts the processes on it (plugins are only read at start-up).
        """
        directory = self.directory(spec)
        if not _ID.match(bundle.deploy_id) or bundle.deploy_id.startswith("_"):
            raise CodeRejected(f"deploy id {bundle.deploy_id!r} is not a valid name")
        if bundle.kind not in CONTENTS:
            raise CodeRejected(f"deploy kind {bundle.kind!r} is not known; use dags or full")
        if not (directory / "deployment.json").exists():
            raise RuntimeError_(
                f"Deployment {spec.name} does not run on this host yet; apply it before "
                "deploying code"
            )
        lock = self._lock(spec)
        lock.acquire()
        handed_over = False
        try:
            record = layout.read_record(directory)
            if record.get("deploy_id") == bundle.deploy_id:
                return self.status(spec)
            self._check_and_unpack(spec, bundle, record)
            layout.switch(directory, bundle.deploy_id)
            history = [d for d in record.get("history", []) if d != bundle.deploy_id]
            record["history"] = [*history, bundle.deploy_id][-self.keep_bundles :]
            record["deploy_id"] = bundle.deploy_id
            layout.write_record(directory, record)
            layout.prune(directory, record["history"])
            if bundle.kind == "full":
                self._begin_start(spec, record, lock)
                handed_over = True
        finally:
            if not handed_over:
                lock.release()
        return self.status(spec)

    def delete(self, spec: DeploymentSpec) -> None:
        """Stop every process (groups, then any straggler) and remove the directory."""
        directory = self.directory(spec)
        lock = self._lock(spec)
        lock.acquire()  # waits for a start in progress, so nothing is spawned after this
        try:
            if directory.exists():
                project = Project(directory)
                supervisor.stop(project, grace=20.0)
                _kill_stragglers(project.airflow_home)
                shutil.rmtree(directory)
            if self.isolation is sandbox.Isolation.USERS:
                sandbox.remove_account(spec.id)
        finally:
            lock.release()  # the lock file stays: a waiter may hold it open

    def _hibernate(self, spec: DeploymentSpec) -> RuntimeStatus:
        """Stop every process and mark the record ``hibernated``; the metadata database, the
        code and the record stay, so the next awake ``apply`` starts the same Airflow at once
        (its fingerprint is unchanged and the restart backoff is cleared)."""
        directory = self.directory(spec)
        lock = self._lock(spec)
        if not lock.acquire(blocking=False):  # a start or deploy is under way: next pass
            return self.status(spec)
        try:
            if not (directory / "deployment.json").exists():
                layout.lay_out(directory, spec.airflow_version)  # asleep before its first start
            if layout.read_record(directory).get("phase") != HIBERNATED:
                project = Project(directory)
                supervisor.stop(project, grace=20.0)
                _kill_stragglers(project.airflow_home)
                layout.update_record(directory, phase=HIBERNATED, attempted_at=0, error=None)
        finally:
            lock.release()
        return self.status(spec)

    # -- operational helpers (not part of the protocol) --------------------------------------
    def stop_all(self) -> list[str]:
        """Stop the processes of every Deployment under ``root``; their files stay.

        For a control plane that stops (or finds processes a killed one left): the record
        says "stopped", so the next ``apply`` starts it at once, without waiting out the
        restart backoff. Returns the ids of the Deployments that had something running.
        """
        stopped: list[str] = []
        if not self.root.is_dir():
            return stopped
        for record in sorted(self.root.glob("*/deployment.json")):
            directory = record.parent
            lock = self._lock_for(directory.name)
            lock.acquire()
            try:
                project = Project(directory)
                if supervisor.stop(project, grace=20.0):
                    stopped.append(directory.name)
                _kill_stragglers(project.airflow_home)
                _mark_stopped(directory)
            finally:
                lock.release()
        return stopped

    def directory(self, spec: DeploymentSpec) -> Path:
        if not _ID.match(spec.id):
            raise RuntimeError_(
                f"Deployment id {spec.id!r} cannot name a directory; use letters, digits, "
                "'.', '_' and '-'"
            )
        return self.root / spec.id

    def credentials(self, spec: DeploymentSpec) -> tuple[str, str, str]:
        """The Airflow UI's URL and its login (user, password) for this Deployment."""
        project = Project(self.directory(spec))
        state = supervisor.read_state(project)
        if state is None:
            raise RuntimeError_(f"Deployment {spec.name} is not running on this host")
        return state.url, ADMIN_USER, local_secrets(project).admin_password

    def wait_until_healthy(self, spec: DeploymentSpec, timeout: float = 600.0) -> RuntimeStatus:
        """Poll ``status`` until healthy; raises with the last message if it is not."""
        deadline = time.monotonic() + timeout
        current = self.status(spec)
        while time.monotonic() < deadline:
            current = self.status(spec)
            if current.health == "healthy":
                return current
            if current.health in ("unhealthy", "absent"):
                raise RuntimeError_(
                    f"Deployment {spec.name} is {current.health}: {current.message}"
                )
            time.sleep(2)
        raise RuntimeError_(
            f"Deployment {spec.name} was not healthy after {timeout:.0f}s: {current.message}"
        )

    def trigger_dag(
        self,
        spec: DeploymentSpec,
        dag_id: str,
        conf: Mapping[str, Any] | None = None,
        timeout: float = 120.0,
    ) -> str:
        """Unpause and trigger ``dag_id`` (waiting until it is parsed); returns the run id."""
        api = self._api(spec)
        try:
            client = api.client()
            deadline = time.monotonic() + timeout
            while client.get(f"{api.prefix}/dags/{dag_id}").status_code != 200:
                if time.monotonic() > deadline:
                    raise RuntimeError_(
                        f"DAG {dag_id!r} did not appear in Deployment {spec.name} within "
                        f"{timeout:.0f}s; check that the deploy holds it"
                    )
                time.sleep(1)
            unpause = client.patch(f"{api.prefix}/dags/{dag_id}", json={"is_paused": False})
            if unpause.status_code != 200:
                raise RuntimeError_(f"Airflow refused to unpause {dag_id!r}: {unpause.text[:200]}")
            body: dict[str, Any] = {"conf": dict(conf or {})}
            if api.major >= 3:
                body["logical_date"] = None
            run = client.post(f"{api.prefix}/dags/{dag_id}/dagRuns", json=body)
            if run.status_code != 200:
                raise RuntimeError_(f"Airflow refused to trigger {dag_id!r}: {run.text[:200]}")
            return str(run.json()["dag_run_id"])
        except DevEnvError as exc:
            raise RuntimeError_(exc.message) from None
        except httpx.HTTPError as exc:
            raise RuntimeError_(
                f"Airflow of Deployment {spec.name} did not answer: {exc}"
            ) from None
        finally:
            api.close()

    def wait_for_run(
        self, spec: DeploymentSpec, dag_id: str, run_id: str, timeout: float = 300.0
    ) -> str:
        """Wait for a DAG run to finish; returns ``success`` or ``failed``."""
        api = self._api(spec)
        try:
            client = api.client()
            deadline = time.monotonic() + timeout
            state = None
            while time.monotonic() < deadline:
                try:
                    response = client.get(f"{api.prefix}/dags/{dag_id}/dagRuns/{run_id}")
                except httpx.TimeoutException:
                    continue  # a busy machine's Airflow may miss one poll; the deadline bounds it
                state = response.json().get("state") if response.status_code == 200 else None
                if state in TERMINAL_RUN_STATES:
                    return str(state)
                time.sleep(1)
        except DevEnvError as exc:
            raise RuntimeError_(exc.message) from None
        except httpx.HTTPError as exc:
            raise RuntimeError_(
                f"Airflow of Deployment {spec.name} did not answer: {exc}"
            ) from None
        finally:
            api.close()
        raise RuntimeError_(f"run {run_id} of {dag_id!r} was still {state} after {timeout:.0f}s")

    def task_log(self, spec: DeploymentSpec, dag_id: str, run_id: str) -> str:
        """Every task log of one DAG run, concatenated (Airflow masks known secrets in them)."""
        logs = self._airflow_files(spec) / "logs" / f"dag_id={dag_id}"
        paths = sorted((logs / f"run_id={run_id}").rglob("*.log"))
        return "\n".join(path.read_text(errors="replace") for path in paths)

    def component_logs(self, spec: DeploymentSpec) -> list[Path]:
        return sorted(supervisor.logs_dir(Project(self.directory(spec))).glob("*.log"))

    def read_logs(
        self,
        spec: DeploymentSpec,
        components: Sequence[str] = LOG_COMPONENTS,
        *,
        since: datetime | None = None,
        tail: int = DEFAULT_LOG_LINES,
        offsets: Mapping[str, int] | None = None,
    ) -> LogRead:
        """The components' log lines (see :mod:`local_logs`), the Deployment's secret
        values replaced by ``***``."""
        project = Project(self.directory(spec))
        files = {name: supervisor.component_log(project, name) for name in components}
        return read_component_logs(
            files, lambda line: _scrub(line, spec), since=since, tail=tail, offsets=offsets
        )

    # -- starting ---------------------------------------------------------------------------
    def _lock(self, spec: DeploymentSpec) -> layout.FileLock:
        return self._lock_for(self.directory(spec).name)

    def _lock_for(self, deployment_id: str) -> layout.FileLock:
        # Kept beside, not inside, the Deployment's directory so delete can remove that.
        return layout.FileLock(self.root / ".locks" / f"{deployment_id}.lock")

    def _begin_start(
        self, spec: DeploymentSpec, record: dict[str, Any], lock: layout.FileLock
    ) -> None:
        """Record the attempt and (re)start in a thread that releases ``lock`` when done."""
        directory = self.directory(spec)
        record |= {"phase": "starting", "attempted_at": time.time(), "error": None}
        layout.write_record(directory, record)
        thread = threading.Thread(
            target=self._start, args=(spec, lock), name=f"flightdeck-start-{spec.id}", daemon=True
        )
        self._threads[spec.id] = thread
        thread.start()

    @staticmethod
    def _components_to_restart(
        state: supervisor.RunState | None,
        record: Mapping[str, Any],
        base: str,
        digests: Mapping[str, str],
    ) -> tuple[str, ...]:
        """The components an environment-only change restarts, when that is not all of
        them (``()``: restart everything, as for any other change)."""
        before = record.get("env")
        if state is None or record.get("base") != base or not isinstance(before, dict):
            return ()
        changed = {k for k in set(before) | set(digests) if before.get(k) != digests.get(k)}
        names = supervisor.components_for(airflow_major(state.airflow_version))
        some = components_to_restart(changed, names)
        return some if changed and len(some) < len(names) else ()

    def _begin_restart(
        self,
        spec: DeploymentSpec,
        record: dict[str, Any],
        lock: layout.FileLock,
        components: tuple[str, ...],
    ) -> None:
        """Restart only ``components`` in a thread that releases ``lock`` when done; the
        record says ``starting`` meanwhile, so status reports ``creating``, not a crash."""
        record |= {"phase": "starting", "attempted_at": time.time(), "error": None}
        layout.write_record(self.directory(spec), record)
        thread = threading.Thread(
            target=self._restart,
            args=(spec, lock, components),
            name=f"flightdeck-restart-{spec.id}",
            daemon=True,
        )
        self._threads[spec.id] = thread
        thread.start()

    def _restart(
        self, spec: DeploymentSpec, lock: layout.FileLock, components: tuple[str, ...]
    ) -> None:
        directory = self.directory(spec)
        try:
            record = layout.read_record(directory)
            prepared = self._prepare(spec, record, directory / "requirements.txt")
            ports = Ports(**record["ports"])
            env = supervisor.environment(prepared, ports, _base_environment(directory))
            supervisor.restart_components(prepared, ports, env, components)
            layout.update_record(directory, phase="started", started_at=time.time(), error=None)
            log.info("Deployment %s: restarted %s", spec.id, ", ".join(components))
        except Exception as exc:  # reported by status(); the thread must not die silently
            message = _scrub(exc.message if isinstance(exc, DevEnvError) else str(exc), spec)
            log.warning("Deployment %s: restarting %s failed: %s", spec.id, components, message)
            with contextlib.suppress(OSError):
                layout.update_record(directory, phase="failed", error=message)
        finally:
            self._threads.pop(spec.id, None)
            lock.release()

    def _start(self, spec: DeploymentSpec, lock: layout.FileLock) -> None:
        directory = self.directory(spec)
        try:
            project = Project(directory)
            supervisor.stop(project)
            _kill_stragglers(project.airflow_home)
            record = layout.read_record(directory)
            prepared = self._prepare(spec, record, directory / "requirements.txt")
            ports = self._choose_ports(directory, record)
            env = supervisor.environment(prepared, ports, _base_environment(directory))
            supervisor.launch(prepared, ports, env, lambda _message: None)
            layout.update_record(directory, phase="started", started_at=time.time(), error=None)
        except Exception as exc:  # reported by status(); the thread must not die silently
            message = _scrub(exc.message if isinstance(exc, DevEnvError) else str(exc), spec)
            log.warning("Deployment %s did not start: %s", spec.id, message)
            with contextlib.suppress(OSError):
                layout.update_record(directory, phase="failed", error=message)
        finally:
            self._threads.pop(spec.id, None)
            lock.release()

    def _prepare(
        self, spec: DeploymentSpec, record: Mapping[str, Any], requirements: Path
    ) -> supervisor.Prepared:
        """The dev runner's view of this Deployment (its venv built if needed)."""
        project = Project(self.directory(spec))
        config = ProjectConfig(airflow_version=spec.airflow_version)
        venv = venvs.ensure_venv(spec.airflow_version, requirements)
        dotenv = self._environment_values(spec, record, project)
        # Only the platform's own endpoint is bridged, never one the user's variables name.
        aws = netns.loopback_port((record.get("cluster") or {}).get("aws_endpoint_url"))
        contained = self.sandbox_for(spec, venv, () if aws is None else (aws,))
        return supervisor.Prepared(project, config, AirflowSettings(), dotenv, venv, [], contained)

    def sandbox_for(
        self, spec: DeploymentSpec, venv: Path, outbound: tuple[int, ...] = ()
    ) -> sandbox.Sandbox:
        """What this Deployment's processes see, run as and reach (the module docstring);
        ``outbound``: the host loopback ports its network namespace may reach."""
        directory = self.directory(spec)
        project = Project(directory)
        if self.isolation is sandbox.Isolation.SINGLE_TENANT:
            return sandbox.Sandbox(self.isolation, directory)
        prefix = sandbox.interpreter_prefix(venvs.venv_python(venv))
        account = (
            sandbox.ensure_account(spec.id) if self.isolation is sandbox.Isolation.USERS else None
        )
        return sandbox.Sandbox(
            self.isolation,
            directory,
            writable={
                project.airflow_home: directory / SANDBOX_HOME,
                directory / "home": directory / "home",
            },
            readable=(venv,) if prefix is None else (venv, prefix),
            handed=(passwords_file(project),),
            account=account,
            network=self.network,
            outbound=outbound,
        )

    def _airflow_files(self, spec: DeploymentSpec) -> Path:
        """Where Airflow's own files (metadata DB, task logs) are on this host."""
        directory = self.directory(spec)
        if self.isolation is sandbox.Isolation.SINGLE_TENANT:
            return Project(directory).airflow_home
        return directory / SANDBOX_HOME

    def _environment_values(
        self, spec: DeploymentSpec, record: Mapping[str, Any], project: Project
    ) -> dict[str, str]:
        """Tuning defaults < the user's variables < what the platform decides."""
        cluster = record.get("cluster") or {}
        requested = spec.max_running_tasks  # every queue's: LocalExecutor ignores queues
        parallelism = local_parallelism(requested, self.max_parallelism)
        values = {
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": REFRESH_SECONDS,
            "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL": REFRESH_SECONDS,
        }
        if cluster.get("region"):
            values["AWS_DEFAULT_REGION"] = str(cluster["region"])
        if cluster.get("aws_endpoint_url"):
            values["AWS_ENDPOINT_URL"] = str(cluster["aws_endpoint_url"])
        values |= dict(spec.environment)
        values |= dict(spec.secret_environment)
        values |= {
            "AIRFLOW__CORE__EXECUTOR": local_executor(spec.airflow_version),
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__DAGS_FOLDER": str(project.dags_dir),
            "AIRFLOW__CORE__FERNET_KEY": layout.fernet_key(project),
        }
        return values

    def _choose_ports(self, directory: Path, record: dict[str, Any]) -> Ports:
        """Keep the recorded ports when free; never one another Deployment was given."""
        lock = layout.FileLock(self.root / ".locks" / "ports.lock")
        lock.acquire()
        try:
            taken: set[int] = set()
            for other in self.root.glob("*/deployment.json"):
                if other.parent != directory:
                    with contextlib.suppress(ValueError, OSError):
                        taken.update(json.loads(other.read_text()).get("ports", {}).values())
            preferred = record.get("ports") or {
                role: free_port() for role in ("api", "worker_logs", "trigger_logs")
            }
            ports = Ports(**choose_ports(dict(preferred), frozenset(taken)))
            layout.update_record(directory, ports=ports.as_dict())
            return ports
        finally:
            lock.release()

    # -- deploys ----------------------------------------------------------------------------
    def _check_and_unpack(
        self, spec: DeploymentSpec, bundle: CodeBundle, record: dict[str, Any]
    ) -> None:
        """Leave ``bundles/<deploy id>`` ready to switch to, or raise and leave nothing."""
        directory = self.directory(spec)
        incoming = directory / "bundles" / f".incoming-{bundle.deploy_id}"
        shutil.rmtree(incoming, ignore_errors=True)
        safe_extract(bundle.archive, incoming, allowed=CONTENTS[bundle.kind])
        try:
            if bundle.kind == "dags":  # a DAG-only deploy keeps the rest of the running code
                layout.carry_over(directory / "current", incoming)
            try:
                prepared = self._prepare(spec, record, incoming / "requirements.txt")
            except DevEnvError as exc:
                raise CodeRejected(
                    f"requirements.txt could not be installed: {exc.message}",
                    {"requirements.txt": exc.message},
                ) from None
            self._parse(spec, prepared, record, incoming)
            target = directory / "bundles" / bundle.deploy_id
            shutil.rmtree(target, ignore_errors=True)
            incoming.rename(target)
        except BaseException:
            shutil.rmtree(incoming, ignore_errors=True)
            raise

    def _parse(
        self,
        spec: DeploymentSpec,
        prepared: supervisor.Prepared,
        record: Mapping[str, Any],
        bundle_dir: Path,
    ) -> None:
        ports = Ports(**(record.get("ports") or {"api": 0, "worker_logs": 0, "trigger_logs": 0}))
        env = supervisor.environment(prepared, ports, _base_environment(self.directory(spec)))
        env |= {
            "AIRFLOW__CORE__DAGS_FOLDER": str(bundle_dir / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(bundle_dir / "plugins"),
            "PYTHONPATH": str(bundle_dir),  # `include.*` from the new bundle, not the old
            "PYTHONDONTWRITEBYTECODE": "1",  # bundles stay as uploaded
        }
        try:
            if not (self._airflow_files(spec) / "airflow.db").exists():
                supervisor.ensure_database(prepared, env, lambda _message: None)
            with self._parse_network(prepared) as holder:
                _dags, errors = supervisor.parse_dag_folder(
                    prepared.python,
                    env,
                    bundle_dir / "dags",
                    bundle_dir,
                    timeout=PARSE_TIMEOUT,
                    sandbox=prepared.sandbox,
                    holder=holder,
                )
        except DevEnvError as exc:
            raise CodeRejected(_scrub(exc.message, spec)) from None
        if errors:
            problems = {
                path: _scrub(line, spec)
                for path, line in supervisor.import_error_summary(errors, bundle_dir).items()
            }
            first, line = next(iter(problems.items()))
            raise CodeRejected(
                f"{len(problems)} DAG file(s) failed to import, nothing was deployed; "
                f"{first}: {line}",
                problems,
            )

    @contextlib.contextmanager
    def _parse_network(self, prepared: supervisor.Prepared) -> Iterator[netns.Holder | None]:
        """The parse gate's own network namespace: nothing but its AWS endpoint bridged."""
        contained = prepared.sandbox
        if contained is None or not contained.isolates_network:
            yield None
            return
        project = prepared.project
        logs = supervisor.logs_dir(project)
        logs.mkdir(parents=True, exist_ok=True)
        with netns.bridged(
            supervisor.network_dir(project, "parse-network"),
            logs / "parse-network.log",
            contained.isolation is sandbox.Isolation.NAMESPACE,
            contained.outbound,
            {key: os.environ[key] for key in PASSED_THROUGH if key in os.environ},
        ) as holder:
            yield holder

    # -- health -----------------------------------------------------------------------------
    def _status(self, directory: Path, spec: DeploymentSpec) -> RuntimeStatus:
        record = layout.read_record(directory)
        deploy_id = record.get("deploy_id")
        project = Project(directory)
        state = supervisor.read_state(project)
        phase = record.get("phase")
        if phase == "starting":
            if spec.id in self._threads or self._lock(spec).held_elsewhere():
                return RuntimeStatus("creating", "Starting Airflow", deploy_id=deploy_id)
            return RuntimeStatus(
                "unhealthy",
                "The start was interrupted (the control plane stopped); the next apply retries",
                deploy_id=deploy_id,
            )
        if phase == HIBERNATED:
            return RuntimeStatus("hibernating", HIBERNATING_MESSAGE, deploy_id=deploy_id)
        if phase == "stopped":
            return RuntimeStatus(
                "creating",
                "Stopped with the control plane; the next apply starts it again",
                deploy_id=deploy_id,
            )
        if phase == "failed":
            return RuntimeStatus(
                "unhealthy", f"Airflow could not start: {record.get('error')}", deploy_id=deploy_id
            )
        if state is None:
            return RuntimeStatus(
                "unhealthy", "Airflow is not running; the next apply starts it", deploy_id=deploy_id
            )
        major = airflow_major(state.airflow_version)
        alive = state.alive()
        names = supervisor.components_for(major)
        # The network bridge is watched too: without it the UI is out of reach.
        watched = (*names, supervisor.NETWORK) if supervisor.NETWORK in alive else names
        dead = [name for name in watched if not alive.get(name, False)]
        if state.api_is_ours() is False:
            return _port_taken(state, deploy_id)
        bad = supervisor.unhealthy_components(supervisor.health(state.url, major), major)
        components = {name: name not in dead and name not in bad for name in names}
        if dead:
            culprit, verb = dead[0], "is not running"
        elif not bad:
            return RuntimeStatus(
                "healthy", "", state.url, components, deploy_id, run_id=_run_id(state)
            )
        elif time.time() - float(record.get("started_at") or 0) < self.startup_grace:
            waiting = ", ".join(bad)
            message = f"Waiting for {waiting} to report healthy"
            return RuntimeStatus("creating", message, state.url, components, deploy_id)
        else:
            culprit, verb = bad[0], "is not healthy"
        last = supervisor.last_error_line(supervisor.component_log(project, culprit))
        message = f"{culprit} {verb}: {last}"
        return RuntimeStatus("unhealthy", message, state.url, components, deploy_id)

    def airflow_api(self, spec: DeploymentSpec) -> AirflowApi:
        """A client of the Deployment's own Airflow REST API, signed in as its admin (the
        alert evaluator and the Airflow-object routes go through it)."""
        return self._api(spec)

    def _api(self, spec: DeploymentSpec) -> AirflowApi:
        url, user, password = self.credentials(spec)
        state = supervisor.read_state(Project(self.directory(spec)))
        major = airflow_major(state.airflow_version) if state else 3
        return AirflowApi(url, major, user, password)


# -- helpers --------------------------------------------------------------------------------
def local_executor(airflow_version: str) -> str:
    """What a local Deployment really runs, whatever executor it asked Kubernetes for.

    One machine has no Celery broker or Kubernetes cluster: tasks run as local processes.
    """
    return "LocalExecutor" if airflow_major(airflow_version) >= 3 else "SequentialExecutor"


def _check_spec(spec: DeploymentSpec) -> None:
    try:
        check_exact_airflow_version(spec.airflow_version, "airflow_version")
    except UnsupportedAirflowVersion as exc:
        raise RuntimeError_(str(exc)) from None
    if spec.executor not in EXECUTORS:
        raise RuntimeError_(f"executor {spec.executor!r}: use one of {', '.join(EXECUTORS)}")
    queue = spec.worker_queue
    if queue.max_workers < 1 or queue.tasks_per_worker < 1:
        raise RuntimeError_("worker_queue: max_workers and tasks_per_worker must be at least 1")


def _fingerprint(
    spec: DeploymentSpec, cluster: ClusterOutputs, salt: str, *, with_env: bool = True
) -> str:
    """A salted digest of everything that needs a restart when it changes (``with_env``
    false: all but the environment, whose variables :func:`_env_digests` tells apart).

    Salted because the secret values go into it and the digest is stored on disk.
    """
    material: dict[str, Any] = {
        "airflow_version": spec.airflow_version,
        "executor": spec.executor,
        "scheduler": [spec.scheduler_size, spec.scheduler_count],
        "queue": [spec.worker_queue.max_workers, spec.worker_queue.tasks_per_worker]
        + [[q.name, q.max_workers, q.tasks_per_worker] for q in spec.extra_queues],
        "environment": sorted(spec.environment.items()),
        "secret_environment": sorted(spec.secret_environment.items()),
        "cluster": [cluster.region, cluster.aws_endpoint_url],
    }
    if not with_env:
        del material["environment"], material["secret_environment"]
    text = salt + json.dumps(material, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _env_digests(spec: DeploymentSpec, salt: str) -> dict[str, str]:
    """One salted digest per variable, so a later apply knows which ones changed."""
    values = {**spec.environment, **spec.secret_environment}
    return {
        key: hashlib.sha256(f"{salt}{key}={value}".encode()).hexdigest()[:32]
        for key, value in sorted(values.items())
    }


def _scrub(text: str, spec: DeploymentSpec) -> str:
    return mask_secrets(text, spec)


def _base_environment(directory: Path) -> dict[str, str]:
    """A clean start: no control-plane variables, and a HOME (and AWS files) of its own."""
    env = {key: os.environ[key] for key in PASSED_THROUGH if key in os.environ}
    home = directory / "home"
    env |= {
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
    }
    return env


def _port_taken(state: supervisor.RunState, deploy_id: str | None) -> RuntimeStatus:
    """Another program answers on this Deployment's port: never report its health as ours."""
    port = state.ports["api"]
    return RuntimeStatus(
        "unhealthy",
        f"port {port} is taken by another program; the next apply starts Airflow on another port",
        deploy_id=deploy_id,
    )


def _mark_stopped(directory: Path) -> None:
    """Stopped on purpose: not a crash to back off from, and not a start in progress."""
    record = layout.read_record(directory)
    if record.get("phase") in ("started", "starting", "failed"):
        layout.update_record(directory, phase="stopped", attempted_at=0, error=None)


def _run_id(state: supervisor.RunState) -> str | None:
    """A public name for this start of the processes (their run token stays private)."""
    if not state.token:
        return None
    return hashlib.sha256(state.token.encode()).hexdigest()[:12]


def _kill_stragglers(airflow_home: Path) -> None:
    """End processes of this Deployment that left its process groups (Linux ``/proc``).

    Task processes may start sessions of their own; they still carry the Deployment's
    AIRFLOW_HOME, which is how they are found.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return
    marker = f"AIRFLOW_HOME={airflow_home}\0".encode()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        found = []
        for entry in proc.iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                if marker in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        if not found:
            return
        time.sleep(2)
