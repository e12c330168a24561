"""The two programs the kubernetes runtime ships into pods, run here for real: the metadata
bootstrap (the Job's exact shell and SQL, through psql against the PostgreSQL server on
loopback) and the fetch-dags init container (its exact Python, against the emulator's S3)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from sqlalchemy import text

from flightdeck.db.engine import make_engine
from flightdeck.runtime import k8s_objects
from flightdeck.runtime.base import ClusterOutputs, DeploymentSpec
from flightdeck.runtime.helm_values import FETCH_DAGS_SCRIPT

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TRICKY_PASSWORD = "pa'ss\"word; DROP ROLE postgres; --"


def job_command(mode: str) -> list[str]:
    spec = DeploymentSpec(
        id=str(uuid.uuid4()), name="n", organization_id="o", airflow_version="3.0.2"
    )
    cluster = ClusterOutputs("c", "n", "us-east-1", "1", db_endpoint="db.example", log_bucket="b")
    _, job = k8s_objects.bootstrap_objects(spec, cluster, None, mode)
    command: list[str] = job["spec"]["template"]["spec"]["containers"][0]["command"]
    return command


def run_bootstrap(mode: str, name: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "PGHOST": "127.0.0.1",
        "PGPORT": "5432",
        "PGDATABASE": "postgres",
        "PGUSER": "postgres",
        "PGSSLMODE": "disable",  # the Job uses require against RDS; loopback has no TLS
        "TARGET_ROLE": name,
        "TARGET_DATABASE": name,
        "TARGET_PASSWORD": TRICKY_PASSWORD,
    }
    return subprocess.run(job_command(mode), env=env, capture_output=True, text=True, check=False)


@pytest.mark.postgres
def test_bootstrap_creates_an_isolated_database_repeatably_and_drops_it() -> None:
    name = f"airflow_test_{uuid.uuid4().hex[:12]}"
    engine = make_engine(ADMIN_URL)
    try:
        for _ in range(2):  # the Job may run again on every apply
            created = run_bootstrap("create", name)
            assert created.returncode == 0, created.stderr
        with engine.connect() as connection:
            role = connection.execute(
                text(
                    "SELECT rolcanlogin, rolpassword IS NOT NULL, rolsuper FROM pg_authid "
                    "WHERE rolname = :n"
                ),
                {"n": name},
            ).one()
            assert tuple(role) == (True, True, False)
            owner, public_connect = connection.execute(
                text(
                    "SELECT pg_get_userbyid(datdba), has_database_privilege('public', oid, "
                    "'CONNECT') FROM pg_database WHERE datname = :n"
                ),
                {"n": name},
            ).one()
            assert owner == name
            assert public_connect is False  # other Deployments' roles cannot connect
            assert (
                connection.execute(
                    text("SELECT count(*) FROM pg_roles WHERE rolname = 'postgres'")
                ).scalar()
                == 1
            )
        for _ in range(2):
            dropped = run_bootstrap("drop", name)
            assert dropped.returncode == 0, dropped.stderr
        with engine.connect() as connection:
            assert (
                connection.execute(
                    text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}
                ).scalar()
                == 0
            )
            assert (
                connection.execute(
                    text("SELECT count(*) FROM pg_roles WHERE rolname = :n"), {"n": name}
                ).scalar()
                == 0
            )
    finally:
        run_bootstrap("drop", name)
        engine.dispose()


# -- fetch-dags ------------------------------------------------------------------------------
def archive(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, body in members.items():
            data = body.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def bucket(emulator_env: Any) -> tuple[dict[str, str], Any, str]:
    creds = emulator_env.customer_credentials()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ["HOME"],
        "AWS_ACCESS_KEY_ID": creds.access_key_id,
        "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": emulator_env.endpoint_url,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=emulator_env.endpoint_url,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
    )
    name = "flightdeck-logs-test"
    s3.create_bucket(Bucket=name)
    return env, s3, name


def fetch(
    env: dict[str, str], bucket: str, key: str, dags: Path
) -> subprocess.CompletedProcess[str]:
    dags.mkdir(parents=True, exist_ok=True)  # the emptyDir mount
    full = env | {
        "FLIGHTDECK_BUNDLE_BUCKET": bucket,
        "FLIGHTDECK_BUNDLE_KEY": key,
        "FLIGHTDECK_DAGS_FOLDER": str(dags),
    }
    return subprocess.run(
        [sys.executable, "-c", FETCH_DAGS_SCRIPT],
        env=full,
        capture_output=True,
        text=True,
        check=False,
    )


def test_fetch_dags_extracts_only_the_dags_folder(
    bucket: tuple[dict[str, str], Any, str], tmp_path: Path
) -> None:
    env, s3, name = bucket
    s3.put_object(
        Bucket=name,
        Key="deployments/x/bundles/d-1.tar.gz",
        Body=archive({"dags/a.py": "A", "dags/sub/b.py": "B", "include/secret.txt": "no"}),
    )
    dags = tmp_path / "opt" / "airflow" / "dags"
    result = fetch(env, name, "deployments/x/bundles/d-1.tar.gz", dags)
    assert result.returncode == 0, result.stderr
    assert sorted(str(p.relative_to(dags)) for p in dags.rglob("*.py")) == ["a.py", "sub/b.py"]
    assert not (tmp_path / "opt" / "airflow" / "include").exists()


def test_fetch_dags_without_a_deploy_leaves_the_folder_empty(
    bucket: tuple[dict[str, str], Any, str], tmp_path: Path
) -> None:
    env, _, name = bucket
    dags = tmp_path / "dags"
    result = fetch(env, name, "", dags)
    assert result.returncode == 0 and "no code deployed yet" in result.stdout
    assert list(dags.iterdir()) == []


def test_fetch_dags_refuses_a_member_that_escapes(
    bucket: tuple[dict[str, str], Any, str], tmp_path: Path
) -> None:
    env, s3, name = bucket
    s3.put_object(Bucket=name, Key="evil.tar.gz", Body=archive({"dags/../../escaped.py": "x"}))
    result = fetch(env, name, "evil.tar.gz", tmp_path / "opt" / "airflow" / "dags")
    assert result.returncode != 0
    assert not (tmp_path / "escaped.py").exists()


def test_job_and_init_container_commands_are_what_these_tests_run() -> None:
    spec = DeploymentSpec(
        id=str(uuid.uuid4()), name="n", organization_id="o", airflow_version="3.0.2"
    )
    cluster = ClusterOutputs("c", "n", "us-east-1", "1", db_endpoint="db", log_bucket="b")
    create, drop = job_command("create"), job_command("drop")
    assert create[:2] == drop[:2] == ["sh", "-c"]
    assert "CREATE DATABASE" in create[2] and "DROP DATABASE" in drop[2]
    from flightdeck.runtime.helm_values import render_values

    init = render_values(replace(spec), cluster)["scheduler"]["extraInitContainers"][0]
    assert init["command"] == ["python", "-c", FETCH_DAGS_SCRIPT]
