"""The emulator fixtures: a control-plane environment and a customer profile, in two accounts."""

from __future__ import annotations

import boto3

from flightdeck.aws.emulator import RunningEmulator
from support.emulator import reset_emulator


def test_emulator_env_points_default_chain_at_the_platform_account(
    emulator_env: RunningEmulator,
) -> None:
    identity = boto3.client("sts").get_caller_identity()
    assert identity["Account"] == emulator_env.platform_account_id


def test_customer_profile_reaches_the_customer_account(
    customer_profile: str, emulator_env: RunningEmulator
) -> None:
    session = boto3.Session(profile_name=customer_profile)
    assert (
        session.client("sts").get_caller_identity()["Account"] == emulator_env.customer_account_id
    )


def test_emulator_env_starts_every_test_from_a_fresh_emulator(
    emulator_env: RunningEmulator,
) -> None:
    """Whatever a test leaves behind, the fixture's reset removes before the next one."""
    boto3.client("s3").create_bucket(Bucket="leaks-if-not-reset")
    emulator_env.control.set_quota(emulator_env.platform_account_id, "us-east-1", "L-1216C47A", 5)
    assert boto3.client("s3").list_buckets()["Buckets"] != []
    assert emulator_env.control.state()["quotas"] != []

    reset_emulator(emulator_env)

    assert boto3.client("s3").list_buckets()["Buckets"] == []
    assert emulator_env.control.state()["quotas"] == []
