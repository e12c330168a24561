"""Customer code in the sandbox: a DAG of one organization, run by the local runtime's parse
gate, cannot read the control-plane database, another Deployment's files, or another
process's environment (issue 20, finding 1). The parse gate here is the real one
(``deploy_code``: unpack, import every DAG file, switch) with a stand-in for Airflow's
``DagBag`` in a venv of its own, so the proof needs no Airflow install; the Airflow tests
in test_local_runtime.py run the same sandbox with real Airflow.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from flightdeck.config import Settings, secure_data_dir
from flightdeck.db.engine import make_engine
from flightdeck.devenv import sandbox, venvs
from flightdeck.runtime import local_layout as layout
from flightdeck.runtime.base import CodeBundle, DeploymentSpec
from flightdeck.runtime.bundle import build_bundle
from flightdeck.runtime.local import LocalRuntime

AIRFLOW_VERSION = "3.3.2"
SECRET_B = "org-b-secret-value-7f3a9c"
CONTROL_PLANE_SECRET = "control-plane-secret-2b8e1d"
EXTERNAL_ID = "org-b-external-id-5d4c3b"

needs_sandbox = pytest.mark.skipif(
    sandbox.available() is sandbox.Isolation.SINGLE_TENANT,
    reason="bubblewrap cannot run on this host: the local runtime is single-tenant here",
)

# What Airflow's DagBag does to a DAG file: import it (module code runs), note the errors.
STAND_IN_MODELS = """
import runpy, pathlib
class DagBag:
    def __init__(self, dag_folder):
        self.dag_ids, self.import_errors = [], {}
        for path in sorted(pathlib.Path(dag_folder).rglob("*.py")):
            try:
                runpy.run_path(str(path))
            except Exception as exc:
                self.import_errors[str(path)] = f"{type(exc).__name__}: {exc}"
"""
STAND_IN_MAIN = """
import os, pathlib, sys
if sys.argv[1:3] == ["db", "migrate"]:
    pathlib.Path(os.environ["AIRFLOW_HOME"], "airflow.db").write_text("")
"""

PROBE = """
import json, os, pathlib

def attempt(action):
    try:
        action()
    except OSError as exc:
        return type(exc).__name__
    return "read"

results = {{
    "uid": os.getuid(),
    "database": attempt(lambda: pathlib.Path({database!r}).read_bytes()),
    "secret_key_file": attempt(lambda: pathlib.Path({data_dir!r}, "secret.key").read_bytes()),
    "other_deployment": attempt(lambda: os.listdir({other!r})),
    "other_secret_file": attempt(lambda: pathlib.Path({other_file!r}).read_bytes()),
    "other_environ": attempt(lambda: pathlib.Path("/proc/{other_pid}/environ").read_bytes()),
    "control_plane_environ": attempt(
        lambda: pathlib.Path("/proc/{control_pid}/environ").read_bytes()),
}}
try:
    results["data_dir_holds"] = sorted(os.listdir({data_dir!r}))
except OSError as exc:
    results["data_dir_holds"] = [type(exc).__name__]
seen = []
for entry in pathlib.Path("/proc").iterdir():
    if entry.name.isdigit():
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        seen += [s for s in ({secrets!r}) if s.encode() in environ]
results["secrets_seen"] = sorted(set(seen))
pathlib.Path(os.environ["HOME"], "probe.json").write_text(json.dumps(results))
"""


def _stand_in_venv(cache: Path) -> Path:
    """A venv at the cache path the runtime looks up, with the stand-in ``airflow``."""
    path = cache / venvs.venv_key(AIRFLOW_VERSION, [])
    venv.EnvBuilder(symlinks=True, with_pip=False).create(path)
    site = next(path.glob("lib/python3*/site-packages"))
    (site / "airflow").mkdir()
    (site / "airflow" / "__init__.py").write_text("")
    (site / "airflow" / "models.py").write_text(STAND_IN_MODELS)
    (site / "airflow" / "__main__.py").write_text(STAND_IN_MAIN)
    (path / ".flightdeck-complete").write_text("")
    for current, dirs, files in os.walk(cache):  # as uv leaves it: readable by everyone
        for name in dirs + files:
            item = Path(current) / name
            if not item.is_symlink():
                item.chmod(item.stat().st_mode | stat.S_IROTH | stat.S_IXOTH)
    cache.chmod(0o755)
    return path


@dataclass
class Host:
    data_dir: Path
    database: Path
    runtime: LocalRuntime
    other: DeploymentSpec
    other_process: subprocess.Popen[bytes]
    control_process: subprocess.Popen[bytes]
    venv: Path


def _spec(deployment_id: str, org: str) -> DeploymentSpec:
    return DeploymentSpec(deployment_id, deployment_id, org, AIRFLOW_VERSION)


def _sleeper(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, env=env, start_new_session=True, stdin=subprocess.DEVNULL)


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Host]:
    cache = tmp_path / "venvs"
    monkeypatch.setenv("FLIGHTDECK_DEV_CACHE_DIR", str(cache))
    env_dir = _stand_in_venv(cache)
    data_dir = secure_data_dir(tmp_path / "data")
    settings = Settings(data_dir=data_dir)
    database = Path(settings.resolved_database_url.removeprefix("sqlite:///"))
    with make_engine(settings.resolved_database_url).begin() as connection:
        connection.exec_driver_sql("create table orgs (external_id text)")
        connection.exec_driver_sql(f"insert into orgs values ('{EXTERNAL_ID}')")
    runtime = LocalRuntime(settings.deployments_dir)
    other = _spec("dep-org-b", "org-b")
    directory = runtime.directory(other)
    layout.lay_out(directory, AIRFLOW_VERSION)
    (directory / "home" / "token.txt").write_text(SECRET_B)
    contained = runtime.sandbox_for(other, env_dir)
    python = str(venvs.venv_python(env_dir))
    sleep = [python, "-c", "import time; time.sleep(120)"]
    other_process = _sleeper(
        contained.wrap(sleep, directory), {"PATH": "/usr/bin:/bin", "B_TOKEN": SECRET_B}
    )
    control_process = _sleeper(sleep, {"PATH": "/usr/bin", "KEY": CONTROL_PLANE_SECRET})
    time.sleep(0.5)
    try:
        yield Host(data_dir, database, runtime, other, other_process, control_process, env_dir)
    finally:
        for process in (other_process, control_process):
            os.killpg(process.pid, 9)
            process.wait()
        runtime.delete(other)


def _probe(host: Host, tmp_path: Path, runtime: LocalRuntime) -> dict[str, object]:
    """Deploy organization A's probing DAG through ``runtime``'s parse gate; its findings."""
    spec = _spec("dep-org-a", "org-a")
    directory = runtime.directory(spec)
    layout.lay_out(directory, AIRFLOW_VERSION)
    layout.write_record(directory, {"ports": {"api": 1, "worker_logs": 2, "trigger_logs": 3}})
    project = tmp_path / f"project-{runtime.isolation.value}"
    (project / "dags").mkdir(parents=True)
    other_dir = host.runtime.directory(host.other)
    (project / "dags" / "probe.py").write_text(
        PROBE.format(
            database=str(host.database),
            data_dir=str(host.data_dir),
            other=str(other_dir),
            other_file=str(other_dir / "home" / "token.txt"),
            other_pid=host.other_process.pid,
            control_pid=host.control_process.pid,
            secrets=[SECRET_B, CONTROL_PLANE_SECRET],
        )
    )
    archive = tmp_path / f"{runtime.isolation.value}.tar.gz"
    archive.write_bytes(build_bundle(project, "dags"))
    try:
        runtime.deploy_code(spec, CodeBundle("d1", archive))
        results: dict[str, object] = json.loads((directory / "home" / "probe.json").read_text())
    finally:
        runtime.delete(spec)
    return results


@needs_sandbox
def test_a_dag_of_one_organization_cannot_read_the_control_plane_or_another(
    host: Host, tmp_path: Path
) -> None:
    results = _probe(host, tmp_path, host.runtime)
    shown = ("uid", "secrets_seen", "data_dir_holds")
    denied = {k: v for k, v in results.items() if k not in shown}
    assert "read" not in denied.values(), results
    assert results["secrets_seen"] == [], results
    # Its view of the data directory is made up: only the way to its own directory.
    assert results["data_dir_holds"] in (["deployments"], ["PermissionError"]), results
    if host.runtime.isolation is sandbox.Isolation.USERS:
        assert results["uid"] != 0 and results["uid"] != os.getuid()


@needs_sandbox
def test_the_same_dag_unconfined_reads_everything(host: Host, tmp_path: Path) -> None:
    """What the sandbox prevents: single-tenant, the probe reads it all (the finding)."""
    unconfined = LocalRuntime(host.runtime.root, isolation=sandbox.Isolation.SINGLE_TENANT)
    results = _probe(host, tmp_path, unconfined)
    assert results["database"] == "read" and results["other_secret_file"] == "read", results
    assert results["control_plane_environ"] == "read" and results["secret_key_file"] == "read"
    assert "flightdeck.db" in results["data_dir_holds"]  # type: ignore[operator]
    assert CONTROL_PLANE_SECRET in results["secrets_seen"]  # type: ignore[operator]


@needs_sandbox
def test_each_deployment_runs_as_its_own_user_in_directories_only_it_can_enter(
    host: Host,
) -> None:
    if host.runtime.isolation is not sandbox.Isolation.USERS:
        pytest.skip("the server does not run as root: one user for every Deployment")
    other_dir = host.runtime.directory(host.other)
    account = sandbox.ensure_account(host.other.id)
    assert account.uid != 0 and account.name.startswith(sandbox.USER_PREFIX)
    for path in (other_dir, other_dir / "home", other_dir / "airflow-home"):
        info = path.stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (account.uid, 0o700), path
    # The bubblewrap launcher is root; what it runs is the Deployment's user.
    uids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            session = os.getsid(int(entry.name))
        except OSError:
            continue
        launcher = command.startswith((b"bwrap", b"setpriv"))
        if session == host.other_process.pid and b"time.sleep" in command and not launcher:
            uids.append(entry.stat().st_uid)
    assert uids and set(uids) == {account.uid}, uids


def test_the_data_directory_and_its_files_are_owner_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    (data_dir / "old.db").write_text("")
    (data_dir / "old.db").chmod(0o644)
    (data_dir / "aws").mkdir(mode=0o755)
    settings = Settings(data_dir=data_dir)
    make_engine(settings.resolved_database_url).connect().close()
    secure_data_dir(data_dir)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    files = [p for p in data_dir.iterdir() if p.is_file()]
    assert {p.name for p in files} >= {"flightdeck.db", "secret.key", "old.db"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files), files
    assert stat.S_IMODE((data_dir / "aws").stat().st_mode) == 0o700


def test_the_embedded_default_makes_its_own_secret_key_per_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLIGHTDECK_SECRET_KEY", raising=False)
    first = Settings(data_dir=tmp_path / "a").secret_key
    assert len(first) >= 48 and Settings(data_dir=tmp_path / "a").secret_key == first
    assert Settings(data_dir=tmp_path / "b").secret_key != first
    assert (tmp_path / "a" / "secret.key").read_text().strip() == first
    assert "flightdeck-development" not in first
    monkeypatch.setenv("FLIGHTDECK_SECRET_KEY", "x" * 40)
    assert Settings(data_dir=tmp_path / "a").secret_key == "x" * 40
    with pytest.raises(ValueError, match="FLIGHTDECK_SECRET_KEY must be set"):
        Settings(mode="production", secret_key="", data_dir=tmp_path / "c")
    assert not (tmp_path / "c").exists()


def test_the_server_reports_its_isolation_and_production_refuses_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flightdeck.cli import server_cmd
    from flightdeck.cli.errors import CliError

    base = {"data_dir": tmp_path, "secret_key": "s" * 40}
    line = server_cmd.customer_code_isolation(Settings(**base))  # type: ignore[arg-type]
    assert line.startswith(sandbox.available().value)
    assert "network isolated (a network namespace per Deployment" in line
    monkeypatch.setattr(sandbox, "available", lambda: sandbox.Isolation.SINGLE_TENANT)
    assert server_cmd.customer_code_isolation(Settings(**base)).startswith(  # type: ignore[arg-type]
        "single-tenant: no sandbox"
    )
    production = Settings.model_construct(mode="production", runtime="local", **base)  # type: ignore[arg-type]
    with pytest.raises(CliError, match="needs a sandbox for customer code in production"):
        server_cmd.customer_code_isolation(production)
    assert sys.executable  # the check ran in this process, without starting a server


NAMESPACE_PROBE = """
import pathlib, subprocess, sys
from flightdeck.devenv import sandbox
root = pathlib.Path(sys.argv[1])
home = root / "a" / "home"
view = sandbox.Sandbox(sandbox.available(), root / "a", writable={home: home})
read = "import pathlib, sys; print(pathlib.Path(sys.argv[1]).read_text())"
for target in (root / "db", root / "b" / "token"):
    run = subprocess.run(view.wrap([sys.executable, "-c", read, str(target)], root / "a"),
                         capture_output=True, text=True)
    print(sandbox.available().value, run.returncode, run.stdout.strip() or "denied")
"""


@needs_sandbox
def test_a_server_that_is_not_root_gets_the_namespace_sandbox() -> None:
    """The non-root path, run here as an unprivileged system user of its own."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run a process as another, unprivileged user")
    import shutil
    import tempfile

    import flightdeck

    account = sandbox.ensure_account("test-namespace-probe")
    root = Path(tempfile.mkdtemp(prefix="flightdeck-namespace-"))  # in /tmp: reachable
    try:
        for part in ("a/home", "b"):
            (root / part).mkdir(parents=True)
        (root / "db").write_text(EXTERNAL_ID)
        (root / "b" / "token").write_text(SECRET_B)
        for path in (
            root,
            root / "a",
            root / "a" / "home",
            root / "b",
            root / "db",
            root / "b" / "token",
        ):
            os.chown(path, account.uid, account.gid)
        source = Path(flightdeck.__file__).parents[1]  # the system Python, with this checkout
        site = next(p for p in map(Path, sys.path) if p.name == "site-packages")  # pydantic
        result = subprocess.run(
            ["/usr/bin/python3", "-c", NAMESPACE_PROBE, str(root)],
            user=account.uid,
            group=account.gid,
            extra_groups=[],
            env={
                "PATH": "/usr/bin:/bin",
                "HOME": str(root / "a" / "home"),
                "PYTHONPATH": f"{source}:{site}",
            },
            capture_output=True,
            text=True,
            check=False,
            cwd=root,
        )
    finally:
        sandbox.remove_account("test-namespace-probe")
        shutil.rmtree(root, ignore_errors=True)
    # Unconfined, this user could read both files (it owns them); in the sandbox it cannot.
    assert result.stdout.splitlines() == ["namespace 1 denied", "namespace 1 denied"], result
