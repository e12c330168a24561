"""Bad input stops the real CLI with one ``Error:`` line and starts (or installs) nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devenv.cli_helpers import run_cli


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    result = run_cli("dev", "init", str(root), "--airflow-version", "3.1.0")
    assert result.returncode == 0, result.stderr
    return root


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "FLIGHTDECK_DEV_CACHE_DIR": str(cache)}


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        (".env", "AIRFLOW__CORE__LOAD_EXAMPLES\n", "Error: .env line 1: expected KEY=VALUE"),
        ("airflow_settings.yaml", "airflow:\n  pools: [\n", "Error: airflow_settings.yaml line"),
        (
            ".flightdeck/config.yaml",
            'airflow_version: "1.10.15"\n',
            "Error: .flightdeck/config.yaml",
        ),
        ("Dockerfile", "FROM ubuntu:22.04\n", None),
    ],
)
def test_bad_input_is_one_line_and_starts_nothing(
    project: Path, tmp_path: Path, file: str, content: str, message: str | None
) -> None:
    if file == "Dockerfile":  # an Astro-style project whose base image says nothing
        (project / ".flightdeck" / "config.yaml").write_text("api_port: 8080\n")
        message = "Error: Dockerfile: cannot tell the Airflow version"
    (project / file).write_text(content)
    cache = tmp_path / "cache"
    result = run_cli("dev", "start", "--project-dir", str(project), env=_env(cache))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (project / ".flightdeck" / "airflow").exists()
    assert not cache.exists()  # nothing was installed either


def test_init_refuses_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("x")
    result = run_cli("dev", "init", str(tmp_path))
    assert result.returncode != 0
    assert result.stderr.strip().startswith("Error:") and "--force" in result.stderr


def test_secrets_use_writes_env_and_check_requires_known_profile(project: Path) -> None:
    result = run_cli(
        "dev", "secrets", "use", "aws-secrets-manager", "--region", "eu-west-1",
        "--project-dir", str(project),
    )
    assert result.returncode == 0, result.stderr
    assert "AIRFLOW__SECRETS__BACKEND_KWARGS=" in (project / ".env").read_text()
    result = run_cli("dev", "aws", "use", "--profile", "nope", "--project-dir", str(project))
    assert result.returncode != 0
    assert result.stderr.startswith("Error: --profile 'nope' is not in your AWS config")


def test_aws_use_records_an_sso_profile(project: Path) -> None:
    config = Path(os.environ["AWS_CONFIG_FILE"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        "[profile data-eng]\nsso_session = corp\nsso_account_id = 111122223333\n"
        "sso_role_name = DataEngineer\nregion = eu-west-1\n\n"
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
        "sso_region = eu-west-1\n"
    )
    result = run_cli("dev", "aws", "use", "--profile", "data-eng", "--project-dir", str(project))
    assert result.returncode == 0, result.stderr
    assert "aws sso login --profile data-eng" in result.stdout
    assert "profile: data-eng" in (project / ".flightdeck" / "config.yaml").read_text()


def test_compose_command_writes_files(project: Path) -> None:
    result = run_cli("dev", "compose", "--platform", "windows", "--aws-dir", "D:/creds/.aws",
                     "--project-dir", str(project))
    assert result.returncode == 0, result.stderr
    assert "D:/creds/.aws" in (project / "docker-compose.override.yml").read_text()


_ALIAS_BOMB = (  # under 500 bytes that stand for 9**9 strings once a value is read
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{name}: &{name} [{','.join([f'*{previous}'] * 9)}]\n"
        for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "airflow:\n  variables:\n    - variable_name: boom\n      variable_value: *i\n"
)


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("file", "content", "says"),
    [
        ("airflow_settings.yaml", b"airflow:\n  connections: 5\n", "expected a list"),
        ("airflow_settings.yaml", b"airflow: " + b"[" * 5000, "levels deep"),
        ("airflow_settings.yaml", b"airflow:\n  pools: \xff\n", "line 2: byte 0xff"),
        ("airflow_settings.yaml", _ALIAS_BOMB.encode(), "anchors and aliases"),
        (".env", b"A=1\nB=caf\xe9\n", ".env line 2: byte 0xe9 is not UTF-8"),
        (".env", b"A=b\x00c\n", ".env line 1: contains a NUL byte"),
        ("Dockerfile", b"FROM apache/airflow:3.1.0\n\xff", "Dockerfile line 2"),
    ],
    ids=["connections-5", "deep", "non-utf8-yaml", "alias-bomb", "non-utf8-env", "nul", "docker"],
)
def test_hostile_project_files_are_one_line(
    project: Path, tmp_path: Path, file: str, content: bytes, says: str
) -> None:
    if file == "Dockerfile":
        (project / ".flightdeck" / "config.yaml").write_text("api_port: 8080\n")
    (project / file).write_bytes(content)
    cache = tmp_path / "cache"
    result = run_cli("dev", "start", "--project-dir", str(project), env=_env(cache), timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and says in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not cache.exists()
