"""The emulator over HTTP with real boto3 clients: accounts, EC2 quotas, region opt-in, faults."""

from __future__ import annotations

from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from flightdeck.aws.emulator import AwsCredentials, RunningEmulator, start_emulator

ON_DEMAND = "L-1216C47A"
SPOT = "L-34B43A08"
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


def make_client(
    emulator: RunningEmulator,
    service: str,
    creds: AwsCredentials,
    region: str = "us-east-1",
    config: Config | None = None,
) -> Any:
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=emulator.endpoint_url,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
        config=config,
    )


def assume_customer_role(emulator: RunningEmulator) -> AwsCredentials:
    sts = make_client(emulator, "sts", emulator.platform_credentials())
    role_arn = f"arn:aws:iam::{emulator.customer_account_id}:role/flightdeck-remote-management"
    found = sts.assume_role(RoleArn=role_arn, RoleSessionName="test", ExternalId="org-external-id")
    credentials = found["Credentials"]
    return AwsCredentials(
        credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
    )


# -- accounts ---------------------------------------------------------------------------------


def test_each_credential_reaches_its_own_account(emulator_env: RunningEmulator) -> None:
    emu = emulator_env
    platform = make_client(emu, "sts", emu.platform_credentials()).get_caller_identity()
    customer = make_client(emu, "sts", emu.customer_credentials()).get_caller_identity()
    assumed = make_client(emu, "sts", assume_customer_role(emu)).get_caller_identity()
    assert platform["Account"] == "111111111111" == emu.platform_account_id
    assert customer["Account"] == "222222222222" == emu.customer_account_id
    assert assumed["Account"] == emu.customer_account_id
    assert assumed["Arn"].endswith(":assumed-role/flightdeck-remote-management/test")


def test_unknown_keys_act_as_the_platform(emulator_env: RunningEmulator) -> None:
    stranger = AwsCredentials("AKIAIOSFODNN7EXAMPLE", "whatever")
    identity = make_client(emulator_env, "sts", stranger).get_caller_identity()
    assert identity["Account"] == emulator_env.platform_account_id


def test_resources_are_isolated_between_platform_and_customer(
    emulator_env: RunningEmulator,
) -> None:
    emu = emulator_env
    platform_creds, customer_creds = emu.platform_credentials(), assume_customer_role(emu)
    make_client(emu, "s3", customer_creds).create_bucket(Bucket="customer-bucket")
    make_client(emu, "s3", platform_creds).create_bucket(Bucket="platform-bucket")
    customer_vpc = make_client(emu, "ec2", customer_creds).create_vpc(CidrBlock="10.42.0.0/16")
    vpc_id = customer_vpc["Vpc"]["VpcId"]

    def buckets(creds: AwsCredentials) -> set[str]:
        return {b["Name"] for b in make_client(emu, "s3", creds).list_buckets()["Buckets"]}

    def vpc_ids(creds: AwsCredentials) -> set[str]:
        return {v["VpcId"] for v in make_client(emu, "ec2", creds).describe_vpcs()["Vpcs"]}

    assert buckets(customer_creds) == {"customer-bucket"}
    assert buckets(platform_creds) == {"platform-bucket"}
    # The customer's static admin keys see what the assumed role created: same account.
    assert buckets(emu.customer_credentials()) == {"customer-bucket"}
    assert vpc_id in vpc_ids(customer_creds)
    assert vpc_id not in vpc_ids(platform_creds)


def test_remote_host_is_refused_without_opt_in() -> None:
    with pytest.raises(ValueError, match="accepts any credentials"):
        start_emulator(host="0.0.0.0")


# -- service quotas ---------------------------------------------------------------------------


def quota(emu: RunningEmulator, creds: AwsCredentials, code: str, region: str = "us-east-1") -> Any:
    quotas = make_client(emu, "service-quotas", creds, region=region)
    return quotas.get_service_quota(ServiceCode="ec2", QuotaCode=code)["Quota"]


def test_ec2_quotas_have_realistic_defaults(emulator_env: RunningEmulator) -> None:
    on_demand = quota(emulator_env, emulator_env.platform_credentials(), ON_DEMAND)
    spot = quota(emulator_env, emulator_env.customer_credentials(), SPOT, region="eu-west-1")
    assert on_demand["Value"] == 64.0
    assert on_demand["QuotaCode"] == ON_DEMAND
    assert on_demand["QuotaArn"] == "arn:aws:servicequotas:us-east-1:111111111111:ec2/L-1216C47A"
    assert on_demand["QuotaName"].startswith("Running On-Demand Standard")
    assert spot["Value"] == 64.0
    assert spot["QuotaArn"] == "arn:aws:servicequotas:eu-west-1:222222222222:ec2/L-34B43A08"


def test_quota_set_per_account_and_region(emulator_env: RunningEmulator) -> None:
    emu = emulator_env
    emu.control.set_quota(emu.customer_account_id, "eu-west-1", ON_DEMAND, 8)
    customer = assume_customer_role(emu)
    assert quota(emu, customer, ON_DEMAND, region="eu-west-1")["Value"] == 8.0
    assert quota(emu, customer, ON_DEMAND, region="us-east-1")["Value"] == 64.0
    assert quota(emu, emu.platform_credentials(), ON_DEMAND, region="eu-west-1")["Value"] == 64.0
    default = make_client(emu, "service-quotas", customer, region="eu-west-1")
    aws_default = default.get_aws_default_service_quota(ServiceCode="ec2", QuotaCode=ON_DEMAND)
    assert aws_default["Quota"]["Value"] == 64.0


def test_unknown_quota_is_left_to_moto(emulator_env: RunningEmulator) -> None:
    quotas = make_client(emulator_env, "service-quotas", emulator_env.platform_credentials())
    with pytest.raises(ClientError) as raised:
        quotas.get_service_quota(ServiceCode="ec2", QuotaCode="L-00000000")
    assert raised.value.response["Error"]["Code"] == "NoSuchResourceException"


# -- region opt-in ----------------------------------------------------------------------------


def opt_status(emu: RunningEmulator, creds: AwsCredentials, region: str) -> str:
    account = make_client(emu, "account", creds)
    return str(account.get_region_opt_status(RegionName=region)["RegionOptStatus"])


def test_region_opt_status_defaults(emulator_env: RunningEmulator) -> None:
    creds = emulator_env.platform_credentials()
    assert opt_status(emulator_env, creds, "us-east-1") == "ENABLED_BY_DEFAULT"
    assert opt_status(emulator_env, creds, "eu-west-1") == "ENABLED_BY_DEFAULT"
    for region in ("ap-east-1", "me-south-1", "af-south-1", "eu-south-1", "me-central-1"):
        assert opt_status(emulator_env, creds, region) == "DISABLED"


def test_enable_region_flow_is_per_account(emulator_env: RunningEmulator) -> None:
    emu = emulator_env
    customer = assume_customer_role(emu)
    emu.control.set_region_transition_reads(1)
    make_client(emu, "account", customer).enable_region(RegionName="ap-east-1")
    assert opt_status(emu, customer, "ap-east-1") == "ENABLING"
    assert opt_status(emu, customer, "ap-east-1") == "ENABLED"
    assert opt_status(emu, emu.platform_credentials(), "ap-east-1") == "DISABLED"

    listed = make_client(emu, "account", customer).list_regions(RegionOptStatusContains=["ENABLED"])
    assert [r["RegionName"] for r in listed["Regions"]] == ["ap-east-1"]


def test_region_status_can_be_set_and_errors_match_aws(emulator_env: RunningEmulator) -> None:
    emu = emulator_env
    emu.control.set_region_status(emu.platform_account_id, "me-south-1", "ENABLED")
    assert opt_status(emu, emu.platform_credentials(), "me-south-1") == "ENABLED"
    account = make_client(emu, "account", emu.platform_credentials())
    with pytest.raises(ClientError) as raised:
        account.enable_region(RegionName="us-east-1")
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(account.exceptions.ValidationException):
        account.get_region_opt_status(RegionName="xx-nowhere-9")


# -- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("sts", lambda c: c.get_caller_identity(), "Throttling"),
        ("ec2", lambda c: c.describe_vpcs(), "RequestLimitExceeded"),
        (
            "service-quotas",
            lambda c: c.get_service_quota(ServiceCode="ec2", QuotaCode=ON_DEMAND),
            "ThrottlingException",
        ),
        (
            "account",
            lambda c: c.get_region_opt_status(RegionName="ap-east-1"),
            "ThrottlingException",
        ),
        ("iam", lambda c: c.list_roles(), "Throttling"),
        ("s3", lambda c: c.list_buckets(), "SlowDown"),
    ],
)
def test_injected_faults_look_like_aws_throttling(
    emulator_env: RunningEmulator, service: str, call: Any, code: str
) -> None:
    emulator_env.control.inject_faults(1.0)
    client = make_client(
        emulator_env, service, emulator_env.platform_credentials(), config=NO_RETRIES
    )
    with pytest.raises(ClientError) as raised:
        call(client)
    assert raised.value.response["Error"]["Code"] == code


def test_botocore_retries_injected_throttling(emulator_env: RunningEmulator) -> None:
    emulator_env.control.inject_faults(1.0, service="sts", count=2)
    retrying = Config(retries={"mode": "standard", "total_max_attempts": 3})
    sts = make_client(emulator_env, "sts", emulator_env.platform_credentials(), config=retrying)
    answer = sts.get_caller_identity()
    assert answer["Account"] == emulator_env.platform_account_id
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2


def test_faults_filter_by_service_and_action(emulator_env: RunningEmulator) -> None:
    emu = emulator_env
    emu.control.inject_faults(1.0, service="ec2", action="DescribeVpcs", code="Throttling")
    ec2 = make_client(emu, "ec2", emu.platform_credentials(), config=NO_RETRIES)
    ec2.describe_subnets()
    make_client(emu, "sts", emu.platform_credentials(), config=NO_RETRIES).get_caller_identity()
    with pytest.raises(ClientError) as raised:
        ec2.describe_vpcs()
    assert raised.value.response["Error"]["Code"] == "Throttling"
    assert emu.control.faults()[0]["injected"] == 1


def test_fault_fraction_is_bounded_and_deterministic(emulator_env: RunningEmulator) -> None:
    emu = emulator_env

    def failures_out_of_100() -> int:
        sts = make_client(emu, "sts", emu.platform_credentials(), config=NO_RETRIES)
        failed = 0
        for _ in range(100):
            try:
                sts.get_caller_identity()
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "Throttling"
                failed += 1
        return failed

    emu.control.inject_faults(0.3, seed=7)
    first = failures_out_of_100()
    emu.control.clear_faults()
    emu.control.inject_faults(0.3, seed=7)
    assert failures_out_of_100() == first
    assert 15 <= first <= 45


def test_faults_never_hit_control_paths(emulator_env: RunningEmulator) -> None:
    emulator_env.control.inject_faults(1.0)
    assert emulator_env.control.health()["status"] == "ok"
    emulator_env.control.set_quota(emulator_env.platform_account_id, "us-east-1", SPOT, 3)
    moto_api = httpx.get(
        f"{emulator_env.endpoint_url}/moto-api/data.json",
        headers={"X-Flightdeck-Control": emulator_env.control_token},
        timeout=10,
    )
    assert moto_api.status_code == 200


def test_control_needs_the_token_and_the_account_comes_from_the_credentials(
    emulator_env: RunningEmulator,
) -> None:
    """What customer code bridged to the emulator can do: AWS calls with its own keys, and
    nothing else (no reset, no dump, no faults, no other account by header)."""
    emu = emulator_env
    customer = make_client(emu, "s3", emu.customer_credentials())
    customer.create_bucket(Bucket="tenant-a-data")
    url = emu.endpoint_url
    for method, path in (
        ("POST", "/moto-api/reset"),
        ("GET", "/moto-api/data.json"),
        ("POST", "/_flightdeck/reset"),
        ("GET", "/_flightdeck/state"),
        ("POST", "/_flightdeck/faults"),
    ):
        for headers in ({}, {"X-Flightdeck-Control": "guess"}):
            refused = httpx.request(method, f"{url}{path}", headers=headers, json={}, timeout=10)
            assert refused.status_code == 403, (method, path, refused.text)
            assert "X-Flightdeck-Control" in refused.json()["error"]
    assert httpx.get(f"{url}/_flightdeck/health", timeout=10).status_code == 200
    names = [b["Name"] for b in customer.list_buckets()["Buckets"]]
    assert "tenant-a-data" in names, "nothing was reset"
    # moto's account header is ignored without the token: the platform's keys stay the platform.
    platform = make_client(emu, "sts", emu.platform_credentials())
    platform.meta.events.register(
        "before-send.sts.*",
        lambda request, **_: request.headers.__setitem__(
            "x-moto-account-id", emu.customer_account_id
        ),
    )
    assert platform.get_caller_identity()["Account"] == emu.platform_account_id
    # ... and honoured with it (the control plane's own tools may still use it).
    platform.meta.events.register(
        "before-send.sts.*",
        lambda request, **_: request.headers.__setitem__(
            "X-Flightdeck-Control", emu.control_token
        ),
    )
    assert platform.get_caller_identity()["Account"] == emu.customer_account_id


def test_bad_control_values_are_refused(emulator_env: RunningEmulator) -> None:
    from flightdeck.aws.emulator import EmulatorControlError

    with pytest.raises(EmulatorControlError, match="fraction"):
        emulator_env.control.inject_faults(1.5)
    with pytest.raises(EmulatorControlError, match="12 digits"):
        emulator_env.control.set_quota("123", "us-east-1", ON_DEMAND, 1)
    with pytest.raises(EmulatorControlError, match="opt status"):
        emulator_env.control.set_region_status(emulator_env.platform_account_id, "ap-east-1", "ON")
