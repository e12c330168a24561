"""`flightdeck aws policy changes` and its API, against a real server, database and emulator:
the customer's role holds an older version, the governance pass publishes the newer one."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx

from cli.conftest import Server, run_cli, sign_up_and_verify
from flightdeck.aws import session as aws
from flightdeck.aws.emulator import RunningEmulator
from flightdeck.aws.permissions import POLICY_VERSION, managed_policy_document
from flightdeck.db.engine import make_engine, make_session_factory
from flightdeck.services.governance.worker import GovernanceWorker, role_policies
from services.test_governance import GAINED, without, write_catalog
from support.emulator import sessions_for

PASSWORD = "correct horse battery staple"


def test_policy_changes_show_the_pending_expansion_and_the_timeline(
    emulator_env: RunningEmulator, customer_profile: str, server: Server, database_url: str,
    tmp_path: Path,
) -> None:
    env = {**os.environ, "FLIGHTDECK_CONFIG_DIR": str(tmp_path / "cfg"),
           "FLIGHTDECK_PASSWORD": PASSWORD}

    def cli(*args: str) -> str:
        result = run_cli(*args, env=env)
        assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
        return result.stdout

    sign_up_and_verify(env, "owner@acme.example", "--organization", "Acme",
                       database_url=server.database_url)
    created = json.loads(cli("aws", "role", "create", "--profile", customer_profile, "--json"))
    account = emulator_env.customer_account_id
    assert json.loads(cli("aws", "account", "verify", account, "--json"))["status"] == "verified"

    # The customer's role holds an older published version than the latest one.
    declared = managed_policy_document()
    older = without(declared, GAINED)
    catalog = write_catalog(tmp_path / "catalog", {"2030-01-01.1": older,
                                                   "2030-01-01.2": declared})
    iam = aws.client(aws.customer_session(customer_profile), "iam")
    iam.create_policy_version(PolicyArn=created["policy_arn"], PolicyDocument=json.dumps(older),
                              SetAsDefault=True)
    engine = make_engine(database_url)
    try:
        worker = GovernanceWorker(make_session_factory(engine),
                                  lambda: emulator_env.platform_account_id, catalog=catalog,
                                  role_policy=role_policies(sessions_for(emulator_env)))
        assert worker.run_once() == 1
    finally:
        engine.dispose()

    data = json.loads(cli("aws", "policy", "changes", "--json"))
    # The server names the repository's latest version; the pass above used a test catalog.
    assert data["latest_version"] == POLICY_VERSION
    [state] = data["accounts"]
    assert (state["account_id"], state["policy_version"], state["drift"]) == (
        account, "2030-01-01.1", [])
    [change] = data["changes"]
    assert (change["account_id"], change["kind"], change["status"]) == (
        account, "expands", "pending-notice")
    assert change["effective_at"] is None and change["notice_completed_at"] is None
    assert f"Newly allowed: {GAINED} on *" in change["summary"]
    assert change["example"]["action"] == GAINED
    assert change["diff"].startswith("--- FlightdeckCrossAccountRole 2030-01-01.1")

    text = cli("aws", "policy", "changes", "--account", account, "--diff")
    for expected in ("expands", "pending-notice", f"Newly allowed: {GAINED} on *",
                     "14 days later", f'+        "{GAINED}",', "policy.recorded",
                     "policy.notice"):
        assert expected in text, expected
    timeline = json.loads(cli("aws", "policy", "changes", "--account", account, "--json"))
    assert [e["kind"] for e in timeline["events"]] == ["policy.notice", "policy.recorded"]

    missing = run_cli("aws", "policy", "changes", "--account", "999999999999", env=env)
    assert missing.returncode == 1
    assert f"no AWS account 999999999999 in this organization ({account})" in missing.stderr
    assert "Traceback" not in missing.stderr + server.log.read_text()

    anonymous = httpx.get(f"{server.url}/api/v1/organizations/x/aws/policy-changes")
    assert anonymous.status_code == 401
