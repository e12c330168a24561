"""Reading the role and installing policy versions through the role, against the emulator."""

from __future__ import annotations

import json
from contextlib import ExitStack
from typing import Any

import pytest

from flightdeck.aws import session as aws
from flightdeck.aws.emulator import RunningEmulator
from flightdeck.aws.permissions import (
    MANAGED_POLICY_NAME,
    PERMISSIONS_BY_STEP,
    ROLE_NAME,
    iam_actions_for_call,
    managed_policy_document,
)
from flightdeck.aws.role_policy import (
    IAM_POLICY_VERSION_LIMIT,
    RolePolicyError,
    managed_policy_arn,
    role_policy_for,
)
from flightdeck.aws.role_setup import ensure_cross_account_role
from flightdeck.aws.role_template import trust_policy_document
from support.emulator import sessions_for

EXTERNAL_ID = "fd-org-RolePolicy7Qx"


def variant(index: int) -> dict[str, Any]:
    """The declared document plus one harmless Deny, so each index is a distinct version."""
    document = managed_policy_document()
    extra = {"Sid": f"Variant{index}", "Effect": "Deny", "Action": "ec2:DeleteVpc",
             "Resource": f"arn:aws:ec2:*:*:vpc/vpc-{index:08d}"}
    return {**document, "Statement": [*document["Statement"], extra]}


@pytest.fixture
def role(customer_profile: str, emulator_env: RunningEmulator) -> dict[str, Any]:
    customer = aws.customer_session(customer_profile)
    result = ensure_cross_account_role(customer, emulator_env.platform_account_id, EXTERNAL_ID)
    return {"arn": result.role_arn, "policy_arn": result.policy_arn,
            "iam": aws.client(customer, "iam"), "sessions": sessions_for(emulator_env)}


def versions(iam: Any, policy_arn: str) -> list[dict[str, Any]]:
    return list(iam.list_policy_versions(PolicyArn=policy_arn)["Versions"])


def default_document(iam: Any, policy_arn: str) -> dict[str, Any]:
    default = next(v for v in versions(iam, policy_arn) if v["IsDefaultVersion"])
    document = iam.get_policy_version(PolicyArn=policy_arn, VersionId=default["VersionId"])[
        "PolicyVersion"]["Document"]
    return document if isinstance(document, dict) else json.loads(document)


def test_snapshot_reads_the_role_as_the_customer_created_it(
    role: dict[str, Any], emulator_env: RunningEmulator
) -> None:
    snapshot = role_policy_for(role["arn"], EXTERNAL_ID, sessions=role["sessions"]).snapshot()
    assert snapshot.policy_arn == role["policy_arn"] == managed_policy_arn(role["arn"])
    assert snapshot.trust_policy == trust_policy_document(
        emulator_env.platform_account_id, EXTERNAL_ID)
    assert snapshot.attached_policy_arns == (role["policy_arn"],)
    assert snapshot.inline_policies == {}
    assert snapshot.policy_exists and snapshot.default_version_id == "v1"
    assert snapshot.default_document == managed_policy_document()

    iam = role["iam"]
    iam.put_role_policy(RoleName=ROLE_NAME, PolicyName="extra", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    iam.attach_role_policy(RoleName=ROLE_NAME,
                           PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    snapshot = role_policy_for(role["arn"], EXTERNAL_ID, sessions=role["sessions"]).snapshot()
    assert snapshot.inline_policies["extra"]["Statement"][0]["Action"] == "s3:GetObject"
    assert snapshot.attached_policy_arns == tuple(sorted(
        ("arn:aws:iam::aws:policy/ReadOnlyAccess", role["policy_arn"])))


def test_install_keeps_at_most_five_versions_and_makes_the_new_one_default(
    role: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    iam, policy_arn = role["iam"], role["policy_arn"]
    for index in range(1, IAM_POLICY_VERSION_LIMIT):  # v2..v5, the customer's own edits
        iam.create_policy_version(PolicyArn=policy_arn, PolicyDocument=json.dumps(variant(index)),
                                  SetAsDefault=True)
    assert len(versions(iam, policy_arn)) == IAM_POLICY_VERSION_LIMIT
    iam.put_role_policy(RoleName=ROLE_NAME, PolicyName="extra", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))

    recorded: list[list[tuple[str, str]]] = []
    with ExitStack() as stack:
        assume = aws.assumed_role_session

        def recording_assume(*args: Any, **kwargs: Any) -> Any:
            assumed = assume(*args, **kwargs)
            recorded.append(stack.enter_context(aws.record_calls(assumed)))
            return assumed

        monkeypatch.setattr(aws, "assumed_role_session", recording_assume)
        target = role_policy_for(role["arn"], EXTERNAL_ID, sessions=role["sessions"])
        target.snapshot()
        result = target.install(variant(99))
        calls = {call for session_calls in recorded for call in session_calls}

    assert result.deleted_version_id == "v1"  # the oldest non-default
    left = versions(iam, policy_arn)
    assert len(left) == IAM_POLICY_VERSION_LIMIT
    assert {v["VersionId"] for v in left} == {"v2", "v3", "v4", "v5", result.version_id}
    assert default_document(iam, policy_arn) == variant(99)

    used = {a for prefix, op in calls for a in iam_actions_for_call(prefix, op, {})}
    declared = set(PERMISSIONS_BY_STEP["governance"])
    assert used - {"sts:AssumeRole"} <= declared, sorted(used - declared)
    assert declared <= used, f"declared but never called: {sorted(declared - used)}"


def test_install_reuses_a_version_left_behind_instead_of_creating_another(
    role: dict[str, Any],
) -> None:
    iam, policy_arn = role["iam"], role["policy_arn"]
    iam.create_policy_version(PolicyArn=policy_arn, PolicyDocument=json.dumps(variant(5)),
                              SetAsDefault=False)  # an attempt interrupted after Create
    target = role_policy_for(role["arn"], EXTERNAL_ID, sessions=role["sessions"])
    result = target.install(variant(5))
    assert result.version_id == "v2" and result.deleted_version_id is None
    assert len(versions(iam, policy_arn)) == 2
    assert default_document(iam, policy_arn) == variant(5)


def test_refusals_carry_the_aws_code(role: dict[str, Any], emulator_env: RunningEmulator) -> None:
    emulator_env.control.inject_faults(1.0, service="iam", action="CreatePolicyVersion",
                                       code="AccessDenied")
    target = role_policy_for(role["arn"], EXTERNAL_ID, sessions=role["sessions"])
    with pytest.raises(RolePolicyError) as refused:
        target.install(variant(1))
    assert refused.value.code == "AccessDenied" and refused.value.permanent
    assert "AccessDenied" in refused.value.message
    emulator_env.control.clear_faults()
    target.install(variant(1))
    assert default_document(role["iam"], role["policy_arn"]) == variant(1)


def test_a_missing_role_or_policy_is_reported_not_raised_raw(
    role: dict[str, Any], emulator_env: RunningEmulator
) -> None:
    iam, policy_arn = role["iam"], role["policy_arn"]
    iam.detach_role_policy(RoleName=ROLE_NAME, PolicyArn=policy_arn)
    iam.delete_policy(PolicyArn=policy_arn)
    snapshot = role_policy_for(role["arn"], EXTERNAL_ID, sessions=role["sessions"]).snapshot()
    assert not snapshot.policy_exists and snapshot.default_document is None
    assert snapshot.attached_policy_arns == ()
    other = f"arn:aws:iam::{emulator_env.customer_account_id}:role/not-there"
    with pytest.raises(RolePolicyError) as missing:
        role_policy_for(other, EXTERNAL_ID, sessions=role["sessions"]).snapshot()
    assert missing.value.code == "NoSuchEntity"
    assert MANAGED_POLICY_NAME in managed_policy_arn(other)
