"""flightdeck.aws.session against the emulator: endpoints, retries, identities, call recording."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import ProfileNotFound

from flightdeck.aws import session as aws
from flightdeck.aws.emulator import RunningEmulator

ROLE_NAME = "flightdeck-remote-management"


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep botocore's retry count and decisions, drop its sleeps (seconds per throttle)."""
    monkeypatch.setattr(
        "botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0
    )


def role_arn(emu: RunningEmulator) -> str:
    return f"arn:aws:iam::{emu.customer_account_id}:role/{ROLE_NAME}"


def test_clients_use_the_configured_endpoint_and_retry_policy(
    emulator_env: RunningEmulator,
) -> None:
    sts = aws.client(aws.platform_session(), "sts")
    assert sts.meta.endpoint_url == emulator_env.endpoint_url
    assert sts.meta.region_name == "us-east-1"
    assert sts.meta.config.retries == {"mode": "standard", "total_max_attempts": aws.MAX_ATTEMPTS}
    assert sts.get_caller_identity()["Account"] == emulator_env.platform_account_id


def test_flightdeck_endpoint_setting_wins_over_boto3_env(
    emulator_env: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    assert aws.endpoint_url() == emulator_env.endpoint_url
    identity = aws.client(aws.platform_session(), "sts").get_caller_identity()
    assert identity["Account"] == emulator_env.platform_account_id


def test_boto3_endpoint_env_is_honoured_without_the_setting(
    emulator_env: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flightdeck.config import get_settings

    monkeypatch.delenv("FLIGHTDECK_AWS_ENDPOINT_URL")
    get_settings.cache_clear()
    assert aws.endpoint_url() is None
    sts = aws.client(aws.platform_session(), "sts")
    assert sts.meta.endpoint_url == emulator_env.endpoint_url
    assert sts.get_caller_identity()["Account"] == emulator_env.platform_account_id


@pytest.mark.usefixtures("no_backoff")
def test_clients_retry_throttling_within_bounds(emulator_env: RunningEmulator) -> None:
    control = emulator_env.control
    control.inject_faults(1.0, service="ec2", count=aws.MAX_ATTEMPTS - 1)
    ec2 = aws.client(aws.platform_session(), "ec2")
    assert ec2.describe_vpcs()["ResponseMetadata"]["RetryAttempts"] == aws.MAX_ATTEMPTS - 1

    control.inject_faults(1.0, service="ec2", count=aws.MAX_ATTEMPTS)
    with pytest.raises(ec2.exceptions.ClientError) as raised:
        ec2.describe_vpcs()
    assert raised.value.response["Error"]["Code"] == "RequestLimitExceeded"


def test_assumed_role_session_acts_in_the_customer_account(emulator_env: RunningEmulator) -> None:
    session = aws.assumed_role_session(role_arn(emulator_env), "org-external-id", "flightdeck-test")
    identity = aws.client(session, "sts").get_caller_identity()
    assert identity["Account"] == emulator_env.customer_account_id
    assert identity["Arn"].endswith(f":assumed-role/{ROLE_NAME}/flightdeck-test")
    assert session.region_name == "us-east-1"

    aws.client(session, "s3").create_bucket(Bucket="made-by-the-role")
    platform_buckets = aws.client(aws.platform_session(), "s3").list_buckets()["Buckets"]
    assert platform_buckets == []


def test_assumed_role_credentials_are_refreshed_before_expiry(
    emulator_env: RunningEmulator,
) -> None:
    # 900 s is AWS's minimum and inside botocore's 15-minute advisory window: every use refreshes.
    session = aws.assumed_role_session(
        role_arn(emulator_env),
        "org-external-id",
        "refresh",
        region="eu-west-1",
        duration_seconds=900,
    )
    credentials = session.get_credentials()
    assert isinstance(credentials, RefreshableCredentials)
    first = credentials.get_frozen_credentials().access_key
    second = credentials.get_frozen_credentials().access_key
    assert first != second
    identity = aws.client(session, "sts").get_caller_identity()
    assert identity["Account"] == emulator_env.customer_account_id
    assert session.region_name == "eu-west-1"


def test_customer_session_uses_the_named_profile(
    customer_profile: str, emulator_env: RunningEmulator
) -> None:
    # The environment holds platform keys; an explicit profile must win over them.
    session = aws.customer_session(customer_profile)
    identity = aws.client(session, "sts").get_caller_identity()
    assert identity["Account"] == emulator_env.customer_account_id
    default_chain = aws.client(aws.customer_session(), "sts").get_caller_identity()
    assert default_chain["Account"] == emulator_env.platform_account_id


def test_customer_session_reads_given_profile_files_without_touching_the_environment(
    emulator_env: RunningEmulator, tmp_path: Path
) -> None:
    import os

    from flightdeck.aws.emulator import write_aws_profile

    files = (tmp_path / "config", tmp_path / "credentials")
    write_aws_profile("elsewhere", emulator_env.customer_credentials(), "us-east-1",
                      emulator_env.endpoint_url, config_file=files[0], credentials_file=files[1])
    before = dict(os.environ)
    session = aws.customer_session("elsewhere", config_files=files)
    identity = aws.client(session, "sts").get_caller_identity()
    assert identity["Account"] == emulator_env.customer_account_id
    assert dict(os.environ) == before
    with pytest.raises(ProfileNotFound):
        aws.customer_session("elsewhere")  # not in ~/.aws


def test_customer_session_with_unknown_profile_fails_clearly(emulator_env: RunningEmulator) -> None:
    with pytest.raises(ProfileNotFound):
        aws.customer_session("no-such-profile")


def test_record_calls_sees_every_call_by_signing_name(emulator_env: RunningEmulator) -> None:
    session = aws.platform_session()
    with aws.record_calls(session) as calls:
        ec2 = aws.client(session, "ec2")
        ec2.describe_vpcs()
        aws.client(session, "service-quotas").get_service_quota(
            ServiceCode="ec2", QuotaCode="L-1216C47A"
        )
        aws.client(session, "sts").get_caller_identity()
    ec2.describe_subnets()  # after the block: not recorded
    assert calls == [
        ("ec2", "DescribeVpcs"),
        ("servicequotas", "GetServiceQuota"),
        ("sts", "GetCallerIdentity"),
    ]


@pytest.mark.usefixtures("no_backoff")
def test_record_calls_counts_a_retried_call_once(emulator_env: RunningEmulator) -> None:
    emulator_env.control.inject_faults(1.0, service="sts", count=1)
    session = aws.platform_session()
    with aws.record_calls(session) as calls:
        aws.client(session, "sts").get_caller_identity()
    assert calls == [("sts", "GetCallerIdentity")]
