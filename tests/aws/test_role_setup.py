"""Creating the cross-account role with customer credentials, against the emulator over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cli.conftest import (
    server,  # noqa: F401  (a real control plane on loopback)
    sign_up_and_verify,
)
from flightdeck.aws.emulator import RunningEmulator
from flightdeck.aws.permissions import (
    MANAGED_POLICY_NAME,
    ROLE_NAME,
    all_actions,
    managed_policy_document,
)
from flightdeck.aws.role_setup import RoleSetupError, ensure_cross_account_role
from flightdeck.aws.role_template import STACK_NAME, trust_policy_document
from flightdeck.aws.session import SessionFactory, client, customer_session
from flightdeck.policy.trust import check_trust_policy

EXTERNAL_ID = "fd-org-8Hk2xQ7wLm"
FLIGHTDECK = str(Path(sys.executable).parent / "flightdeck")


@pytest.fixture
def customer(customer_profile: str) -> Any:
    return customer_session(customer_profile)


def iam_of(session: Any) -> Any:
    return client(session, "iam")


def trust_of(session: Any) -> dict[str, Any]:
    document = iam_of(session).get_role(RoleName=ROLE_NAME)["Role"]["AssumeRolePolicyDocument"]
    return document if isinstance(document, dict) else json.loads(document)


def default_policy_document(session: Any, policy_arn: str) -> dict[str, Any]:
    iam = iam_of(session)
    version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)["PolicyVersion"][
        "Document"
    ]
    return document if isinstance(document, dict) else json.loads(document)


def test_iam_method_creates_role_and_policy_then_changes_nothing(
    customer: Any, emulator_env: RunningEmulator
) -> None:
    platform = emulator_env.platform_account_id
    first = ensure_cross_account_role(customer, platform, EXTERNAL_ID, method="iam")
    account = emulator_env.customer_account_id
    assert first.role_arn == f"arn:aws:iam::{account}:role/{ROLE_NAME}"
    assert first.policy_arn == f"arn:aws:iam::{account}:policy/{MANAGED_POLICY_NAME}"
    assert first.created is True
    assert first.updated is False

    report = check_trust_policy(trust_of(customer), platform, EXTERNAL_ID)
    assert report.ok, report.problems
    attached = iam_of(customer).list_attached_role_policies(RoleName=ROLE_NAME)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [first.policy_arn]
    document = default_policy_document(customer, first.policy_arn)
    allowed = [s for s in document["Statement"] if s["Effect"] == "Allow"]
    assert sorted({a for s in allowed for a in s["Action"]}) == all_actions()

    second = ensure_cross_account_role(customer, platform, EXTERNAL_ID, method="iam")
    assert (second.created, second.updated, second.changes) == (False, False, ())
    assert second.role_arn == first.role_arn


def test_iam_method_fixes_a_drifted_trust_policy(
    customer: Any, emulator_env: RunningEmulator
) -> None:
    platform = emulator_env.platform_account_id
    ensure_cross_account_role(customer, platform, EXTERNAL_ID, method="iam")
    drifted = trust_policy_document(platform, EXTERNAL_ID)
    drifted["Statement"][0]["Principal"] = {"AWS": "*"}
    drifted["Statement"][0]["Condition"] = {"StringLike": {"sts:ExternalId": "*"}}
    iam_of(customer).update_assume_role_policy(
        RoleName=ROLE_NAME, PolicyDocument=json.dumps(drifted)
    )
    assert not check_trust_policy(trust_of(customer), platform, EXTERNAL_ID).ok

    result = ensure_cross_account_role(customer, platform, EXTERNAL_ID, method="iam")
    assert (result.created, result.updated) == (False, True)
    assert any("trust policy" in change for change in result.changes)
    assert check_trust_policy(trust_of(customer), platform, EXTERNAL_ID).ok


def test_iam_method_replaces_a_drifted_policy_within_the_version_limit(
    customer: Any, emulator_env: RunningEmulator
) -> None:
    platform = emulator_env.platform_account_id
    result = ensure_cross_account_role(customer, platform, EXTERNAL_ID, method="iam")
    iam = iam_of(customer)
    broad = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    for _ in range(4):  # fill IAM's five versions, the last one (too broad) the default
        iam.create_policy_version(
            PolicyArn=result.policy_arn, PolicyDocument=json.dumps(broad), SetAsDefault=True
        )
    assert len(iam.list_policy_versions(PolicyArn=result.policy_arn)["Versions"]) == 5

    fixed = ensure_cross_account_role(customer, platform, EXTERNAL_ID, method="iam")
    assert fixed.updated is True
    versions = iam.list_policy_versions(PolicyArn=result.policy_arn)["Versions"]
    assert len(versions) == 5
    assert "v1" not in {v["VersionId"] for v in versions}  # the oldest non-default went
    default_document = default_policy_document(customer, result.policy_arn)
    assert json.loads(json.dumps(default_document)) == managed_policy_document()


def test_iam_method_removes_extra_permissions_from_the_role(
    customer: Any, emulator_env: RunningEmulator
) -> None:
    platform = emulator_env.platform_account_id
    ensure_cross_account_role(customer, platform, EXTERNAL_ID, method="iam")
    iam = iam_of(customer)
    admin = iam.create_policy(
        PolicyName="Admin",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=ROLE_NAME, PolicyArn=admin)
    iam.put_role_policy(
        RoleName=ROLE_NAME,
        PolicyName="inline",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}],
            }
        ),
    )
    result = ensure_cross_account_role(customer, platform, EXTERNAL_ID, method="iam")
    assert result.updated is True
    attached = iam.list_attached_role_policies(RoleName=ROLE_NAME)["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == [MANAGED_POLICY_NAME]
    assert iam.list_role_policies(RoleName=ROLE_NAME)["PolicyNames"] == []


def test_the_platform_can_assume_the_created_role_only_with_the_external_id(
    customer: Any, emulator_env: RunningEmulator, aws_sessions: SessionFactory
) -> None:
    result = ensure_cross_account_role(
        customer, emulator_env.platform_account_id, EXTERNAL_ID, method="iam"
    )
    assumed = aws_sessions.assumed_role_session(result.role_arn, EXTERNAL_ID, "role-setup-test")
    identity = client(assumed, "sts").get_caller_identity()
    assert identity["Account"] == emulator_env.customer_account_id


def test_cloudformation_method_creates_the_stack_and_is_idempotent(
    customer: Any, emulator_env: RunningEmulator
) -> None:
    platform = emulator_env.platform_account_id
    result = ensure_cross_account_role(
        customer, platform, EXTERNAL_ID, method="cloudformation", poll_seconds=0.2
    )
    assert result.created is True
    assert result.role_arn == f"arn:aws:iam::{emulator_env.customer_account_id}:role/{ROLE_NAME}"
    assert check_trust_policy(trust_of(customer), platform, EXTERNAL_ID).ok
    attached = iam_of(customer).list_attached_role_policies(RoleName=ROLE_NAME)["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == [MANAGED_POLICY_NAME]
    stack = client(customer, "cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"

    again = ensure_cross_account_role(
        customer, platform, EXTERNAL_ID, method="cloudformation", poll_seconds=0.2
    )
    assert (again.created, again.updated) == (False, False)
    assert again.role_arn == result.role_arn


def test_cloudformation_method_refuses_a_role_made_outside_the_stack(
    customer: Any, emulator_env: RunningEmulator
) -> None:
    platform = emulator_env.platform_account_id
    ensure_cross_account_role(customer, platform, EXTERNAL_ID, method="iam")
    with pytest.raises(RoleSetupError, match="--method iam"):
        ensure_cross_account_role(
            customer, platform, EXTERNAL_ID, method="cloudformation", poll_seconds=0.2
        )


def test_bad_arguments_are_refused_before_any_call(
    customer: Any, emulator_env: RunningEmulator
) -> None:
    with pytest.raises(ValueError, match="12 digits"):
        ensure_cross_account_role(customer, "123", EXTERNAL_ID)
    with pytest.raises(ValueError, match="external ID"):
        ensure_cross_account_role(customer, emulator_env.platform_account_id, "no spaces allowed")
    with pytest.raises(ValueError, match="method"):
        ensure_cross_account_role(
            customer, emulator_env.platform_account_id, EXTERNAL_ID, method="terraform"
        )  # type: ignore[arg-type]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_ACCESS") and k != "AWS_SECRET_ACCESS_KEY"
    }
    return subprocess.run(
        [FLIGHTDECK, "aws", "role", "create", *args],
        capture_output=True,
        text=True,
        env={**environment, **(env or {})},
        timeout=120,
        check=False,
    )


def test_cli_creates_the_role_and_prints_the_arn(
    customer_profile: str, emulator_env: RunningEmulator
) -> None:
    args = [
        "--profile",
        customer_profile,
        "--method",
        "iam",
        "--platform-account",
        emulator_env.platform_account_id,
    ]
    result = run_cli(*args, env={"FLIGHTDECK_EXTERNAL_ID": EXTERNAL_ID})
    assert result.returncode == 0, result.stderr
    role_arn = f"arn:aws:iam::{emulator_env.customer_account_id}:role/{ROLE_NAME}"
    assert role_arn in result.stdout
    assert EXTERNAL_ID not in result.stdout + result.stderr

    again = run_cli(*args, "--external-id", EXTERNAL_ID, "--json")
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    assert data["role_arn"] == role_arn
    assert (data["created"], data["updated"], data["registered"]) == (False, False, False)


def test_cli_with_cloudformation(customer_profile: str, emulator_env: RunningEmulator) -> None:
    result = run_cli(
        "--profile",
        customer_profile,
        "--method",
        "cloudformation",
        "--json",
        "--platform-account",
        emulator_env.platform_account_id,
        "--external-id",
        EXTERNAL_ID,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["role_arn"].endswith(f":role/{ROLE_NAME}")


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--profile", "nobody"], "nobody"),
        (["--platform-account", "12"], "--platform-account"),
        (["--external-id", "bad id"], "external ID"),
        (["--method", "terraform"], "--method"),
        (["--region", "mars-1"], "region"),
    ],
    ids=["unknown-profile", "bad-account", "bad-external-id", "bad-method", "bad-region"],
)
def test_cli_bad_input_is_one_clear_error(
    customer_profile: str, emulator_env: RunningEmulator, extra: list[str], fragment: str
) -> None:
    base = {
        "--profile": customer_profile,
        "--platform-account": emulator_env.platform_account_id,
        "--external-id": EXTERNAL_ID,
    }
    for option, value in zip(extra[::2], extra[1::2], strict=True):
        base[option] = value
    args = [item for pair in base.items() for item in pair]
    result = run_cli(*args)
    assert result.returncode != 0
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert EXTERNAL_ID not in result.stderr


def test_cli_without_platform_account_or_login_says_what_to_do(
    customer_profile: str, emulator_env: RunningEmulator
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FLIGHTDECK_PLATFORM_ACCOUNT_ID"}
    result = subprocess.run(
        [
            FLIGHTDECK,
            "aws",
            "role",
            "create",
            "--profile",
            customer_profile,
            "--external-id",
            EXTERNAL_ID,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "--platform-account" in result.stderr
    assert "flightdeck login" in result.stderr


@pytest.mark.usefixtures("server")
def test_cli_takes_the_external_id_from_the_control_plane_when_logged_in(
    customer_profile: str, emulator_env: RunningEmulator, tmp_path: Path, database_url: str
) -> None:
    owner = {
        **os.environ,
        "FLIGHTDECK_CONFIG_DIR": str(tmp_path / "owner"),
        "FLIGHTDECK_PASSWORD": "correct horse battery staple 42",
    }
    sign_up_and_verify(owner, "owner@acme.example", "--organization", "Acme",
                       database_url=database_url)
    revealed = subprocess.run(
        [FLIGHTDECK, "organization", "external-id"],
        capture_output=True,
        text=True,
        env=owner,
        timeout=60,
        check=False,
    )
    org_external_id = revealed.stdout.strip()
    base = [
        FLIGHTDECK,
        "aws",
        "role",
        "create",
        "--profile",
        customer_profile,
        "--json",
        "--platform-account",
        emulator_env.platform_account_id,
    ]

    created = subprocess.run(
        base, capture_output=True, text=True, env=owner, timeout=120, check=False
    )
    assert created.returncode == 0, created.stderr
    assert org_external_id not in created.stdout + created.stderr
    iam = iam_of(customer_session(customer_profile))
    trust = iam.get_role(RoleName=ROLE_NAME)["Role"]["AssumeRolePolicyDocument"]
    assert check_trust_policy(trust, emulator_env.platform_account_id, org_external_id).ok

    conflicting = subprocess.run(
        [*base, "--external-id", "not-the-org-id"],
        capture_output=True,
        text=True,
        env=owner,
        timeout=60,
        check=False,
    )
    assert conflicting.returncode == 1
    assert "not your organization's external ID" in conflicting.stderr
