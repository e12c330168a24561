"""The local runtime with real Airflow 3, a real AWS emulator and real code bundles.

One Deployment is started for the module (Airflow takes minutes to start) and each test
takes it through one part of its life: apply (creating -> healthy), a full deploy whose
DAG runs and reads a Secrets Manager variable from the emulator, a rejected broken deploy
that leaves the previous code running, a DAG-only deploy, a crashed component and a
changed spec, delete. Each test asks for the state it needs (``healthy`` or ``deployed``)
and asserts against what it set up itself, never against what an earlier test left, so
any one of them passes alone and in any order; Airflow is started again only after a test
deleted it. The fast tests at the end need no Airflow.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import httpx
import pytest

from devenv.cli_helpers import VENV_CACHE
from flightdeck.aws.emulator import RunningEmulator
from flightdeck.devenv import venvs
from flightdeck.devenv.project import Project
from flightdeck.devenv.supervisor import component_log, read_state
from flightdeck.runtime.base import (
    ClusterOutputs,
    CodeBundle,
    CodeRejected,
    DeploymentSpec,
    RuntimeError_,
    WorkerQueue,
)
from flightdeck.runtime.bundle import build_bundle
from flightdeck.runtime.local import LocalRuntime

AIRFLOW_VERSION = "3.3.2"
TOKEN = "tok-9f8e7d6c5b4a-deploy-secret"
GREETING = "hello-from-secrets-manager"
GREETING_SECRET = "airflow/variables/greeting"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")

DAG = """
import hashlib
import os

import pendulum
from airflow.sdk import Variable, dag, task

from include.helpers import prefix


@dag(dag_id="deployed_pipeline", schedule=None, catchup=False,
     start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
def deployed_pipeline():
    @task
    def check() -> None:
        digest = hashlib.sha256(os.environ["DEPLOY_TOKEN"].encode()).hexdigest()
        assert digest == "{digest}", "the secret environment variable did not arrive"
        print(f"{{prefix()}} plain={{os.environ['PLAIN']}} variable={{Variable.get('greeting')}} "
              f"endpoint={{os.environ['AWS_ENDPOINT_URL']}} revision={revision}")

    check()


deployed_pipeline()
"""

BROKEN_DAG = "from airflow.sdk import dag\n\nimport module_that_is_not_installed\n"


@dataclass
class Running:
    runtime: LocalRuntime
    spec: DeploymentSpec
    cluster: ClusterOutputs
    emulator: RunningEmulator
    project: Path  # the user's project the bundles are built from
    first_apply: str = ""  # what the (latest) first apply returned
    seen: list[str] = field(default_factory=list)  # health values until it was healthy
    revision: int = 1  # the revision the project's DAG prints
    deployed_revision: int | None = None  # the revision of the code Airflow runs
    base_deploys: int = 0

    @property
    def directory(self) -> Path:
        return self.runtime.directory(self.spec)

    def create(self) -> None:
        """Apply the spec to a Deployment that does not exist and wait for it to be healthy."""
        first = self.runtime.apply(self.spec, self.cluster)
        self.first_apply, self.seen = first.health, [first.health]
        self.deployed_revision = None
        deadline = time.monotonic() + 900
        while self.seen[-1] == "creating" and time.monotonic() < deadline:
            time.sleep(2)
            self.seen.append(self.runtime.status(self.spec).health)

    def ensure_healthy(self) -> None:
        """Airflow running for ``spec``: created again if a test deleted it, restarted if a
        test left a component dead; and the variable its DAG reads in Secrets Manager."""
        status = self.runtime.status(self.spec)
        if status.health == "absent":
            self.create()
        elif status.health != "healthy":
            self.runtime.apply(self.spec, self.cluster)
            self.runtime.wait_until_healthy(self.spec, timeout=300)
        assert self.runtime.status(self.spec).health == "healthy", self.seen
        secrets = self.customer_client("secretsmanager")
        try:
            secrets.describe_secret(SecretId=GREETING_SECRET)
        except secrets.exceptions.ResourceNotFoundException:  # first use, or an emulator reset
            secrets.create_secret(Name=GREETING_SECRET, SecretString=GREETING)

    def ensure_code(self) -> None:
        """Some code deployed, with include/ (a full deploy), when none is yet."""
        if self.runtime.status(self.spec).deploy_id is None:
            self.base_deploys += 1
            self.deploy(f"base{self.base_deploys}", kind="full")
            self.runtime.wait_until_healthy(self.spec, timeout=300)

    def customer_client(self, service: str) -> Any:
        credentials = self.emulator.customer_credentials()
        return boto3.client(
            service,
            region_name="us-east-1",
            endpoint_url=self.emulator.endpoint_url,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
        )

    def write_revision(self, revision: int) -> None:
        _write_project(self.project, revision)
        self.revision = revision

    def deploy(self, deploy_id: str, kind: str = "dags") -> None:
        archive = self.project.parent / f"{deploy_id}.tar.gz"
        archive.write_bytes(build_bundle(self.project, kind))  # type: ignore[arg-type]
        self.runtime.deploy_code(self.spec, CodeBundle(deploy_id, archive, kind))  # type: ignore[arg-type]
        self.deployed_revision = self.revision

    def run(self, dag_id: str = "deployed_pipeline") -> str:
        run_id = self.runtime.trigger_dag(self.spec, dag_id)
        state = self.runtime.wait_for_run(self.spec, dag_id, run_id, timeout=240)
        log = self.runtime.task_log(self.spec, dag_id, run_id)
        assert state == "success", log[-3000:]
        return log

    def pids(self) -> dict[str, int]:
        state = read_state(Project(self.directory))
        assert state is not None
        return dict(state.pids)


def _write_project(root: Path, revision: int) -> None:
    (root / "dags").mkdir(parents=True, exist_ok=True)
    (root / "include").mkdir(exist_ok=True)
    (root / "include" / "__init__.py").write_text("")
    (root / "include" / "helpers.py").write_text("def prefix() -> str:\n    return 'deployed:'\n")
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    (root / "dags" / "pipeline.py").write_text(DAG.format(digest=digest, revision=revision))


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory, aws_emulator: RunningEmulator
) -> Iterator[Running]:
    base = tmp_path_factory.mktemp("local-runtime")
    credentials = aws_emulator.customer_credentials()
    spec = DeploymentSpec(
        id="dep-local-1",
        name="analytics",
        organization_id="org-1",
        airflow_version=AIRFLOW_VERSION,
        executor="CeleryExecutor",
        worker_queue=WorkerQueue(max_workers=2, tasks_per_worker=2),
        environment={
            "PLAIN": "v1",
            "AIRFLOW__SECRETS__BACKEND": (
                "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
            ),
            "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(
                {
                    "connections_prefix": "airflow/connections",
                    "variables_prefix": "airflow/variables",
                }
            ),
        },
        secret_environment={**credentials.as_env(), "DEPLOY_TOKEN": TOKEN},
    )
    cluster = ClusterOutputs(
        cluster_id="cl-1",
        name="main",
        region="us-east-1",
        account_id=aws_emulator.customer_account_id,
        aws_endpoint_url=aws_emulator.endpoint_url,
    )
    project = base / "project"
    _write_project(project, revision=1)
    runtime = LocalRuntime(base / "deployments", restart_backoff=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FLIGHTDECK_DEV_CACHE_DIR", VENV_CACHE)
        started = Running(runtime, spec, cluster, aws_emulator, project)
        started.create()
        try:
            yield started
        finally:
            runtime.delete(spec)


@pytest.fixture
def healthy(running: Running) -> Running:
    """The module's Deployment, healthy (whatever the previous test did to it)."""
    running.ensure_healthy()
    return running


@pytest.fixture
def deployed(healthy: Running) -> Running:
    """The module's Deployment, healthy and running deployed code."""
    healthy.ensure_code()
    return healthy


@pytest.mark.slow
def test_apply_is_creating_then_healthy_and_reapplying_changes_nothing(healthy: Running) -> None:
    running = healthy
    assert running.first_apply == "creating"
    assert running.seen[0] == "creating" and running.seen[-1] == "healthy", running.seen
    status = running.runtime.status(running.spec)
    assert status.health == "healthy" and status.message == ""
    assert status.components == dict.fromkeys(COMPONENTS, True)
    state = read_state(Project(running.directory))
    assert state is not None and state.token
    assert status.run_id and state.token not in repr(status)  # names the start, hides its token
    url, user, password = running.runtime.credentials(running.spec)
    assert status.url == url and url.startswith("http://127.0.0.1:") and user == "admin"
    assert password
    pids = running.pids()
    again = running.runtime.apply(running.spec, running.cluster)
    assert again.health == "healthy" and running.pids() == pids
    # A control plane that restarted re-attaches from what is on disk.
    code = (
        "from pathlib import Path; from flightdeck.runtime.local import LocalRuntime; "
        "from flightdeck.runtime.base import DeploymentSpec; "
        f"s = DeploymentSpec(id={running.spec.id!r}, name='x', organization_id='o', "
        f"airflow_version={AIRFLOW_VERSION!r}); "
        f"print(LocalRuntime(Path({str(running.runtime.root)!r})).status(s).health)"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == "healthy"


@pytest.mark.slow
def test_a_full_deploy_runs_its_dag_with_include_and_the_emulator(
    healthy: Running, aws_emulator: RunningEmulator
) -> None:
    running = healthy
    before = read_state(Project(running.directory))
    # A requirement already in Airflow's closure: a new venv, built quickly from uv's cache.
    (running.project / "requirements.txt").write_text("pendulum\n")
    running.deploy("d1", kind="full")
    status = running.runtime.wait_until_healthy(running.spec, timeout=300)  # restarted on it
    assert status.deploy_id == "d1"
    after = read_state(Project(running.directory))
    assert before is not None and after is not None
    assert Path(after.venv).name == venvs.venv_key(AIRFLOW_VERSION, ["pendulum"])
    assert after.venv != before.venv and set(after.pids.values()).isdisjoint(before.pids.values())
    assert (
        Path(os.path.realpath(running.directory / "dags"))
        == (running.directory / "bundles" / "d1" / "dags").resolve()
    )
    log = running.run()
    plain = running.spec.environment["PLAIN"]
    expected = f"deployed: plain={plain} variable={GREETING} endpoint={aws_emulator.endpoint_url}"
    assert f"{expected} revision={running.revision}" in log


@pytest.mark.slow
def test_a_broken_deploy_is_rejected_and_the_previous_code_keeps_running(
    deployed: Running,
) -> None:
    running = deployed
    previous = running.runtime.status(running.spec).deploy_id
    (running.project / "dags" / "broken.py").write_text(BROKEN_DAG)
    try:
        with pytest.raises(CodeRejected) as caught:
            running.deploy("d2")
    finally:
        (running.project / "dags" / "broken.py").unlink()
    assert caught.value.errors == {
        "dags/broken.py": "ModuleNotFoundError: No module named 'module_that_is_not_installed' "
        "(line 3)"
    }
    assert str(caught.value).startswith("1 DAG file(s) failed to import, nothing was deployed")
    assert running.runtime.status(running.spec).deploy_id == previous
    assert os.readlink(running.directory / "current") == f"bundles/{previous}"
    assert not (running.directory / "bundles" / "d2").exists()
    assert f"revision={running.deployed_revision}" in running.run()
    requirements = running.project / "requirements.txt"
    kept = requirements.read_text() if requirements.exists() else ""
    requirements.write_text("flightdeck-no-such-package-0000==1.0\n")
    try:
        with pytest.raises(CodeRejected, match=r"requirements\.txt could not be installed") as bad:
            running.deploy("d2-full", kind="full")
    finally:
        requirements.write_text(kept)
    assert list(bad.value.errors) == ["requirements.txt"]
    assert os.readlink(running.directory / "current") == f"bundles/{previous}"
    assert running.runtime.status(running.spec).health == "healthy"


@pytest.mark.slow
def test_a_dag_only_deploy_switches_without_a_restart_and_keeps_include(
    deployed: Running,
) -> None:
    running = deployed
    pids = running.pids()
    revision = running.revision + 1
    running.write_revision(revision)
    running.deploy("d3")
    assert running.runtime.status(running.spec).deploy_id == "d3"
    assert os.readlink(running.directory / "current") == "bundles/d3"
    assert running.pids() == pids
    deadline = time.monotonic() + 120
    log = running.run()
    while f"revision={revision}" not in log and time.monotonic() < deadline:  # file re-read
        time.sleep(2)
        log = running.run()
    assert f"deployed: plain={running.spec.environment['PLAIN']}" in log
    assert f"revision={revision}" in log


@pytest.mark.slow
def test_a_dead_component_is_named_and_a_changed_spec_restarts(deployed: Running) -> None:
    running = deployed
    before = running.runtime.status(running.spec)
    previous = before.deploy_id
    pids = running.pids()
    os.killpg(pids["triggerer"], signal.SIGKILL)
    deadline = time.monotonic() + 30
    status = running.runtime.status(running.spec)
    while status.health == "healthy" and time.monotonic() < deadline:
        time.sleep(0.5)
        status = running.runtime.status(running.spec)
    assert status.health == "unhealthy"
    assert status.message.startswith("triggerer is not running: ")
    assert status.components["triggerer"] is False and status.components["scheduler"] is True
    plain = f"v{int(running.spec.environment['PLAIN'].removeprefix('v')) + 1}"
    changed = replace(running.spec, environment={**running.spec.environment, "PLAIN": plain})
    assert running.runtime.apply(changed, running.cluster).health == "creating"
    running.spec = changed
    after = running.runtime.wait_until_healthy(changed, timeout=300)
    assert after.deploy_id == previous
    assert after.run_id and after.run_id != before.run_id  # a new start of the processes
    assert set(running.pids().values()).isdisjoint(pids.values())
    assert f"deployed: plain={plain}" in running.run()


@pytest.mark.slow
def test_secret_values_never_reach_disk_logs_or_status(healthy: Running) -> None:
    running = healthy
    status = running.runtime.status(running.spec)
    secrets = [TOKEN, running.spec.secret_environment["AWS_SECRET_ACCESS_KEY"]]
    assert not any(secret in repr(status) for secret in secrets)
    assert running.runtime.component_logs(running.spec)  # there are logs to look at
    leaking = [
        str(path)
        for path in running.directory.rglob("*")
        if path.is_file()
        and not path.is_symlink()
        and any(secret.encode() in path.read_bytes() for secret in secrets)
    ]
    assert leaking == []


@pytest.mark.slow
def test_the_login_gets_into_its_airflow_and_the_scheduler_log_reads_back_masked(
    healthy: Running,
) -> None:
    """What `deployment airflow-login` and `deployment logs` serve, from the real runtime."""
    running = healthy
    url, username, password = running.runtime.credentials(running.spec)
    token = httpx.post(f"{url}/auth/token", json={"username": username, "password": password},
                       timeout=60)
    assert token.status_code in (200, 201), token.text
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert httpx.get(f"{url}/api/v2/dags", headers=bearer, timeout=60).status_code == 200
    wrong = httpx.post(f"{url}/auth/token", json={"username": username, "password": "nope"},
                       timeout=60)
    assert wrong.status_code in (401, 403)

    read = running.runtime.read_logs(running.spec, ("scheduler",), tail=50)
    assert read.lines and {line.component for line in read.lines} == {"scheduler"}
    assert read.offsets["scheduler"] > 0
    assert any(line.timestamp is not None for line in read.lines)
    secrets = [TOKEN, running.spec.secret_environment["AWS_SECRET_ACCESS_KEY"]]
    assert not any(secret in line.line for line in read.lines for secret in secrets)
    # Masking is the runtime's: a secret of the spec in a line comes back as ***.
    needle = next(line.line[-12:] for line in read.lines if len(line.line) >= 12)
    masked = replace(running.spec, secret_environment={"X": needle})
    again = running.runtime.read_logs(masked, ("scheduler",), tail=5000)
    assert not any(needle in line.line for line in again.lines)
    assert any(line.line.endswith("***") for line in again.lines)


@pytest.mark.slow
def test_delete_stops_every_process_and_frees_the_ports(healthy: Running) -> None:
    running = healthy
    state = read_state(Project(running.directory))
    assert state is not None
    home = f"AIRFLOW_HOME={Project(running.directory).airflow_home}\0".encode()
    before = _processes_with(home)
    assert set(state.pids.values()) <= before
    running.runtime.delete(running.spec)
    assert not running.directory.exists()
    assert _processes_with(home) == set()
    assert all(_can_listen(port) for port in state.ports.values())
    assert running.runtime.status(running.spec).health == "absent"
    running.runtime.delete(running.spec)  # already gone: nothing to do


@pytest.mark.slow
def test_a_scheduled_sleep_leaves_no_airflow_process_and_the_scheduled_wake_runs_the_dag(
    deployed: Running, migrated_sqlite_template: Path, tmp_path: Path
) -> None:
    """The module's Airflow driven by the real deployment worker over a real database, its
    clock set by the test: the schedule puts it to sleep, then wakes it with its code."""
    import shutil

    from flightdeck.config import Settings
    from flightdeck.db.engine import make_engine, make_session_factory
    from flightdeck.db.models import AwsAccount, Cluster, Deployment, Organization, Workspace
    from flightdeck.services.deployments.requests import runtime_spec
    from flightdeck.services.deployments.worker import DeploymentWorker
    from flightdeck.services.secrets import seal

    running = deployed
    database = tmp_path / "flightdeck.db"
    shutil.copy(migrated_sqlite_template, database)
    factory = make_session_factory(make_engine(f"sqlite:///{database}"))
    # The module's cluster outputs, as the worker derives them: the same start, no restart.
    settings = Settings(data_dir=tmp_path, secret_key="k" * 40,
                        aws_endpoint_url=running.cluster.aws_endpoint_url)
    spec = running.spec
    paris = ZoneInfo("Europe/Paris")
    clock = _Clock(datetime(2030, 1, 7, 19, 0, tzinfo=paris))  # a Monday evening
    with factory() as session:
        session.add(Organization(id=spec.organization_id, name="Acme", slug="acme"))
        session.flush()  # no relationships: the rows go in the order the keys need
        session.add(Workspace(id="ws-1", organization_id=spec.organization_id, name="Data"))
        session.add(AwsAccount(id="acct-1", organization_id=spec.organization_id,
                               account_id=running.cluster.account_id, status="verified",
                               role_arn="arn:aws:iam::111122223333:role/flightdeck"))
        session.flush()
        session.add(Cluster(id="cl-1", organization_id=spec.organization_id,
                            aws_account_ref="acct-1", name="main", region="us-east-1",
                            phase="Active", spec={"account_id": running.cluster.account_id}))
        session.flush()
        queue = spec.worker_queue
        session.add(Deployment(
            id=spec.id, organization_id=spec.organization_id, workspace_id="ws-1",
            cluster_id="cl-1", name=spec.name, runtime="local", phase="Healthy",
            spec={"airflow_version": spec.airflow_version, "executor": spec.executor,
                  "scheduler_size": spec.scheduler_size, "scheduler_count": spec.scheduler_count,
                  "worker_queue": {"name": queue.name, "min_workers": queue.min_workers,
                                   "max_workers": queue.max_workers,
                                   "tasks_per_worker": queue.tasks_per_worker},
                  "environment": dict(spec.environment)},
            secret_environment={k: seal(v, settings.secret_key)
                                for k, v in spec.secret_environment.items()},
            is_development=True, hibernate_cron="0 20 * * 1-5", wake_cron="0 7 * * 1-5",
            schedule_timezone="Europe/Paris", schedule_applied_at=clock.now,
            observed_generation=1))
        session.commit()
        row = session.get(Deployment, spec.id)
        assert row is not None and runtime_spec(row, settings.secret_key) == spec  # no restart
    worker = DeploymentWorker(factory, settings, lambda _s, _d: running.runtime, clock=clock)
    home = f"AIRFLOW_HOME={Project(running.directory).airflow_home}\0".encode()
    assert _processes_with(home)
    code = running.runtime.status(spec).deploy_id
    assert code is not None

    def one_pass() -> Deployment:
        with factory() as session:
            row = session.get(Deployment, spec.id)
            assert row is not None
            row.next_reconcile_at = datetime.now(UTC)
            session.commit()
        assert worker.run_once() == 1
        with factory() as session:
            row = session.get(Deployment, spec.id)
            assert row is not None
            session.expunge(row)
            return row

    try:
        clock.now = datetime(2030, 1, 7, 20, 0, tzinfo=paris)
        asleep = one_pass()
        assert (asleep.phase, asleep.hibernated) == ("Hibernating", True), asleep.status
        assert _processes_with(home) == set()  # no Airflow process left

        clock.now = datetime(2030, 1, 8, 7, 0, tzinfo=paris)
        awake = one_pass()
        assert not awake.hibernated
        deadline = time.monotonic() + 600
        while awake.phase != "Healthy" and time.monotonic() < deadline:
            time.sleep(2)
            awake = one_pass()
        assert awake.phase == "Healthy", awake.status
        assert running.runtime.status(spec).deploy_id == code  # the same code, kept asleep
        assert f"revision={running.deployed_revision}" in running.run()  # its code runs again
    finally:
        running.runtime.apply(spec, running.cluster)  # awake for the module's other tests


@dataclass
class _Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def _can_listen(port: int) -> bool:
    """Whether a server could listen on ``port`` now (as servers do, with SO_REUSEADDR, so
    connections the old one closed, still in TIME_WAIT, do not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
            sock.listen()
        except OSError:
            return False
    return True


def _processes_with(marker: bytes) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes():
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


# --- without Airflow ------------------------------------------------------------------------

SPEC = DeploymentSpec(id="dep-x", name="x", organization_id="o", airflow_version=AIRFLOW_VERSION)
CLUSTER = ClusterOutputs(cluster_id="c", name="c", region="us-east-1", account_id="111122223333")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (replace(SPEC, id="../escape"), "cannot name a directory"),
        (replace(SPEC, airflow_version="4.0.0"), "unsupported Airflow version '4.0.0'"),
        (replace(SPEC, airflow_version="3.1.*"), "exact version"),
        (replace(SPEC, executor="SequentialExecutor"), "executor 'SequentialExecutor'"),  # type: ignore[arg-type]
        (replace(SPEC, worker_queue=WorkerQueue(max_workers=0)), "at least 1"),
    ],
)
def test_bad_specs_are_refused_before_anything_starts(
    tmp_path: Path, spec: DeploymentSpec, message: str
) -> None:
    runtime = LocalRuntime(tmp_path)
    with pytest.raises(RuntimeError_, match=re.escape(message)):
        runtime.apply(spec, CLUSTER)
    assert not any(p.name.startswith("dep") for p in tmp_path.iterdir())


def test_unknown_deployments_are_absent_and_need_an_apply_before_code(tmp_path: Path) -> None:
    runtime = LocalRuntime(tmp_path)
    assert runtime.status(SPEC).health == "absent"
    runtime.delete(SPEC)
    archive = tmp_path / "b.tar.gz"
    (tmp_path / "p" / "dags").mkdir(parents=True)
    archive.write_bytes(build_bundle(tmp_path / "p", "dags"))
    with pytest.raises(RuntimeError_, match="apply it before deploying code"):
        runtime.deploy_code(SPEC, CodeBundle("d1", archive))
    with pytest.raises(CodeRejected, match=re.escape("deploy id '../x' is not a valid name")):
        runtime.deploy_code(SPEC, CodeBundle("../x", archive))


def test_a_dead_component_is_reported_with_its_log_line_and_secrets_scrubbed(
    tmp_path: Path,
) -> None:
    spec = replace(SPEC, secret_environment={"DB_PASSWORD": "s3cr3t-value-42"})
    runtime = LocalRuntime(tmp_path)
    directory = runtime.directory(spec)
    project = Project(directory)
    sleepers = {
        name: subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
        )
        for name in ("api-server", "dag-processor", "triggerer")
    }
    dead = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    dead.wait()
    try:
        project.airflow_home.mkdir(parents=True)
        (project.airflow_home / "run.json").write_text(
            json.dumps(
                {
                    "airflow_version": AIRFLOW_VERSION,
                    "venv": "/nowhere",
                    "ports": {"api": 1, "worker_logs": 2, "trigger_logs": 3},
                    "pids": {**{n: p.pid for n, p in sleepers.items()}, "scheduler": dead.pid},
                    "url": "http://127.0.0.1:9",
                }
            )
        )
        (directory / "deployment.json").write_text(
            json.dumps({"phase": "started", "started_at": time.time(), "deploy_id": "d7"})
        )
        log = component_log(project, "scheduler")
        log.parent.mkdir(parents=True)
        log.write_text("starting\nOperationalError: login failed for password s3cr3t-value-42\n")
        status = runtime.status(spec)
    finally:
        for process in sleepers.values():
            process.kill()
            process.wait()
    assert status.health == "unhealthy"
    assert (
        status.message
        == "scheduler is not running: OperationalError: login failed for password ***"
    )
    assert status.components["scheduler"] is False and status.deploy_id == "d7"


def test_a_dead_network_bridge_makes_the_deployment_unhealthy(tmp_path: Path) -> None:
    """Without its bridge the Deployment's UI is out of the host's reach: named, like a
    dead component."""
    runtime = LocalRuntime(tmp_path)
    directory = runtime.directory(SPEC)
    project = Project(directory)
    sleepers = [
        subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
        )
        for _ in COMPONENTS
    ]
    dead = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    dead.wait()
    try:
        project.airflow_home.mkdir(parents=True)
        pids = {name: process.pid for name, process in zip(COMPONENTS, sleepers, strict=True)}
        (project.airflow_home / "run.json").write_text(
            json.dumps(
                {
                    "airflow_version": AIRFLOW_VERSION,
                    "venv": "/nowhere",
                    "ports": {"api": 1, "worker_logs": 2, "trigger_logs": 3},
                    "pids": {**pids, "network": dead.pid},
                    "url": "http://127.0.0.1:9",
                }
            )
        )
        (directory / "deployment.json").write_text(
            json.dumps({"phase": "started", "started_at": time.time()})
        )
        log = component_log(project, "network")
        log.parent.mkdir(parents=True)
        log.write_text("the network namespace's bridge ended (exit 1)\n")
        status = runtime.status(SPEC)
    finally:
        for process in sleepers:
            process.kill()
            process.wait()
    assert status.health == "unhealthy"
    assert status.message == "network is not running: the network namespace's bridge ended (exit 1)"
    assert set(status.components) == set(COMPONENTS)  # Airflow's own components, as before


@pytest.mark.slow
def test_a_start_that_fails_is_unhealthy_with_the_reason(tmp_path: Path) -> None:
    runtime = LocalRuntime(tmp_path / "deployments")
    spec = replace(SPEC, airflow_version="3.99.0")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FLIGHTDECK_DEV_CACHE_DIR", str(tmp_path / "venvs"))
        assert runtime.apply(spec, CLUSTER).health == "creating"
        with pytest.raises(RuntimeError_) as caught:
            runtime.wait_until_healthy(spec, timeout=300)
    assert "Airflow could not start: Airflow version 3.99.0 is not published on PyPI" in str(
        caught.value
    )
    assert runtime.status(spec).health == "unhealthy"
    runtime.delete(spec)
    assert runtime.status(spec).health == "absent"


def test_stop_all_ends_every_deployments_processes_and_keeps_their_files(tmp_path: Path) -> None:
    runtime = LocalRuntime(tmp_path)
    sleepers = []
    for deployment_id in ("dep-a", "dep-b"):
        project = Project(tmp_path / deployment_id)
        project.airflow_home.mkdir(parents=True)
        process = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
        )
        sleepers.append(process)
        (project.airflow_home / "run.json").write_text(
            json.dumps(
                {
                    "airflow_version": AIRFLOW_VERSION,
                    "venv": "/nowhere",
                    "ports": {},
                    "pids": {"scheduler": process.pid},
                    "url": "http://127.0.0.1:9",
                }
            )
        )
        (project.root / "deployment.json").write_text(json.dumps({"phase": "started"}))
    try:
        assert runtime.stop_all() == ["dep-a", "dep-b"]
        assert all(process.wait(timeout=10) is not None for process in sleepers)
    finally:
        for process in sleepers:
            process.kill()
    assert (tmp_path / "dep-a" / "deployment.json").exists()
    assert runtime.stop_all() == []


# --- two organizations on one host, real Airflow (issue 20) ----------------------------------

PROBE_DAG = """
import json, os, pathlib, socket

import pendulum
from airflow.sdk import Variable, dag, task

TARGETS = {targets!r}


def attempt_read(path, listing=False):
    try:
        os.listdir(path) if listing else pathlib.Path(path).read_bytes()
    except OSError as exc:
        return type(exc).__name__
    return "read"


def attempt_connect(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except OSError as exc:
        return type(exc).__name__
    return "connected"


def probe():
    found = {{
        "database": attempt_read(TARGETS["database"]),
        "other_deployment": attempt_read(TARGETS["other"], listing=True),
        "other_secret_file": attempt_read(TARGETS["other_file"]),
        "other_environ": attempt_read("/proc/%d/environ" % TARGETS["other_pid"]),
    }}
    for name, port in TARGETS["ports"].items():
        found[name] = attempt_connect(port)
    seen = []
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            seen += [s for s in TARGETS["secrets"] if s.encode() in environ]
    found["secrets_seen"] = sorted(set(seen))
    return found


# At parse time (the parse gate, then the dag processor): what the import could reach.
pathlib.Path(os.environ["HOME"], "probe-parse.json").write_text(json.dumps(probe()))


@dag(dag_id="tenant_probe", schedule=None, catchup=False,
     start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
def tenant_probe():
    @task
    def run_probe() -> None:
        found = probe()
        found["own_secret"] = Variable.get("greeting")  # Secrets Manager, via the emulator
        print("PROBE-RESULT " + json.dumps(found))

    run_probe()


tenant_probe()
"""


def _listener() -> socket.socket:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server


@pytest.mark.slow
def test_a_dag_of_one_organization_reaches_nothing_of_another_or_the_host_but_its_secrets(
    deployed: Running, tmp_path: Path
) -> None:
    """Organization A's real DAG, through the parse gate and run by real Airflow, against
    organization B's Deployment on the same host (its directory, a process of it holding its
    secret, its Airflow port bridged in its own network namespace), the control plane's
    database file and API port, and the host's PostgreSQL: all denied; A's own Secrets
    Manager variable still arrives through its bridge to the emulator."""
    from flightdeck.config import SandboxNetwork
    from flightdeck.devenv import netns
    from flightdeck.devenv.sandbox import Isolation
    from flightdeck.runtime import local_layout as layout

    running = deployed
    runtime = running.runtime
    if (
        runtime.isolation is Isolation.SINGLE_TENANT
        or runtime.network is not SandboxNetwork.ISOLATED
    ):
        pytest.skip("no sandbox on this host: the local runtime is single-tenant here")
    data_dir = runtime.root.parent  # the control plane's data directory holds the runtime's
    database = data_dir / "flightdeck.db"
    database.write_text("org-b-external-id-5d4c3b")
    database.chmod(0o600)
    control_plane = _listener()  # the control plane's API port, on the host's loopback
    other = DeploymentSpec("dep-local-b", "b", "org-2", AIRFLOW_VERSION)
    other_dir = runtime.directory(other)
    layout.lay_out(other_dir, AIRFLOW_VERSION)
    (other_dir / "home" / "token.txt").write_text("org-b-secret-value-7f3a9c")
    state = read_state(Project(running.directory))
    assert state is not None
    view = runtime.sandbox_for(other, Path(state.venv))
    with socket.socket() as probe_port:
        probe_port.bind(("127.0.0.1", 0))
        other_port = probe_port.getsockname()[1]
    log = tmp_path / "b-network.log"
    bridge = netns.spawn(
        tmp_path / "b-network",
        log,
        runtime.isolation is Isolation.NAMESPACE,
        (other_port,),
        (),
        {"PATH": os.environ["PATH"]},
    )
    holder = netns.wait_ready(bridge, tmp_path / "b-network", log)
    python = str(venvs.venv_python(Path(state.venv)))
    serve = [python, "-m", "http.server", "--bind", "127.0.0.1", str(other_port)]
    other_airflow = subprocess.Popen(
        view.wrap(serve, other_dir, holder),
        env={"PATH": "/usr/bin:/bin", "B_TOKEN": "org-b-secret-value-7f3a9c"},
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_connectable(other_port)  # the host reaches B's port through B's bridge
        postgres_up = _connectable(5432)
        targets = {
            "database": str(database),
            "other": str(other_dir),
            "other_file": str(other_dir / "home" / "token.txt"),
            "other_pid": other_airflow.pid,
            "ports": {
                "postgres": 5432,
                "control_plane_api": control_plane.getsockname()[1],
                "other_airflow": other_port,
            },
            "secrets": ["org-b-secret-value-7f3a9c"],
        }
        project = tmp_path / "probe-project"
        _write_project(project, running.revision)
        (project / "dags" / "probe.py").write_text(PROBE_DAG.format(targets=targets))
        running.project, kept = project, running.project
        try:
            running.deploy(f"probe-{int(time.time())}")
        finally:
            running.project = kept
        parsed = json.loads((running.directory / "home" / "probe-parse.json").read_text())
        log_text = running.run("tenant_probe")
    finally:
        os.killpg(other_airflow.pid, signal.SIGKILL)
        other_airflow.wait()
        netns.end(bridge)
        control_plane.close()
        runtime.delete(other)
    ran = json.loads(_printed(log_text, "PROBE-RESULT "))
    outcome = {"parse": parsed, "run": ran, "host_reaches_postgres": postgres_up}
    (tmp_path / "tenant-probe.json").write_text(json.dumps(outcome, indent=2))
    recorded = json.loads((tmp_path / "tenant-probe.json").read_text())
    for found in (recorded["parse"], recorded["run"]):
        denied = {k: v for k, v in found.items() if k not in ("secrets_seen", "own_secret")}
        assert "read" not in denied.values() and "connected" not in denied.values(), found
        assert found["secrets_seen"] == [], found
    assert recorded["run"]["own_secret"] == GREETING


def _printed(log_text: str, marker: str) -> str:
    """What a task printed after ``marker`` (task log lines may be JSON events)."""
    for raw in log_text.splitlines():
        text = raw
        try:
            event = json.loads(raw)
        except ValueError:
            event = None
        if isinstance(event, dict):
            text = str(event.get("event", ""))
        if marker in text:
            return text.split(marker, 1)[1]
    raise AssertionError(f"{marker!r} is not in the task log: {log_text[-2000:]}")


def _connectable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except OSError:
        return False
    return True


def _wait_connectable(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not _connectable(port):
        assert time.monotonic() < deadline, f"nothing answered on {port}"
        time.sleep(0.2)
