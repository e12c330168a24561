"""Compose files against the Compose specification schema, and the native environment."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from flightdeck.devenv.airflow_env import Ports, airflow_environment, read_project_env
from flightdeck.devenv.compose import AWS_SERVICES, host_aws_dir, write_compose
from flightdeck.devenv.envfile import read_env_file
from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.ports import choose_ports
from flightdeck.devenv.project import Project, init_project
from flightdeck.devenv.secrets import backend_settings, use_backend


@pytest.fixture(scope="module")
def compose_schema() -> dict[str, object]:
    """The Compose specification's JSON schema, as shipped by check-jsonschema (a registry dep)."""
    from importlib.resources import files

    schema = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    return json.loads(schema.read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("platform", "home", "expected"),
    [
        ("linux", "/home/dana", "/home/dana/.aws"),
        ("darwin", "/Users/dana", "/Users/dana/.aws"),
        ("windows", "C:\\Users\\dana", "C:/Users/dana/.aws"),
    ],
)
def test_host_aws_dir_per_platform(platform: str, home: str, expected: str) -> None:
    assert host_aws_dir(platform, home) == expected


@pytest.mark.parametrize("version", ["3.1.0", "2.10.5"])
@pytest.mark.parametrize("platform", ["linux", "darwin", "windows"])
def test_compose_files_are_valid_and_mount_aws_read_only(
    tmp_path: Path, compose_schema: dict[str, object], version: str, platform: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("USERPROFILE", "C:\\Users\\dana")
    monkeypatch.setenv("HOME", "/Users/dana" if platform == "darwin" else "/home/dana")
    init_project(tmp_path, version, force=False)
    project = Project(tmp_path)
    write_compose(project, version, 8080, "analytics", platform)
    main = yaml.safe_load((tmp_path / "docker-compose.yaml").read_text())
    override = yaml.safe_load((tmp_path / "docker-compose.override.yml").read_text())
    jsonschema.validate(main, compose_schema)
    jsonschema.validate(override, compose_schema)
    major = int(version[0])
    assert sorted(override["services"]) == sorted(AWS_SERVICES[major])
    assert set(override["services"]) <= set(main["services"])
    expected_source = {
        "linux": "/home/dana/.aws", "darwin": "/Users/dana/.aws", "windows": "C:/Users/dana/.aws"
    }[platform]
    for service in override["services"].values():
        (mount,) = service["volumes"]
        assert mount == {"type": "bind", "source": expected_source,
                         "target": "/home/airflow/.aws", "read_only": True}
    web = "api-server" if major == 3 else "webserver"
    assert main["services"][web]["ports"] == ["127.0.0.1:8080:8080"]
    env = read_env_file(tmp_path / ".env")
    assert env["AWS_CONFIG_FILE"] == "/home/airflow/.aws/config"
    assert env["AWS_SHARED_CREDENTIALS_FILE"] == "/home/airflow/.aws/credentials"
    assert env["AWS_PROFILE"] == "analytics"


def test_schema_check_is_not_vacuous(compose_schema: dict[str, object]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"services": {"web": {"mounts_aws": True}}}, compose_schema)


def test_native_run_ignores_container_aws_paths(tmp_path: Path) -> None:
    init_project(tmp_path, "3.1.0", force=False)
    project = Project(tmp_path)
    write_compose(project, "3.1.0", 8080, None, "linux")
    dotenv, notes = read_project_env(project)
    assert "AWS_CONFIG_FILE" not in dotenv and "AWS_SHARED_CREDENTIALS_FILE" not in dotenv
    assert len(notes) == 2


def test_environment_precedence(tmp_path: Path) -> None:
    init_project(tmp_path, "3.1.0", force=False)
    project = Project(tmp_path)
    project.set_aws_profile("recorded")
    (tmp_path / ".env").write_text("AIRFLOW__CORE__EXECUTOR=CustomExecutor\nMY_SETTING=1\n")
    config = project.load_config()
    dotenv, _ = read_project_env(project)
    shell = {"AWS_PROFILE": "from-shell", "AWS_CONFIG_FILE": "/somewhere/config",
             "AIRFLOW_HOME": "/elsewhere"}
    env = airflow_environment(project, config, Ports(9999, 9001, 9002), dotenv, base=shell)
    assert env["AWS_PROFILE"] == "recorded"  # the project's recorded choice beats the shell
    assert env["AWS_CONFIG_FILE"] == "/somewhere/config"  # the developer's AWS files pass through
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CustomExecutor"  # .env beats flightdeck defaults
    assert env["MY_SETTING"] == "1"
    assert env["AIRFLOW_HOME"] == str(project.airflow_home)  # the supervisor's values always win
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:9999/execution/"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith(".flightdeck/airflow/airflow.db")
    (tmp_path / ".env").write_text("AWS_PROFILE=from-dotenv\n")
    dotenv, _ = read_project_env(project)
    env = airflow_environment(project, config, Ports(9999, 9001, 9002), dotenv, base=shell)
    assert env["AWS_PROFILE"] == "from-dotenv"


def test_busy_ports_are_replaced() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        chosen = choose_ports({"api": taken, "other": taken})
    assert chosen["api"] != taken and chosen["other"] not in (taken, chosen["api"])


@pytest.mark.parametrize(
    ("kind", "path_suffix", "conn_prefix"),
    [
        ("aws-secrets-manager", "SecretsManagerBackend", "airflow/connections"),
        ("aws-ssm", "SystemsManagerParameterStoreBackend", "/airflow/connections"),
    ],
)
def test_secrets_backend_is_written_as_valid_json(
    tmp_path: Path, kind: str, path_suffix: str, conn_prefix: str
) -> None:
    init_project(tmp_path, "3.1.0", force=False)
    project = Project(tmp_path)
    use_backend(project, backend_settings(kind, "eu-west-1", None, "team/vars"))
    env = read_env_file(project.env_file)
    assert env["AIRFLOW__SECRETS__BACKEND"].endswith(path_suffix)
    assert json.loads(env["AIRFLOW__SECRETS__BACKEND_KWARGS"]) == {
        "connections_prefix": conn_prefix, "variables_prefix": "team/vars",
        "region_name": "eu-west-1",
    }
    # Writing again replaces rather than duplicates.
    use_backend(project, backend_settings(kind, None, None, None))
    assert project.env_file.read_text().count("AIRFLOW__SECRETS__BACKEND=") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("vault", None), "not known"),
        (("aws-secrets-manager", "Europe"), "--region 'Europe'"),
    ],
)
def test_secrets_backend_bad_input(args: tuple[str, str | None], message: str) -> None:
    with pytest.raises(DevEnvError, match=message):
        backend_settings(args[0], args[1], None, None)


def test_bad_backend_kwargs_in_env_is_refused(tmp_path: Path) -> None:
    init_project(tmp_path, "3.1.0", force=False)
    (tmp_path / ".env").write_text("AIRFLOW__SECRETS__BACKEND_KWARGS={not json}\n")
    with pytest.raises(DevEnvError, match="BACKEND_KWARGS: not valid JSON"):
        read_project_env(Project(tmp_path))
