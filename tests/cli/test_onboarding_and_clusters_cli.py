"""The zero-ticket path with the CLI alone, against the embedded default: sign up, create
the role as the customer, verify it, pass preflight, get an Active cluster, delete it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cli.conftest import Server, run_cli, sign_up_and_verify

PASSWORD = "correct horse battery staple"
CUSTOMER = "222222222222"


def test_signup_to_active_cluster_and_back_with_the_cli(
    embedded_server: Server, tmp_path: Path
) -> None:
    data_dir = Path(os.environ["FLIGHTDECK_DATA_DIR"])
    env = {**os.environ, "FLIGHTDECK_CONFIG_DIR": str(tmp_path / "cfg"),
           "FLIGHTDECK_PASSWORD": PASSWORD,
           # The customer's own credentials: the profile the embedded emulator wrote.
           "AWS_CONFIG_FILE": str(data_dir / "aws" / "config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(data_dir / "aws" / "credentials")}

    def cli(*args: str) -> str:
        result = run_cli(*args, env=env)
        assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
        return result.stdout

    sign_up_and_verify(env, "owner@acme.example", "--organization", "Acme")
    created = json.loads(cli("aws", "role", "create", "--profile", "customer", "--json"))
    assert created["role_arn"] == f"arn:aws:iam::{CUSTOMER}:role/flightdeck-remote-management"
    assert created["registered"] is True

    verified = json.loads(cli("aws", "account", "verify", CUSTOMER, "--json"))
    assert verified["status"] == "verified", verified["checks"]
    assert {c["name"] for c in verified["checks"]} >= {"assume_role", "trust_policy",
                                                        "permissions"}

    preflight = json.loads(cli("cluster", "preflight", "--account", CUSTOMER,
                               "--region", "us-east-1", "--json"))
    assert preflight["status"] == "pass", preflight["checks"]

    watched = cli("cluster", "create", "prod", "--account", CUSTOMER, "--watch")
    assert "cluster prod: Active" in watched
    cluster = json.loads(cli("cluster", "get", "prod", "--json"))
    assert cluster["phase"] == "Active"
    assert cluster["conditions"]["eks_cluster"]["state"] == "Ready"
    assert any(e["action"] == "created" for e in cluster["events"])

    mail = json.loads(cli("notifications", "list", "--json"))
    assert [(m["recipient"], m["subject"]) for m in mail] == [
        ("owner@acme.example", "flightdeck: cluster prod is Active")]

    plan = json.loads(cli("cluster", "plan", "prod", "--json"))
    assert all(change["action"] != "create" for change in plan), plan

    deleted = cli("cluster", "delete", "prod", "--yes", "--watch")
    assert "cluster prod: Deleted" in deleted
    final = json.loads(cli("cluster", "get", "prod", "--json"))
    assert final["phase"] == "Deleted"
    assert any(e["action"] == "deleted" for e in final["events"])
    assert "Traceback" not in embedded_server.log.read_text()


def test_a_wrongly_trusting_role_is_refused_with_its_fix(
    embedded_server: Server, tmp_path: Path
) -> None:
    env = {**os.environ, "FLIGHTDECK_CONFIG_DIR": str(tmp_path / "cfg"),
           "FLIGHTDECK_PASSWORD": PASSWORD}
    sign_up_and_verify(env, "o@acme.example", "--organization", "Acme")
    # Registered, but the role was never created in the account: verification says how.
    added = run_cli("aws", "account", "add", CUSTOMER, "--json", env=env)
    assert added.returncode == 1
    report = json.loads(added.stdout)
    assert report["status"] == "failed"
    failing = [c for c in report["checks"] if c["status"] == "fail"]
    assert failing and all(c["remedy"] for c in failing)
    refused = run_cli("cluster", "create", "prod", "--account", CUSTOMER, env=env)
    assert refused.returncode == 1
    assert refused.stderr.startswith("Error: account: ") and "verify" in refused.stderr
