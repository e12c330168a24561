"""Every AWS action verification and preflight perform in the customer account is declared.

The role's policy is generated from the declarations, so an undeclared call would work in
the emulator (moto does not enforce IAM) and fail on AWS with AccessDenied.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import pytest

from flightdeck.aws import session as aws
from flightdeck.aws.emulator import RunningEmulator
from flightdeck.aws.permissions import PERMISSIONS_BY_STEP, iam_actions_for_call
from flightdeck.aws.preflight import run_preflight
from flightdeck.aws.role_setup import ensure_cross_account_role
from flightdeck.aws.verification import verify_role

EXTERNAL_ID = "fd-org-Declared3Zp"
REGION = "eu-west-1"


def test_verify_and_preflight_call_only_declared_actions(
    customer_profile: str,
    emulator_env: RunningEmulator,
    aws_sessions: aws.SessionFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    customer = aws.customer_session(customer_profile)
    role_arn = ensure_cross_account_role(
        customer, emulator_env.platform_account_id, EXTERNAL_ID, method="iam"
    ).role_arn
    aws.client(customer, "ec2", REGION).create_vpc(CidrBlock="10.9.0.0/16")  # something to list

    recorded: list[list[tuple[str, str]]] = []
    with ExitStack() as stack:
        assume = aws.assumed_role_session

        def recording_assume(*args: Any, **kwargs: Any) -> Any:
            """Record every call made through any session acting as the customer role."""
            assumed = assume(*args, **kwargs)
            recorded.append(stack.enter_context(aws.record_calls(assumed)))
            return assumed

        monkeypatch.setattr(aws, "assumed_role_session", recording_assume)
        verify_role(
            account_id=emulator_env.customer_account_id,
            role_arn=role_arn,
            external_id=EXTERNAL_ID,
            platform_account_id=emulator_env.platform_account_id,
            base_session=aws_sessions.platform_session(),
            region=REGION,
            max_wait_seconds=0,
        )
        role = aws_sessions.assumed_role_session(role_arn, EXTERNAL_ID, "flightdeck-preflight")
        run_preflight(role, region=REGION, role_arn=role_arn)
        run_preflight(role, region="af-south-1")  # disabled region: the short path
        calls = {call for session_calls in recorded for call in session_calls}

    used = {
        action
        for prefix, operation in calls
        # Parameters only add implied actions for creations, which these checks never make.
        for action in iam_actions_for_call(prefix, operation, {})
    }
    # Sanity: the recording saw every kind of call the checks make.
    for expected in (
        "iam:GetRole",
        "ec2:CreateInternetGateway",
        "servicequotas:GetServiceQuota",
        "account:GetRegionOptStatus",
        "iam:SimulatePrincipalPolicy",
        "cloudformation:ListStacks",
        "sts:GetCallerIdentity",
    ):
        assert expected in used
    declared = set(PERMISSIONS_BY_STEP["verify"]) | set(PERMISSIONS_BY_STEP["preflight"])
    undeclared = sorted(used - declared)
    assert not undeclared, (
        f"verification/preflight call undeclared actions {undeclared}: add them to the "
        '"verify" or "preflight" entry of flightdeck.aws.permissions.PERMISSIONS_BY_STEP'
    )
