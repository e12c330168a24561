"""Run a project's Airflow natively: processes, ports, health, and their lifecycle.

Each component runs as ``python -m airflow <component>`` from the project's cached venv, in
its own session so ``dev start`` can return while Airflow keeps running and ``dev stop`` can
end each component with all its children. What is running is recorded in
``.flightdeck/airflow/run.json``; a record whose processes have died is treated as stopped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flightdeck.airflow_versions import airflow_major
from flightdeck.devenv import netns, venvs
from flightdeck.devenv.airflow_env import (
    ADMIN_USER,
    Ports,
    airflow_environment,
    local_secrets,
    passwords_file,
    read_project_env,
)
from flightdeck.devenv.astro import runtime_tag_from_dockerfile
from flightdeck.devenv.astro_packages import (
    NEEDS_OS_LIBRARIES,
    left_out,
    preinstalled_for,
    preinstalled_for_airflow,
)
from flightdeck.devenv.dockerfile import DockerfileSteps, read_dockerfile
from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.listeners import port_owner
from flightdeck.devenv.ospackages import check_packages
from flightdeck.devenv.ports import choose_ports, free_port
from flightdeck.devenv.process_identity import (
    RUN_TOKEN_VARIABLE,
    is_ours,
    new_run_token,
    process_start_time,
)
from flightdeck.devenv.project import (
    AirflowSettings,
    Project,
    ProjectConfig,
    read_packages,
)
from flightdeck.devenv.sandbox import Isolation, Sandbox

Echo = Callable[[str], None]

AIRFLOW3_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
AIRFLOW2_COMPONENTS = ("webserver", "scheduler", "triggerer")
# The bridge holding a sandboxed Deployment's network namespace, recorded like a component.
NETWORK = "network"
# Health-report key -> the component whose log explains it being unhealthy.
_HEALTH_KEYS = {
    "scheduler": "scheduler",
    "triggerer": "triggerer",
    "dag_processor": "dag-processor",
}
DEFAULT_WORKER_LOG_PORT = 8793
DEFAULT_TRIGGER_LOG_PORT = 8794
START_ATTEMPTS = 3  # a port taken between choosing it and Airflow binding it: try another


class PortTaken(DevEnvError):
    """Another program listens on the port chosen for Airflow's UI (it took it meanwhile)."""

    def __init__(self, port: int) -> None:
        super().__init__(
            f"port {port} was taken by another program before Airflow could listen on it"
        )
        self.port = port


def components_for(major: int) -> tuple[str, ...]:
    return AIRFLOW3_COMPONENTS if major >= 3 else AIRFLOW2_COMPONENTS


def web_component(major: int) -> str:
    return "api-server" if major >= 3 else "webserver"


@dataclass(frozen=True)
class Prepared:
    """Everything checked and built before any Airflow process starts."""

    project: Project
    config: ProjectConfig
    settings: AirflowSettings
    dotenv: dict[str, str]
    venv: Path
    notes: list[str]
    sandbox: Sandbox | None = None  # the local runtime's Deployments run in one

    @property
    def major(self) -> int:
        return airflow_major(self.config.airflow_version)

    @property
    def python(self) -> Path:
        return venvs.venv_python(self.venv)


@dataclass(frozen=True)
class RunState:
    airflow_version: str
    venv: str
    ports: dict[str, int]
    pids: dict[str, int]
    url: str
    # Which processes are ours: their start times and the token this start gave them.
    token: str = ""
    started: dict[str, int] = field(default_factory=dict)

    def alive(self) -> dict[str, bool]:
        return {name: self.is_running(name) for name in self.pids}

    def api_is_ours(self) -> bool | None:
        """Whether the UI port's listener is one of our components (None: nobody listens)."""
        return port_owner(int(self.ports["api"]), set(self.pids.values()))

    def is_running(self, component: str) -> bool:
        pid = self.pids[component]
        return _group_alive(pid) and is_ours(pid, self.started.get(component), self.token)


def logs_dir(project: Project) -> Path:
    return project.airflow_home / "logs" / "components"


def component_log(project: Project, component: str) -> Path:
    return logs_dir(project) / f"{component}.log"


def _state_file(project: Project) -> Path:
    return project.airflow_home / "run.json"


def read_state(project: Project) -> RunState | None:
    path = _state_file(project)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return RunState(
        data["airflow_version"],
        data["venv"],
        data["ports"],
        data["pids"],
        data["url"],
        str(data.get("token", "")),
        dict(data.get("started", {})),
    )


def _write_state(project: Project, state: RunState) -> None:
    path = _state_file(project)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state.__dict__, indent=2))
    tmp.replace(path)


def _group_alive(pid: int) -> bool:
    """True while the component's session leader runs (we start each in its own group)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own exited child
    try:
        os.kill(pid, 0)
        return os.getpgid(pid) == pid
    except (ProcessLookupError, PermissionError):
        return False


def resolution_for(
    project: Project,
    config: ProjectConfig,
    steps: DockerfileSteps,
    airflow_version: str | None = None,
    constraints: str | None = None,
) -> venvs.Resolution:
    """What the project's environment is resolved from; ``airflow_version`` and
    ``constraints`` override the project's own (an upgrade test, a one-off command)."""
    version = airflow_version or config.airflow_version
    runtime = runtime_tag_from_dockerfile(project.root / "Dockerfile")
    if airflow_version is None or runtime is None:
        preinstalled = preinstalled_for(runtime)
    else:  # the runtime line built on the target Airflow
        preinstalled = preinstalled_for_airflow(airflow_version)
    source = constraints or config.constraints
    field = "--constraints" if constraints else ".flightdeck/config.yaml constraints"
    loaded = venvs.load_constraints(source, project.root, field) if source else None
    return venvs.Resolution(
        version, project.root / "requirements.txt", tuple(steps.requirements), preinstalled,
        loaded,
    )  # fmt: skip


def prepare(project: Project, echo: Echo, constraints: str | None = None) -> Prepared:
    """Validate every input file, then make sure the venv exists. Starts nothing."""
    config = project.load_config()
    dotenv, notes = read_project_env(project)
    settings = project.load_settings()
    # The image's ENV/ARG sit below .env, as in a container started with an env file.
    steps = read_dockerfile(project.root / "Dockerfile")
    dotenv = steps.environment | dotenv
    notes += steps.notes()
    package_note = check_packages(read_packages(project)).note()
    if package_note:
        notes.append(package_note)
    if steps.requirements:
        notes.append(
            "Dockerfile: RUN pip install " + " ".join(steps.requirements) + " added to the venv"
        )
    resolution = resolution_for(project, config, steps, constraints=constraints)
    if resolution.preinstalled:
        notes.append(
            f"Dockerfile: the Astro Runtime image's {len(resolution.preinstalled)} provider and "
            "library packages are installed into the venv too, as the image ships them"
        )
    runtime = runtime_tag_from_dockerfile(project.root / "Dockerfile")
    for package in left_out(runtime):
        notes.append(
            f"Dockerfile: the runtime's {package} is not installed natively "
            f"({NEEDS_OS_LIBRARIES[package]}); add it to requirements.txt once that is installed"
        )
    venv = venvs.ensure_venv(
        resolution.airflow_version, resolution.requirements_file, echo, resolution.extra,
        resolution.preinstalled, resolution.constraints,
    )  # fmt: skip
    return Prepared(project, config, settings, dotenv, venv, notes)


def environment(
    prepared: Prepared, ports: Ports, base: dict[str, str] | None = None
) -> dict[str, str]:
    """The processes' environment, with the venv's ``bin`` first on PATH.

    Airflow 2 executors start tasks as ``airflow tasks run``, and DAGs may call ``airflow``
    or other console scripts, so they must resolve to the project's venv. ``base`` replaces
    the caller's own environment as the starting point (a Deployment must not inherit the
    control plane's variables).
    """
    env = airflow_environment(prepared.project, prepared.config, ports, prepared.dotenv, base)
    env["PATH"] = os.pathsep.join([str(prepared.venv / "bin"), env.get("PATH", "")])
    env["VIRTUAL_ENV"] = str(prepared.venv)
    return env


def current_ports(prepared: Prepared) -> Ports:
    """The running ports when Airflow is up, else the configured defaults (for one-off runs)."""
    state = read_state(prepared.project)
    if state is not None and any(state.alive().values()):
        return Ports(**state.ports)
    return Ports(prepared.config.api_port, DEFAULT_WORKER_LOG_PORT, DEFAULT_TRIGGER_LOG_PORT)


def contained(
    sandbox: Sandbox | None, command: list[str], cwd: Path, holder: netns.Holder | None = None
) -> list[str]:
    """``command`` inside ``sandbox`` when there is one (customer code runs in every Airflow
    process: DAGs and plugins are imported by each), in ``holder``'s network namespace."""
    return sandbox.wrap(command, cwd, holder) if sandbox is not None else command


def network_dir(project: Project, purpose: str = NETWORK) -> Path:
    """The bridge's socket directory: the control plane's, never inside a sandbox view."""
    return project.airflow_home / purpose


MIGRATED_MARKER = "airflow.db.migrated"  # the Airflow version that last migrated the DB


def database_template(prepared: Prepared, env: dict[str, str]) -> Path:
    """Where a freshly migrated, never used metadata DB of this environment is kept.

    Beside the venv (whose key already names the Airflow version and every package), and
    named by the ``[database]`` options that shape what migrating writes (default
    connections, for one): a new project or Deployment copies it instead of migrating,
    which costs Airflow's imports and every migration (about 13 s of a start here).
    """
    options = sorted(
        (key, value)
        for key, value in env.items()
        if key.startswith("AIRFLOW__DATABASE__") and key != "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
    )
    digest = hashlib.sha256(json.dumps(options).encode()).hexdigest()[:12]
    return prepared.venv / f"flightdeck-metadata-{prepared.config.airflow_version}-{digest}.db"


def _copy_owned(source: Path, target: Path) -> None:
    """Copy, then rename into place (never a half-written file), owned like its directory
    (a sandboxed Deployment's system user must be able to write its database)."""
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(source, partial)
    if os.geteuid() == 0:
        owner = target.parent.stat()
        os.chown(partial, owner.st_uid, owner.st_gid)
    partial.replace(target)


def ensure_database(prepared: Prepared, env: dict[str, str], echo: Echo) -> None:
    """Create or upgrade the metadata DB in ``.flightdeck/airflow``.

    Skipped when this Airflow version already migrated it: `airflow db migrate` costs
    seconds of imports even with nothing to do, on every restart. A new database is a copy
    of the environment's template when there is one (see :func:`database_template`).
    """
    home = prepared.project.airflow_home
    logs_dir(prepared.project).mkdir(parents=True, exist_ok=True)
    log = component_log(prepared.project, "db-migrate")
    files = prepared.sandbox.host_path(home) if prepared.sandbox is not None else home
    marker = files / MIGRATED_MARKER  # beside the database, where Airflow really writes it
    version = prepared.config.airflow_version
    database = files / "airflow.db"
    if database.exists() and marker.exists() and marker.read_text().strip() == version:
        return
    template = database_template(prepared, env)
    created = not database.exists()
    # Only into a home that exists already: a sandbox makes its own on the first start,
    # owned by the Deployment's user, and that start migrates.
    if created and template.is_file() and database.parent.is_dir():
        echo("Creating the Airflow metadata database (from this environment's template)...")
        _copy_owned(template, database)
        marker.write_text(version + "\n")
        return
    if created:
        echo("Creating the Airflow metadata database...")
    with log.open("w") as out:
        command = [str(prepared.python), "-m", "airflow", "db", "migrate"]
        result = subprocess.run(
            contained(prepared.sandbox, command, prepared.project.root),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=prepared.project.root,
            check=False,
        )
    if result.returncode != 0:
        raise DevEnvError(
            f"Airflow could not set up its database (see {log}): {last_error_line(log)}"
        )
    marker.write_text(version + "\n")
    journal = database.with_name(database.name + "-wal")
    if created and database.is_file() and not journal.exists():  # migrated, unused, whole
        with contextlib.suppress(OSError):  # a read-only venv cache only costs the speed-up
            _copy_owned(database, template)


def _ensure_login(prepared: Prepared, env: dict[str, str]) -> str:
    """Make sure the local admin login exists; returns its password."""
    password = local_secrets(prepared.project).admin_password
    if prepared.major >= 3:
        path = passwords_file(prepared.project)
        path.write_text(json.dumps({ADMIN_USER: password}) + "\n")
        path.chmod(0o600)
        return password
    marker = prepared.project.airflow_home / ".admin-user-created"
    if not marker.exists():
        command = [
            str(prepared.python),
            "-m",
            "airflow",
            "users",
            "create",
            "--username",
            ADMIN_USER,
            "--password",
            password,
            "--role",
            "Admin",
            "--firstname",
            "Local",
            "--lastname",
            "Admin",
            "--email",
            "admin@localhost",
        ]
        result = subprocess.run(
            contained(prepared.sandbox, command, prepared.project.root),
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 and "already exist" not in result.stdout + result.stderr:
            raise DevEnvError("Airflow could not create the local admin user; see `dev logs`")
        marker.touch()
    return password


def start(
    project: Project, echo: Echo, timeout: float = 240.0, constraints: str | None = None
) -> tuple[RunState, str, Prepared]:
    """Start Airflow and wait until healthy; on failure stop what started and explain why."""
    state = read_state(project)
    if state is not None and any(state.alive().values()):
        raise DevEnvError(
            f"Airflow is already running for this project at {state.url}; "
            "use `flightdeck dev restart` or `flightdeck dev stop`"
        )
    prepared = prepare(project, echo, constraints)
    for note in prepared.notes:
        echo(f"Warning: {note}")
    preferred = {
        "api": prepared.config.api_port,
        "worker_logs": DEFAULT_WORKER_LOG_PORT,
        "trigger_logs": DEFAULT_TRIGGER_LOG_PORT,
    }
    for attempt in range(1, START_ATTEMPTS + 1):
        ports = Ports(**choose_ports(preferred))
        if ports.api != prepared.config.api_port and attempt == 1:
            echo(f"Port {prepared.config.api_port} is busy; using {ports.api} for the Airflow UI.")
        state, password = launch(prepared, ports, environment(prepared, ports), echo)
        try:
            wait_healthy(project, state, prepared.major, timeout)
        except PortTaken as exc:
            stop(project)
            if attempt == START_ATTEMPTS:
                raise
            echo(f"Port {exc.port} was taken by another program meanwhile; trying another.")
            preferred = {role: free_port() for role in preferred}
            continue
        except DevEnvError:
            stop(project)
            raise
        return state, password, prepared
    raise AssertionError("unreachable: the last attempt returns or raises")


def launch(
    prepared: Prepared, ports: Ports, env: dict[str, str], echo: Echo
) -> tuple[RunState, str]:
    """Migrate the database, make the login, spawn every component; does not wait for health.

    The run record is rewritten after each spawn, so a caller that dies half-way still
    leaves every started process findable (and stoppable) on disk.
    """
    ensure_database(prepared, env, echo)
    password = _ensure_login(prepared, env)
    url = f"http://127.0.0.1:{ports.api}"
    version = prepared.config.airflow_version
    pids: dict[str, int] = {}
    started: dict[str, int] = {}
    token = new_run_token()
    env = {**env, RUN_TOKEN_VARIABLE: token}
    state = RunState(version, str(prepared.venv), ports.as_dict(), pids, url, token, started)
    holder = _start_network(prepared, ports, env, state) if _isolated(prepared) else None
    for component in components_for(prepared.major):
        pids[component] = _spawn(prepared, component, ports, env, holder)
        _record_start_time(started, component, pids[component])
        _write_state(prepared.project, state)
    return state, password


def restart_components(
    prepared: Prepared,
    ports: Ports,
    env: dict[str, str],
    components: tuple[str, ...],
    grace: float = 20.0,
) -> RunState:
    """Stop and spawn again only ``components`` of a running start, with ``env``; the others
    keep running. The start's run token and network namespace are kept, so the restarted
    processes are still this start's (for ``is_running``) and reach what the others reach."""
    state = read_state(prepared.project)
    if state is None:
        raise DevEnvError("Airflow is not running; start it before restarting a component")
    env = {**env, RUN_TOKEN_VARIABLE: state.token}
    holder = None
    if _isolated(prepared):
        holder = netns.read_holder(network_dir(prepared.project))
        if holder is None or not state.is_running(NETWORK):
            raise DevEnvError("the Deployment's network namespace is gone; start it again")
    pids, started = dict(state.pids), dict(state.started)
    for component in components:
        if component in pids and state.is_running(component):
            _end_tree(pids[component], grace)
        pids[component] = _spawn(prepared, component, ports, env, holder)
        started.pop(component, None)
        _record_start_time(started, component, pids[component])
        state = RunState(
            state.airflow_version, state.venv, state.ports, pids, state.url, state.token, started
        )
        _write_state(prepared.project, state)
    return state


def _descendants(pid: int) -> set[int]:
    """``pid`` and every process under it (Linux ``/proc``), whatever their process group:
    a sandboxed component's Airflow runs in a session (and pid namespace) of its own."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = {pid}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _exists(pid: int) -> bool:
    """Running, or stopping: a zombie (ended, not yet reaped) holds nothing any more."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :][:1] not in ("Z", "X")


def _end_tree(pid: int, grace: float) -> None:
    """Stop one component: its group and every process under it, so nothing it started
    still holds its port when it is spawned again."""
    tree = _descendants(pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    for member in tree:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(member, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_exists(member) for member in tree):
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    for member in tree:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(member, signal.SIGKILL)


def loopback_arguments(component: str) -> list[str]:
    """No listener beyond loopback: Airflow's log servers bind every interface, hard-coded.

    Scheduler and triggerer start a log server for workers on other hosts; here every task
    runs on this machine and its log files are read from disk by the API server, so the
    log servers are not started at all.
    """
    return ["--skip-serve-logs"] if component in ("scheduler", "triggerer") else []


def _isolated(prepared: Prepared) -> bool:
    return prepared.sandbox is not None and prepared.sandbox.isolates_network


def _start_network(
    prepared: Prepared, ports: Ports, env: dict[str, str], state: RunState
) -> netns.Holder:
    """The Deployment's network namespace: its UI port bridged in, its AWS endpoint out.

    Recorded as a component before it is waited for, so a stop finds it whatever happens.
    """
    assert prepared.sandbox is not None
    project = prepared.project
    log = component_log(project, NETWORK)
    marks = {k: env[k] for k in ("PATH", "AIRFLOW_HOME", RUN_TOKEN_VARIABLE) if k in env}
    process = netns.spawn(
        network_dir(project),
        log,
        prepared.sandbox.isolation is Isolation.NAMESPACE,
        (ports.api,),
        prepared.sandbox.outbound,
        marks,
    )
    state.pids[NETWORK] = process.pid
    _record_start_time(state.started, NETWORK, process.pid)
    _write_state(project, state)
    try:
        return netns.wait_ready(process, network_dir(project), log)
    except DevEnvError:
        netns.end(process)  # it would hold the UI port against the next start
        raise


def _spawn(
    prepared: Prepared,
    component: str,
    ports: Ports,
    env: dict[str, str],
    holder: netns.Holder | None = None,
) -> int:
    log = component_log(prepared.project, component)
    # Every component runs under the log guard, which keeps task output (and so any secret
    # a task prints) out of the component logs; JSON makes task events recognisable.
    airflow = [str(prepared.python), "-m", "airflow", component]
    if component == "api-server":
        airflow += ["--host", "127.0.0.1", "--port", str(ports.api)]
    elif component == "webserver":
        airflow += ["--hostname", "127.0.0.1", "--port", str(ports.api)]
    airflow += loopback_arguments(component)
    # The guard is the control plane's own code: it runs outside the sandbox, Airflow inside.
    command = [sys.executable, "-m", "flightdeck.devenv.logguard", str(log)]
    command += contained(prepared.sandbox, airflow, prepared.project.root, holder)
    env = {**env, "AIRFLOW__LOGGING__JSON_LOGS": "True"}
    with log.open("a") as out:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        out.write(f"\n--- flightdeck: starting {component} at {stamp}\n")
        out.flush()
        process = subprocess.Popen(
            command,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=prepared.project.root,
            start_new_session=True,
        )
    return process.pid


def _record_start_time(started: dict[str, int], component: str, pid: int) -> None:
    start_time = process_start_time(pid)
    if start_time is not None:
        started[component] = start_time


def health(url: str, major: int) -> dict[str, Any] | None:
    import httpx

    path = "/api/v2/monitor/health" if major >= 3 else "/health"
    try:
        response = httpx.get(url + path, timeout=5)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    body: dict[str, Any] = response.json()
    return body


def unhealthy_components(report: dict[str, Any] | None, major: int) -> list[str]:
    if report is None:
        return [web_component(major)]
    wanted = ["metadatabase", "scheduler", "triggerer"] + (["dag_processor"] if major >= 3 else [])
    bad = []
    for key in wanted:
        status = (report.get(key) or {}).get("status")
        if status != "healthy":
            bad.append(_HEALTH_KEYS.get(key, web_component(major)))
    return bad


def wait_healthy(project: Project, state: RunState, major: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    bad: list[str] = []
    while time.monotonic() < deadline:
        dead = [name for name, alive in state.alive().items() if not alive]
        owner = state.api_is_ours()
        if owner is False:  # someone else answers on our port: never health-check them
            raise PortTaken(int(state.ports["api"]))
        if dead:
            raise DevEnvError(
                f"Airflow {dead[0]} exited during start-up; last log lines:\n"
                + tail(component_log(project, dead[0]), 15)
            )
        bad = unhealthy_components(health(state.url, major) if owner else None, major)
        if not bad:
            return
        time.sleep(1)
    raise DevEnvError(
        f"Airflow was not healthy after {int(timeout)}s: {', '.join(bad)} not healthy at "
        f"{state.url}; last lines of the {bad[0]} log:\n" + tail(component_log(project, bad[0]), 15)
    )


def stop(project: Project, grace: float = 20.0) -> list[str]:
    """Terminate every component's process group; data stays. Returns what was stopped."""
    state = read_state(project)
    if state is None:
        return []
    # Only processes this start launched: a reused pid belongs to someone else.
    running = {name: pid for name, pid in state.pids.items() if state.is_running(name)}
    for pid in running.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_group_alive(p) for p in running.values()):
        time.sleep(0.2)
    for pid in running.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    _state_file(project).unlink(missing_ok=True)
    return list(running)


def kill(project: Project) -> list[str]:
    """Stop and delete the metadata DB, logs and local keys (``.flightdeck/airflow``)."""
    stopped = stop(project, grace=5.0)
    shutil.rmtree(project.airflow_home, ignore_errors=True)
    return stopped


def tail(path: Path, lines: int) -> str:
    if not path.exists():
        return f"(no log at {path})"
    content = path.read_text(errors="replace").splitlines()
    return "\n".join(content[-lines:])


def last_error_line(path: Path) -> str:
    lines = [line for line in tail(path, 40).splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or "error" in line]
    return (errors or lines or ["no output"])[-1].strip()[:300]


def follow(paths: list[Path], poll: float = 0.5) -> Iterator[str]:
    """Yield new lines appended to ``paths`` until interrupted (``dev logs -f``)."""
    offsets = {path: path.stat().st_size if path.exists() else 0 for path in paths}
    while True:
        for path in paths:
            if not path.exists():
                continue
            with path.open(errors="replace") as handle:
                handle.seek(offsets[path])
                chunk = handle.read()
                offsets[path] = handle.tell()
            for line in chunk.splitlines():
                yield f"{path.stem} | {line}"
        time.sleep(poll)


def run_airflow(prepared: Prepared, args: list[str]) -> int:
    """``airflow <args>`` in the project's venv with the same environment as its processes."""
    env = environment(prepared, current_ports(prepared))
    if not (prepared.project.airflow_home / "airflow.db").exists():
        ensure_database(prepared, env, lambda _msg: None)
    return subprocess.run(
        [str(prepared.python), "-m", "airflow", *args],
        env=env,
        cwd=prepared.project.root,
        check=False,
    ).returncode


_PARSE_SCRIPT = """
import json, sys
from airflow.models import DagBag
bag = DagBag(dag_folder=sys.argv[1])  # examples are off: AIRFLOW__CORE__LOAD_EXAMPLES
print("FLIGHTDECK-PARSE " + json.dumps({
    "dags": sorted(bag.dag_ids),
    "errors": {path: str(error) for path, error in bag.import_errors.items()},
}))
"""


def parse_dags(prepared: Prepared) -> tuple[list[str], dict[str, str]]:
    """Import every DAG file the way the dag processor does; returns DAG ids and errors."""
    env = environment(prepared, current_ports(prepared))
    if not (prepared.project.airflow_home / "airflow.db").exists():
        ensure_database(prepared, env, lambda _msg: None)
    return parse_dag_folder(prepared.python, env, prepared.project.dags_dir, prepared.project.root)


def parse_dag_folder(
    python: Path,
    env: dict[str, str],
    dags_dir: Path,
    cwd: Path,
    timeout: float | None = None,
    sandbox: Sandbox | None = None,
    holder: netns.Holder | None = None,
) -> tuple[list[str], dict[str, str]]:
    """Import every DAG file under ``dags_dir`` with ``python``; returns DAG ids and errors.

    Errors map each failing file (absolute path) to Airflow's message for it. Importing runs
    the files' code: the local runtime passes its Deployment's ``sandbox`` (and the network
    namespace ``holder`` of this parse).
    """
    command = [str(python), "-c", _PARSE_SCRIPT, str(dags_dir)]
    try:
        result = subprocess.run(
            contained(sandbox, command, cwd, holder),
            env=env,
            capture_output=True,
            text=True,
            cwd=cwd,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise DevEnvError(
            f"Parsing DAGs took longer than {timeout:.0f}s; a DAG file does slow work at import "
            "time (network calls, big queries): move that work into tasks"
        ) from None
    for line in result.stdout.splitlines():
        if line.startswith("FLIGHTDECK-PARSE "):
            data = json.loads(line.removeprefix("FLIGHTDECK-PARSE "))
            return data["dags"], data["errors"]
    raise DevEnvError(
        "Parsing DAGs failed before any DAG was read: "
        + (result.stderr.strip().splitlines() or ["no output"])[-1][:300]
    )


def import_error_summary(errors: dict[str, str], root: Path) -> dict[str, str]:
    """Each failing file, relative to ``root``, with the line that says what went wrong (a
    traceback's last) and where in that file: what `dev parse`, `deploy` and the local
    runtime report."""
    summary: dict[str, str] = {}
    for path, text in sorted(errors.items()):
        try:
            relative = Path(path).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            relative = path
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        line = (lines or ["import failed"])[-1][:300]
        where = re.findall(rf"File \"{re.escape(path)}\", line (\d+)", text)
        summary[relative] = f"{line} (line {where[-1]})" if where else line
    return summary


def project_test_environment(prepared: Prepared, env: dict[str, str]) -> dict[str, str]:
    """``env`` as the project's own tests see it: ``AIRFLOW_HOME`` is the project, as in an
    Astro image, so Astro's DAG-integrity test finds DAG paths relative to the project (what
    ``.astro/dag_integrity_exceptions.txt`` lists). Airflow's configuration, database and logs
    stay in flightdeck's home through ``AIRFLOW_CONFIG`` and the explicit settings."""
    home = prepared.project.airflow_home
    return env | {
        "AIRFLOW_HOME": str(prepared.project.root),
        "AIRFLOW_CONFIG": env.get("AIRFLOW_CONFIG") or str(home / "airflow.cfg"),
    }


def run_pytest(prepared: Prepared, args: list[str]) -> int:
    env = environment(prepared, current_ports(prepared))
    if not (prepared.project.airflow_home / "airflow.db").exists():
        ensure_database(prepared, env, lambda _msg: None)
    targets = args or ["tests"]
    return subprocess.run(
        [str(prepared.python), "-m", "pytest", *targets],
        env=project_test_environment(prepared, env),
        cwd=prepared.project.root,
        check=False,
    ).returncode
