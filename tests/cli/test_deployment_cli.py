"""`flightdeck deployment` against the embedded server (emulator, worker, local runtime):
create on an Active cluster and wait until Healthy, read it back without its secret,
update it, see the deploy history, delete it and its Airflow processes."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest

from cli.conftest import Server, run_cli, sign_up_and_verify
from devenv.cli_helpers import VENV_CACHE

PASSWORD = "correct horse battery staple"
CUSTOMER = "222222222222"
SECRET = "never-shown-again-7f3a"


@pytest.fixture(autouse=True)
def shared_venvs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's local runtime reuses the machine's Airflow venvs."""
    monkeypatch.setenv("FLIGHTDECK_DEV_CACHE_DIR", VENV_CACHE)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_deployment_lifecycle_with_the_cli(embedded_server: Server, tmp_path: Path) -> None:
    data_dir = Path(os.environ["FLIGHTDECK_DATA_DIR"])
    env = {**os.environ, "FLIGHTDECK_CONFIG_DIR": str(tmp_path / "cfg"),
           "FLIGHTDECK_PASSWORD": PASSWORD,
           "AWS_CONFIG_FILE": str(data_dir / "aws" / "config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(data_dir / "aws" / "credentials")}

    def cli(*args: str, ok: bool = True) -> str:
        # A --wait waits for Airflow to start or restart, which takes minutes on a busy machine.
        result = run_cli(*args, env=env, timeout=900 if "--wait" in args else 60)
        if ok:
            assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
            return result.stdout
        assert result.returncode != 0, f"{args} should fail"
        assert "Traceback" not in result.stderr
        return result.stderr

    sign_up_and_verify(env, "owner@acme.example", "--organization", "Acme")
    cli("workspace", "create", "data")
    cli("aws", "role", "create", "--profile", "customer")
    cli("aws", "account", "verify", CUSTOMER)
    cli("cluster", "create", "prod", "--account", CUSTOMER, "--watch")

    refused = cli("deployment", "create", "etl", "--workspace", "data", "--cluster", "nope",
                  ok=False)
    assert "cluster: 'nope' not found (Active clusters: prod)" in refused
    refused = cli("deployment", "create", "etl", "--workspace", "data", "--cluster", "prod",
                  "--env", "NO_EQUALS_SIGN", ok=False)
    assert "--env 'NO_EQUALS_SIGN': expected KEY=VALUE" in refused

    created = json.loads(cli("deployment", "create", "etl", "--workspace", "data",
                             "--cluster", "prod", "--env", "TZ=UTC",
                             "--secret-env", f"API_KEY={SECRET}", "--wait", "--json"))
    assert created["phase"] == "Healthy", created
    assert created["secret_environment_keys"] == ["API_KEY"]
    port = urlparse(created["airflow_url"]).port
    assert port and _listening(port)

    shown = cli("deployment", "get", "etl")
    assert "Healthy" in shown and "API_KEY" in shown and SECRET not in shown
    rendered = cli("deployment", "manifests", "etl")  # what the kubernetes runtime applies
    assert "# Helm values" in rendered and "kind: ResourceQuota" in rendered
    assert SECRET not in rendered
    listed = json.loads(cli("deployment", "list", "--json"))
    assert [d["name"] for d in listed] == ["etl"]
    assert SECRET not in json.dumps(listed)

    updated = json.loads(cli("deployment", "update", "etl", "--max-workers", "3", "--wait",
                             "--json"))
    assert updated["worker_queue"]["max_workers"] == 3
    assert updated["generation"] == 2 and updated["phase"] == "Healthy"
    assert json.loads(cli("deployment", "deploys", "etl", "--json")) == []

    deleted = json.loads(cli("deployment", "delete", "etl", "--yes", "--wait", "--json"))
    assert deleted["phase"] == "Deleted"
    assert not _listening(port)
    assert not (data_dir / "deployments" / created["id"]).exists()
    assert "Traceback" not in embedded_server.log.read_text()
