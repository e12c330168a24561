"""A developer's Airflow project on disk: scaffold it, find it, read its settings strictly.

Everything the native runner needs is derived from files in the project (its
``.flightdeck/config.yaml``, ``Dockerfile``, ``.env`` and ``airflow_settings.yaml``), so an
Astro CLI project works as it is and a bad file stops us before any process starts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flightdeck import airflow_versions
from flightdeck.airflow_versions import DEFAULT_AIRFLOW_VERSION
from flightdeck.devenv import templates
from flightdeck.devenv.astro import airflow_version_from_dockerfile
from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.safeyaml import SettingsYamlError, load_settings_yaml
from flightdeck.devenv.textfile import read_project_text

DEFAULT_API_PORT = 8080


def check_airflow_version(version: str, source: str) -> str:
    """The shared version policy (``flightdeck.airflow_versions``) as a devenv error."""
    try:
        return airflow_versions.check_airflow_version(version, source)
    except airflow_versions.UnsupportedAirflowVersion as exc:
        raise DevEnvError(str(exc)) from None


@dataclass(frozen=True)
class Connection:
    conn_id: str
    conn_type: str
    host: str | None = None
    schema: str | None = None
    login: str | None = None
    password: str | None = None
    port: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Pool:
    name: str
    slots: int
    description: str = ""
    include_deferred: bool = False


@dataclass(frozen=True)
class AirflowSettings:
    """The connections, pools and variables of ``airflow_settings.yaml`` (Astro's format)."""

    connections: list[Connection] = field(default_factory=list)
    pools: list[Pool] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectConfig:
    airflow_version: str
    api_port: int = DEFAULT_API_PORT
    aws_profile: str | None = None
    constraints: str | None = None  # a constraints file (path or URL) pinning dependencies


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def state_dir(self) -> Path:
        return self.root / ".flightdeck"

    @property
    def config_file(self) -> Path:
        return self.state_dir / "config.yaml"

    @property
    def airflow_home(self) -> Path:
        """Metadata DB, logs and process state: removed by ``dev kill``, kept by ``dev stop``."""
        return self.state_dir / "airflow"

    @property
    def env_file(self) -> Path:
        return self.root / ".env"

    @property
    def settings_file(self) -> Path:
        return self.root / "airflow_settings.yaml"

    @property
    def dags_dir(self) -> Path:
        return self.root / "dags"

    def load_config(self) -> ProjectConfig:
        raw = load_yaml(self.config_file) if self.config_file.exists() else {}
        if not isinstance(raw, dict):
            raise DevEnvError(".flightdeck/config.yaml: expected a mapping of settings")
        version = raw.get("airflow_version")
        source = ".flightdeck/config.yaml airflow_version"
        if version in (None, ""):
            version = airflow_version_from_dockerfile(self.root / "Dockerfile")
            source = "Dockerfile"
        if version is None:
            raise DevEnvError(
                "No Airflow version found: add airflow_version to .flightdeck/config.yaml or a "
                "Dockerfile FROM line (run `flightdeck dev init` to create a project)"
            )
        port = raw.get("api_port", DEFAULT_API_PORT)
        if not _is_port(port):
            raise DevEnvError(".flightdeck/config.yaml api_port: must be a port number 1-65535")
        aws = raw.get("aws") or {}
        if not isinstance(aws, dict):
            raise DevEnvError(".flightdeck/config.yaml aws: expected a mapping with 'profile'")
        profile = aws.get("profile")
        if profile is not None and not isinstance(profile, str):
            raise DevEnvError(".flightdeck/config.yaml aws.profile: must be a profile name")
        constraints = raw.get("constraints")
        if constraints is not None and (not isinstance(constraints, str) or not constraints):
            raise DevEnvError(
                ".flightdeck/config.yaml constraints: must be a constraints file path or URL "
                "(for example Airflow's constraints-3.11.txt)"
            )
        return ProjectConfig(
            airflow_version=check_airflow_version(str(version), source),
            api_port=port,
            aws_profile=profile or None,
            constraints=constraints,
        )

    def set_aws_profile(self, profile: str | None) -> None:
        """Record the AWS profile Airflow should use, keeping the rest of config.yaml."""
        raw: dict[str, Any] = {}
        if self.config_file.exists():
            loaded = load_yaml(self.config_file)
            raw = loaded if isinstance(loaded, dict) else {}
        raw.setdefault("aws", {})
        if not isinstance(raw["aws"], dict):
            raw["aws"] = {}
        raw["aws"]["profile"] = profile
        self.state_dir.mkdir(exist_ok=True)
        tmp = self.config_file.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
        tmp.replace(self.config_file)

    def load_settings(self) -> AirflowSettings:
        if not self.settings_file.exists():
            return AirflowSettings()
        return parse_settings(load_yaml(self.settings_file))


def find_project(start: Path) -> Project:
    """The project containing ``start``: the nearest directory with a dags/ folder or marker."""
    for candidate in (start, *start.parents):
        if (candidate / ".flightdeck" / "config.yaml").exists() or (
            (candidate / "dags").is_dir() and (candidate / "Dockerfile").exists()
        ):
            return Project(candidate)
    raise DevEnvError(
        f"{start} is not inside an Airflow project; run `flightdeck dev init` here first"
    )


def load_yaml(path: Path) -> Any:
    """Parse YAML safely (no aliases, bounded size and depth); anything refused becomes one
    message naming the file and line."""
    text = read_project_text(path)
    try:
        return load_settings_yaml(text)
    except SettingsYamlError as exc:
        where = f" line {exc.line}" if exc.line is not None else ""
        raise DevEnvError(f"{path.name}{where}: {exc.reason}") from None


def _entries(airflow: dict[str, Any], section: str) -> list[Any]:
    """A section of ``airflow:`` (connections, pools, variables): a list, or nothing."""
    value = airflow.get(section)
    if value is None or value == "":
        return []
    if not isinstance(value, list):
        raise DevEnvError(
            f"airflow_settings.yaml airflow.{section}: expected a list of entries "
            f"(each starting with '- '), not {type(value).__name__} {str(value)[:40]!r}"
        )
    return value


def _is_port(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def parse_settings(raw: Any) -> AirflowSettings:
    """Validate ``airflow_settings.yaml``; entries with an empty id are skipped like Astro does."""
    if raw is None:
        return AirflowSettings()
    airflow = raw.get("airflow") if isinstance(raw, dict) else None
    if not isinstance(airflow, dict):
        raise DevEnvError("airflow_settings.yaml: expected a top-level 'airflow:' mapping")
    connections: list[Connection] = []
    for index, item in enumerate(_entries(airflow, "connections")):
        where = f"airflow_settings.yaml connections[{index}]"
        if not isinstance(item, dict):
            raise DevEnvError(f"{where}: expected a mapping with conn_id and conn_type")
        if not item.get("conn_id"):
            continue
        if not item.get("conn_type"):
            raise DevEnvError(f"{where} ({item['conn_id']}): conn_type is required, e.g. aws")
        extra = item.get("conn_extra") or {}
        if isinstance(extra, str):
            try:
                extra = json.loads(extra)
            except json.JSONDecodeError:
                raise DevEnvError(f"{where}: conn_extra is not valid JSON; use a mapping") from None
        if not isinstance(extra, dict):
            raise DevEnvError(f"{where}: conn_extra must be a mapping")
        try:
            json.dumps(extra)
        except (TypeError, ValueError):
            raise DevEnvError(
                f"{where}: conn_extra must hold only strings, numbers, booleans, lists and "
                "mappings (quote dates and other values)"
            ) from None
        port = item.get("conn_port")
        if port not in (None, "") and not _is_port(port):
            raise DevEnvError(f"{where}: conn_port must be a port number 1-65535")
        connections.append(
            Connection(
                conn_id=str(item["conn_id"]),
                conn_type=str(item["conn_type"]),
                host=_text(item.get("conn_host")),
                schema=_text(item.get("conn_schema")),
                login=_text(item.get("conn_login")),
                password=_text(item.get("conn_password")),
                port=port if isinstance(port, int) else None,
                extra=extra,
            )
        )
    pools: list[Pool] = []
    for index, item in enumerate(_entries(airflow, "pools")):
        where = f"airflow_settings.yaml pools[{index}]"
        if not isinstance(item, dict):
            raise DevEnvError(f"{where}: expected a mapping with pool_name and pool_slot")
        if not item.get("pool_name"):
            continue
        slots = item.get("pool_slot")
        if not isinstance(slots, int) or isinstance(slots, bool) or slots < -1:
            raise DevEnvError(f"{where} ({item['pool_name']}): pool_slot must be a whole number")
        deferred = item.get("pool_include_deferred", False)
        if not isinstance(deferred, bool):
            raise DevEnvError(f"{where}: pool_include_deferred must be true or false")
        description = str(item.get("pool_description") or "")
        pools.append(Pool(str(item["pool_name"]), slots, description, deferred))
    variables: dict[str, str] = {}
    for index, item in enumerate(_entries(airflow, "variables")):
        if not isinstance(item, dict):
            raise DevEnvError(
                f"airflow_settings.yaml variables[{index}]: expected variable_name and "
                "variable_value"
            )
        if item.get("variable_name"):
            value = item.get("variable_value")
            variables[str(item["variable_name"])] = "" if value is None else str(value)
    return AirflowSettings(connections, pools, variables)


def init_project(root: Path, airflow_version: str | None, force: bool) -> list[Path]:
    """Write a new project; refuse a non-empty directory unless ``force`` (then keep user files).

    With ``force`` existing files are left as they are, so re-running init on an Astro project
    only adds what is missing.
    """
    dockerfile_version = (
        airflow_version_from_dockerfile(root / "Dockerfile") if airflow_version is None else None
    )
    version = check_airflow_version(airflow_version or DEFAULT_AIRFLOW_VERSION, "--airflow-version")
    if version.endswith("*"):
        raise DevEnvError("--airflow-version: give an exact release such as 3.1.0, not a wildcard")
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()) and not force:
        raise DevEnvError(
            f"{root} is not empty; run init in an empty directory or pass --force to add the "
            "missing project files (existing files are kept)"
        )
    files = {
        "dags/example_pipeline.py": templates.EXAMPLE_DAG,
        "dags/secrets_example.py": templates.SECRETS_EXAMPLE_DAG,
        "include/.gitkeep": "",
        "plugins/.gitkeep": "",
        "tests/dags/test_dag_integrity.py": templates.DAG_INTEGRITY_TEST,
        "requirements.txt": templates.REQUIREMENTS,
        "packages.txt": templates.PACKAGES,
        ".env": templates.ENV,
        "airflow_settings.yaml": templates.AIRFLOW_SETTINGS,
        "Dockerfile": templates.DOCKERFILE.format(version=version),
        # An existing Dockerfile (an Astro project) keeps deciding the version.
        ".flightdeck/config.yaml": templates.CONFIG.format(
            version="" if dockerfile_version else f'"{version}"'
        ),
        ".gitignore": templates.GITIGNORE,
    }
    written: list[Path] = []
    for relative, content in files.items():
        path = root / relative
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


def read_packages(project: Project) -> list[str]:
    """OS packages named in packages.txt (comments and blanks ignored)."""
    path = project.root / "packages.txt"
    if not path.exists():
        return []
    text = read_project_text(path)
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]
