"""flightdeck.aws.session against the emulator: endpoints, retries, identities, call recording."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import ProfileNotFound

from flightdeck.aws import session as aws
from flightdeck.aws.emulator import RunningEmulator
from flightdeck.config import Settings
from support.emulator import sessions_for

ROLE_NAME = "flightdeck-remote-management"


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep botocore's retry count and decisions, drop its sleeps (seconds per throttle)."""
    monkeypatch.setattr(
        "botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0
    )


def role_arn(emu: RunningEmulator) -> str:
    return f"arn:aws:iam::{emu.customer_account_id}:role/{ROLE_NAME}"


def test_clients_use_the_factory_endpoint_and_retry_policy(
    aws_sessions: aws.SessionFactory, emulator_env: RunningEmulator
) -> None:
    sts = aws.client(aws_sessions.platform_session(), "sts")
    assert sts.meta.endpoint_url == emulator_env.endpoint_url
    assert sts.meta.region_name == "us-east-1"
    assert sts.meta.config.retries == {"mode": "standard", "total_max_attempts": aws.MAX_ATTEMPTS}
    assert sts.get_caller_identity()["Account"] == emulator_env.platform_account_id
    assert aws_sessions.platform_account_id() == emulator_env.platform_account_id


def test_the_factory_reads_neither_settings_nor_environment(
    emulator_env: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The environment points elsewhere and holds other keys; the factory's own win.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("FLIGHTDECK_AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG0")
    sessions = sessions_for(emulator_env)
    session = sessions.platform_session()
    assert aws.endpoint_of(session) == emulator_env.endpoint_url
    identity = aws.client(session, "sts").get_caller_identity()
    assert identity["Account"] == emulator_env.platform_account_id


def test_a_factory_is_built_from_the_settings(emulator_env: RunningEmulator) -> None:
    settings = Settings(aws_endpoint_url=emulator_env.endpoint_url, aws_region="eu-west-1",
                        aws_max_attempts=2)
    sessions = aws.SessionFactory.from_settings(settings)
    assert (sessions.endpoint_url, sessions.region) == (emulator_env.endpoint_url, "eu-west-1")
    ec2 = sessions.client("ec2")
    assert ec2.meta.region_name == "eu-west-1"
    assert ec2.meta.config.retries == {"mode": "standard", "total_max_attempts": 2}
    assert "secret" not in repr(sessions).lower()


def test_boto3_endpoint_resolution_applies_to_sessions_no_factory_made(
    emulator_env: RunningEmulator,
) -> None:
    session = aws.customer_session()  # AWS_ENDPOINT_URL (set by emulator_env) is boto3's own
    assert aws.endpoint_of(session) is None
    sts = aws.client(session, "sts")
    assert sts.meta.endpoint_url == emulator_env.endpoint_url


@pytest.mark.usefixtures("no_backoff")
def test_clients_retry_throttling_within_bounds(
    aws_sessions: aws.SessionFactory, emulator_env: RunningEmulator
) -> None:
    control = emulator_env.control
    control.inject_faults(1.0, service="ec2", count=aws.MAX_ATTEMPTS - 1)
    ec2 = aws_sessions.client("ec2")
    assert ec2.describe_vpcs()["ResponseMetadata"]["RetryAttempts"] == aws.MAX_ATTEMPTS - 1

    control.inject_faults(1.0, service="ec2", count=aws.MAX_ATTEMPTS)
    with pytest.raises(ec2.exceptions.ClientError) as raised:
        ec2.describe_vpcs()
    assert raised.value.response["Error"]["Code"] == "RequestLimitExceeded"


def test_assumed_role_session_acts_in_the_customer_account(
    aws_sessions: aws.SessionFactory, emulator_env: RunningEmulator
) -> None:
    session = aws_sessions.assumed_role_session(
        role_arn(emulator_env), "org-external-id", "flightdeck-test"
    )
    identity = aws.client(session, "sts").get_caller_identity()
    assert identity["Account"] == emulator_env.customer_account_id
    assert identity["Arn"].endswith(f":assumed-role/{ROLE_NAME}/flightdeck-test")
    assert session.region_name == "us-east-1"
    assert aws.endpoint_of(session) == emulator_env.endpoint_url

    aws.client(session, "s3").create_bucket(Bucket="made-by-the-role")
    platform_buckets = aws_sessions.client("s3").list_buckets()["Buckets"]
    assert platform_buckets == []


def test_the_factory_assumes_a_role_once_and_reuses_its_session_and_clients(
    aws_sessions: aws.SessionFactory,
    emulator_env: RunningEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assumed: list[str] = []
    assume = aws.assumed_role_session

    def counting_assume(*args: Any, **kwargs: Any) -> Any:
        assumed.append(args[1])
        return assume(*args, **kwargs)

    monkeypatch.setattr(aws, "assumed_role_session", counting_assume)
    arn = role_arn(emulator_env)
    first = aws_sessions.role_clients(arn, "org-external-id", "flightdeck-deployments")
    again = aws_sessions.role_clients(arn, "org-external-id", "flightdeck-deployments")
    assert again is first
    assert again.client("eks") is first.client("eks")
    assert aws_sessions.assumed_role_session(arn, "org-external-id", "flightdeck-deployments") is (
        first.session
    )
    other_region = aws_sessions.role_clients(arn, "org-external-id", "flightdeck-deployments",
                                             "eu-west-1")
    assert other_region is not first and other_region.client("eks").meta.region_name == "eu-west-1"
    other_id = aws_sessions.role_clients(arn, "another-external-id", "flightdeck-deployments")
    assert other_id is not first
    assert assumed == [arn, arn, arn]  # once per (role, ExternalId, session name, region)


def test_the_role_cache_keeps_the_most_recently_used(emulator_env: RunningEmulator) -> None:
    sessions = aws.SessionFactory(
        endpoint_url=emulator_env.endpoint_url,
        credentials=sessions_for(emulator_env)._credentials,
        role_cache_size=2,
    )
    arn = role_arn(emulator_env)
    a = sessions.role_clients(arn, "id-a", "fd-cache")
    b = sessions.role_clients(arn, "id-b", "fd-cache")
    assert sessions.role_clients(arn, "id-a", "fd-cache") is a  # a is now the most recent
    sessions.role_clients(arn, "id-c", "fd-cache")  # evicts b
    assert sessions.role_clients(arn, "id-a", "fd-cache") is a
    assert sessions.role_clients(arn, "id-b", "fd-cache") is not b


def test_assumed_role_credentials_are_refreshed_before_expiry(
    aws_sessions: aws.SessionFactory, emulator_env: RunningEmulator
) -> None:
    # 900 s is AWS's minimum and inside botocore's 15-minute advisory window: every use refreshes.
    session = aws.assumed_role_session(
        aws_sessions.platform_session(),
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


def test_record_calls_sees_every_call_by_signing_name(aws_sessions: aws.SessionFactory) -> None:
    session = aws_sessions.platform_session()
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
def test_record_calls_counts_a_retried_call_once(
    aws_sessions: aws.SessionFactory, emulator_env: RunningEmulator
) -> None:
    emulator_env.control.inject_faults(1.0, service="sts", count=1)
    session = aws_sessions.platform_session()
    with aws.record_calls(session) as calls:
        aws.client(session, "sts").get_caller_identity()
    assert calls == [("sts", "GetCallerIdentity")]
