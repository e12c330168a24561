"""Try a project's dependencies and an Airflow upgrade in throw-away environments.

``dev test-requirements`` resolves requirements.txt for the project's Airflow and
``dev upgrade-test`` builds the target Airflow's environment, compares it with the current
one, imports the DAGs with it and (for a move from Airflow 2 to 3) runs ruff's Airflow rules.
Nothing here touches the project's cached venv or its metadata database: each environment
and Airflow home lives in a temporary directory (uv's download cache keeps rebuilds quick).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flightdeck.airflow_versions import airflow_major
from flightdeck.devenv import supervisor, venvs
from flightdeck.devenv.airflow_env import Ports
from flightdeck.devenv.dockerfile import read_dockerfile
from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.ports import free_port
from flightdeck.devenv.project import Project, ProjectConfig, check_airflow_version

Echo = Callable[[str], None]


@dataclass(frozen=True)
class DependencyDiff:
    added: dict[str, str] = field(default_factory=dict)
    removed: dict[str, str] = field(default_factory=dict)
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (old, new)


def diff_packages(current: dict[str, str], target: dict[str, str]) -> DependencyDiff:
    """What moving from ``current`` to ``target`` (name -> version) adds, removes, changes."""
    return DependencyDiff(
        added={name: target[name] for name in sorted(target.keys() - current.keys())},
        removed={name: current[name] for name in sorted(current.keys() - target.keys())},
        changed={
            name: (current[name], target[name])
            for name in sorted(current.keys() & target.keys())
            if current[name] != target[name]
        },
    )


@dataclass(frozen=True)
class RequirementsReport:
    airflow_version: str
    bound: str  # how versions were bounded (constraints file or release date)
    installed: int = 0  # packages in the resolved environment
    conflict: venvs.ResolutionConflict | None = None

    def as_document(self) -> dict[str, object]:
        conflict = self.conflict
        return {
            "airflow_version": self.airflow_version,
            "bound": self.bound,
            "ok": conflict is None,
            "installed": self.installed,
            "conflict": None
            if conflict is None
            else {"packages": conflict.packages, "explanation": conflict.explanation},
        }


@dataclass(frozen=True)
class AirFinding:
    """One ruff AIR finding: a DAG-file construct that changes or goes in Airflow 3."""

    path: str  # relative to the project
    line: int
    code: str
    message: str


@dataclass(frozen=True)
class UpgradeReport:
    current_version: str
    target_version: str
    diff: DependencyDiff
    dags: list[str]
    import_errors: dict[str, str]  # DAG file (relative) -> the line that says why
    air_findings: list[AirFinding] | None  # None: not an Airflow 2 -> 3 move

    def as_document(self) -> dict[str, object]:
        return {
            "current_airflow_version": self.current_version,
            "target_airflow_version": self.target_version,
            "dependencies": {
                "added": self.diff.added,
                "removed": self.diff.removed,
                "changed": {k: {"from": a, "to": b} for k, (a, b) in self.diff.changed.items()},
            },
            "dags": self.dags,
            "import_errors": self.import_errors,
            "ruff_air": None
            if self.air_findings is None
            else [finding.__dict__ for finding in self.air_findings],
        }


@contextlib.contextmanager
def throwaway_venv(resolution: venvs.Resolution) -> Iterator[Path]:
    """Build ``resolution`` in a temporary directory, removed on exit."""
    with tempfile.TemporaryDirectory(prefix="flightdeck-try-") as directory:
        venv = Path(directory) / "venv"
        venvs.build(venv, resolution)
        yield venv


def test_requirements(project: Project, constraints: str | None, echo: Echo) -> RequirementsReport:
    """Resolve and install requirements.txt for the project's Airflow, in a throw-away venv."""
    config = project.load_config()
    steps = read_dockerfile(project.root / "Dockerfile")
    resolution = supervisor.resolution_for(project, config, steps, constraints=constraints)
    echo(f"Resolving requirements.txt with Airflow {config.airflow_version} ...")
    try:
        with throwaway_venv(resolution) as venv:
            count = len(venvs.installed_packages(venv))
    except venvs.ResolutionConflict as conflict:
        return RequirementsReport(config.airflow_version, resolution.bound(), 0, conflict)
    return RequirementsReport(config.airflow_version, resolution.bound(), count)


def upgrade_test(
    project: Project, target_version: str, constraints: str | None, echo: Echo
) -> UpgradeReport:
    """Compare the project's environment with ``target_version``'s and import the DAGs with it."""
    target = check_airflow_version(target_version, "--airflow-version")
    current = supervisor.prepare(project, echo, constraints)
    steps = read_dockerfile(project.root / "Dockerfile")
    resolution = supervisor.resolution_for(project, current.config, steps, target, constraints)
    echo(f"Building a throw-away Airflow {target} environment ...")
    with throwaway_venv(resolution) as venv:
        diff = diff_packages(venvs.installed_packages(current.venv), venvs.installed_packages(venv))
        dags, errors = _import_dags(current, target, venv)
    findings = None
    if airflow_major(current.config.airflow_version) < 3 <= airflow_major(target):
        findings = ruff_airflow_rules(project)
    return UpgradeReport(
        current.config.airflow_version, target, diff, dags,
        supervisor.import_error_summary(errors, project.root), findings,
    )  # fmt: skip


def _import_dags(
    current: supervisor.Prepared, target: str, venv: Path
) -> tuple[list[str], dict[str, str]]:
    """Import the DAG folder with ``venv``'s Airflow against a fresh, temporary database."""
    config = ProjectConfig(target, current.config.api_port, current.config.aws_profile)
    prepared = supervisor.Prepared(
        current.project, config, current.settings, current.dotenv, venv, []
    )
    ports = Ports(free_port(), free_port(), free_port())
    env = supervisor.environment(prepared, ports)
    with tempfile.TemporaryDirectory(prefix="flightdeck-upgrade-home-") as home:
        env |= {
            "AIRFLOW_HOME": home,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": f"{home}/logs",
        }
        migrate = subprocess.run(
            [str(prepared.python), "-m", "airflow", "db", "migrate"],
            env=env, capture_output=True, text=True, cwd=current.project.root, check=False,
        )  # fmt: skip
        if migrate.returncode != 0:
            lines = (migrate.stderr or migrate.stdout).strip().splitlines() or ["no output"]
            raise DevEnvError(f"Airflow {target} could not create its database: {lines[-1]}")
        return supervisor.parse_dag_folder(
            prepared.python, env, current.project.dags_dir, current.project.root
        )


def ruff_airflow_rules(project: Project) -> list[AirFinding]:
    """ruff's AIR rules over the project's DAGs, plugins and include/ (what an Airflow 3 move
    breaks: removed imports, renamed arguments, changed defaults)."""
    from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]

    targets = [
        str(path) for path in (project.dags_dir, project.root / "plugins", project.root / "include")
        if path.is_dir()
    ]  # fmt: skip
    if not targets:
        return []
    command = [
        find_ruff_bin(), "check", "--isolated", "--preview", "--select", "AIR",
        "--output-format", "json", "--exit-zero", *targets,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, cwd=project.root, check=False)
    if result.returncode != 0:
        raise DevEnvError(f"ruff's Airflow rules did not run: {result.stderr.strip()[:300]}")
    findings: list[AirFinding] = []
    for item in json.loads(result.stdout or "[]"):
        path = Path(item["filename"])
        with contextlib.suppress(ValueError):
            path = path.resolve().relative_to(project.root.resolve())
        findings.append(
            AirFinding(path.as_posix(), item["location"]["row"], item["code"], item["message"])
        )
    return findings
