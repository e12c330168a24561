"""Role verification from the control plane, against the emulator over HTTP with two accounts.

The customer creates the role with their own credentials; the platform verifies it with
the platform credentials from the environment, exactly as the control plane does.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from flightdeck.aws.checks import CheckResult, overall
from flightdeck.aws.emulator import RunningEmulator
from flightdeck.aws.permissions import (
    MANAGED_POLICY_NAME,
    POLICY_VERSION,
    ROLE_NAME,
    all_actions,
    managed_policy_document,
    optional_actions,
)
from flightdeck.aws.role_setup import ensure_cross_account_role
from flightdeck.aws.role_template import trust_policy_document
from flightdeck.aws.session import SessionFactory, client, customer_session
from flightdeck.aws.verification import CHECK_NAMES, _check_dry_run, verify_role
from support.emulator import sessions_for

EXTERNAL_ID = "fd-org-Verify7Qx2"
ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {result.name: result for result in results}


def verify(emulator: RunningEmulator, **overrides: Any) -> list[CheckResult]:
    arguments: dict[str, Any] = {
        "account_id": emulator.customer_account_id,
        "role_arn": f"arn:aws:iam::{emulator.customer_account_id}:role/{ROLE_NAME}",
        "external_id": EXTERNAL_ID,
        "platform_account_id": emulator.platform_account_id,
        "max_wait_seconds": 0,
        "base_session": sessions_for(emulator).platform_session(),
    }
    arguments.update(overrides)
    results = verify_role(**arguments)
    assert [r.name for r in results] == list(CHECK_NAMES)
    # The external ID never appears in what is stored or shown.
    assert EXTERNAL_ID not in json.dumps([r.to_dict() for r in results])
    return results


def create_role_directly(
    customer: Any,
    name: str,
    trust: dict[str, Any],
    policy_document: dict[str, Any] | None = None,
    *,
    attach: tuple[str, ...] = (),
    inline: dict[str, Any] | None = None,
) -> str:
    """A role made by hand in the customer account; returns its ARN."""
    iam = client(customer, "iam")
    arn = str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    )
    if policy_document is not None:
        policy_arn = iam.create_policy(
            PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy_document)
        )["Policy"]["Arn"]
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    for policy_arn in attach:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    if inline is not None:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(inline))
    return arn


@pytest.fixture
def customer(customer_profile: str) -> Any:
    return customer_session(customer_profile)


@pytest.fixture
def role_created(customer: Any, emulator_env: RunningEmulator) -> str:
    result = ensure_cross_account_role(
        customer, emulator_env.platform_account_id, EXTERNAL_ID, method="iam"
    )
    return result.role_arn


def test_role_created_by_the_customer_passes_every_check(
    role_created: str, emulator_env: RunningEmulator
) -> None:
    results = verify(emulator_env, role_arn=role_created)
    assert [(r.name, r.status) for r in results] == [(name, "pass") for name in CHECK_NAMES], [
        r.to_dict() for r in results if r.status != "pass"
    ]
    permissions = by_name(results)["permissions"].details
    assert permissions["attached_policies"] == [MANAGED_POLICY_NAME]
    assert permissions["policy_versions_found"] == [POLICY_VERSION]
    assert overall(results) == "pass"


def _trusting_another_account(platform: str) -> dict[str, Any]:
    return trust_policy_document("333333333333", EXTERNAL_ID)


def _without_external_id(platform: str) -> dict[str, Any]:
    trust = trust_policy_document(platform, EXTERNAL_ID)
    del trust["Statement"][0]["Condition"]
    return trust


def _wildcard_principal(platform: str) -> dict[str, Any]:
    trust = trust_policy_document(platform, EXTERNAL_ID)
    trust["Statement"][0]["Principal"] = {"AWS": "*"}
    return trust


def test_wrongly_trusting_roles_are_refused_by_the_trust_check(
    customer: Any, emulator_env: RunningEmulator
) -> None:
    platform = emulator_env.platform_account_id
    cases = {
        "trusts-another-account": (_trusting_another_account(platform), "wrong_account"),
        "no-external-id": (_without_external_id(platform), "external_id_missing"),
        "wildcard-principal": (_wildcard_principal(platform), "wildcard_principal"),
    }
    for name, (trust, code) in cases.items():
        arn = create_role_directly(customer, name, trust, managed_policy_document())
        checks = by_name(verify(emulator_env, role_arn=arn))
        # moto evaluates neither trust policies nor ExternalId: assuming the role succeeds
        # here (on AWS the first two would be refused and the third open to anyone). The
        # static trust checker is what refuses the role.
        assert checks["assume_role"].status == "pass", name
        trust_check = checks["trust_policy"]
        assert trust_check.status == "fail", name
        assert code in [problem["code"] for problem in trust_check.details["problems"]], name
        assert trust_check.remedy and "flightdeck aws role create" in trust_check.remedy
        assert checks["role_arn"].status == "warn"  # not named flightdeck-remote-management
        assert checks["permissions"].status == "pass", checks["permissions"].message


def test_permissions_missing_denied_or_broader(
    customer: Any, emulator_env: RunningEmulator
) -> None:
    trust = trust_policy_document(emulator_env.platform_account_id, EXTERNAL_ID)

    removed = {"ec2:CreateVpc", "eks:CreateCluster"}
    missing_some = managed_policy_document()
    for statement in missing_some["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a not in removed]
    arn = create_role_directly(customer, "missing-some", trust, missing_some)
    permissions = by_name(verify(emulator_env, role_arn=arn))["permissions"]
    assert permissions.status == "fail"
    assert permissions.details["missing"] == sorted(removed)
    assert "ec2:CreateVpc" in permissions.message and "eks:CreateCluster" in permissions.message
    assert permissions.remedy is not None and POLICY_VERSION in permissions.remedy

    # A role still on the version before peering (its successor's notice running): usable,
    # with a warning naming what waits; missing one more action fails as above.
    peering_only = optional_actions()
    assert peering_only and "ec2:CreateVpcPeeringConnection" in peering_only
    earlier = managed_policy_document()
    for statement in earlier["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a not in peering_only]
    earlier["Statement"] = [s for s in earlier["Statement"] if s["Action"]]
    arn = create_role_directly(customer, "before-peering", trust, earlier)
    permissions = by_name(verify(emulator_env, role_arn=arn))["permissions"]
    assert permissions.status == "warn", permissions.message
    assert permissions.details["missing"] == sorted(peering_only)
    assert "only peering needs" in permissions.message
    for statement in earlier["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != "ec2:CreateVpc"]
    arn = create_role_directly(customer, "before-peering-and-less", trust, earlier)
    assert by_name(verify(emulator_env, role_arn=arn))["permissions"].status == "fail"

    denying = managed_policy_document()
    denying["Statement"].append({"Effect": "Deny", "Action": "rds:Delete*", "Resource": "*"})
    arn = create_role_directly(customer, "denying", trust, denying)
    permissions = by_name(verify(emulator_env, role_arn=arn))["permissions"]
    assert permissions.status == "fail"
    assert permissions.details["missing"] == ["rds:DeleteDBInstance", "rds:DeleteDBSubnetGroup"]

    arn = create_role_directly(
        customer, "with-admin", trust, managed_policy_document(), attach=(ADMIN_POLICY_ARN,)
    )
    permissions = by_name(verify(emulator_env, role_arn=arn))["permissions"]
    assert permissions.status == "warn"
    assert "AdministratorAccess" in permissions.message
    assert permissions.details["missing"] == []

    everything = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    arn = create_role_directly(customer, "inline-star", trust, inline=everything)
    permissions = by_name(verify(emulator_env, role_arn=arn))["permissions"]
    assert permissions.status == "warn"
    assert permissions.details["inline_policies"] == ["inline"]
    assert "inline inline: *" in permissions.message

    unscoped = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": all_actions(), "Resource": "*"}],
    }
    arn = create_role_directly(customer, "unscoped", trust, unscoped)
    permissions = by_name(verify(emulator_env, role_arn=arn))["permissions"]
    assert permissions.status == "warn"  # e.g. iam:PassRole on every role
    assert "iam:PassRole" in permissions.message

    arn = create_role_directly(customer, "nothing-attached", trust)
    permissions = by_name(verify(emulator_env, role_arn=arn))["permissions"]
    assert permissions.status == "fail"
    assert permissions.details["missing"] == all_actions()


def test_role_in_another_account_is_refused_before_assuming(
    aws_emulator: RunningEmulator,
) -> None:
    # No AWS call happens, so the shared emulator is only read for its account IDs.
    results = verify(aws_emulator, role_arn=f"arn:aws:iam::333333333333:role/{ROLE_NAME}")
    checks = by_name(results)
    assert checks["role_arn"].status == "fail"
    assert "333333333333" in checks["role_arn"].message
    assert all(checks[name].details.get("skipped") for name in CHECK_NAMES[1:])


@pytest.mark.parametrize("arn", ["not-an-arn", "arn:aws:iam::22222222222:role/x", "arn:aws:s3:::b"])
def test_malformed_role_arn_fails(aws_emulator: RunningEmulator, arn: str) -> None:
    assert by_name(verify(aws_emulator, role_arn=arn))["role_arn"].status == "fail"


def test_assume_role_retries_only_access_denied_and_only_within_the_bound(
    role_created: str, emulator_env: RunningEmulator
) -> None:
    # IAM propagation: refused twice, then accepted.
    emulator_env.control.inject_faults(
        service="sts", action="AssumeRole", code="AccessDenied", count=2
    )
    slept: list[float] = []
    assume = by_name(verify(emulator_env, max_wait_seconds=30, sleep=slept.append))["assume_role"]
    assert assume.status == "pass"
    assert assume.details["attempts"] == 3
    assert len(slept) == 2 and slept[1] > 0

    # Refused for good: gives up once the bound is slept.
    emulator_env.control.clear_faults()
    slept.clear()
    emulator_env.control.inject_faults(service="sts", action="AssumeRole", code="AccessDenied")
    slept: list[float] = []
    checks = by_name(verify(emulator_env, max_wait_seconds=10, sleep=slept.append))
    assert checks["assume_role"].status == "fail"
    assert checks["assume_role"].remedy
    assert "flightdeck aws role create" in checks["assume_role"].remedy
    assert 0 < sum(slept) <= 10
    assert len(slept) >= 3  # exponential steps, not one long wait
    assert checks["trust_policy"].details == {"skipped": True}

    emulator_env.control.clear_faults()
    emulator_env.control.inject_faults(
        service="sts", action="AssumeRole", code="InvalidClientTokenId"
    )
    slept.clear()
    assume = by_name(verify(emulator_env, max_wait_seconds=30, sleep=slept.append))["assume_role"]
    assert assume.status == "fail"
    assert slept == []
    assert assume.details["error_code"] == "InvalidClientTokenId"


def test_dry_run_denied_by_an_scp_fails_naming_the_action() -> None:
    # moto never answers UnauthorizedOperation (it does not enforce IAM), so the denial is
    # stubbed on a real EC2 client whose service model validates parameters and responses.
    ec2 = client(SessionFactory().platform_session(), "ec2", "eu-west-1")
    with Stubber(ec2) as stubber:
        stubber.add_client_error(
            "describe_vpcs", "DryRunOperation", expected_params={"DryRun": True}
        )
        stubber.add_client_error(
            "create_internet_gateway", "UnauthorizedOperation", expected_params={"DryRun": True}
        )
        result = _check_dry_run(ec2, "eu-west-1")
        stubber.assert_no_pending_responses()
    assert result.status == "fail"
    assert result.details["denied"] == ["ec2:CreateInternetGateway"]
    assert "ec2:CreateInternetGateway" in result.message and result.remedy
