"""Preflight checks through the assumed customer role, against the emulator over HTTP.

The policy simulator (iam:SimulatePrincipalPolicy) is the one API moto lacks; it is tested
with botocore's Stubber on a real IAM client, whose service model validates every request
and response.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from flightdeck.aws.checks import CheckResult, overall
from flightdeck.aws.emulator import RunningEmulator
from flightdeck.aws.permissions import ROLE_NAME, all_actions
from flightdeck.aws.preflight import (
    CHECK_NAMES,
    SIMULATION_BATCH_SIZE,
    _simulated_permissions,
    run_preflight,
    simulation_requests,
)
from flightdeck.aws.role_setup import ensure_cross_account_role
from flightdeck.aws.session import SessionFactory, client, customer_session
from flightdeck.aws.verification import _matches

EXTERNAL_ID = "fd-org-Preflight9K"
REGION = "eu-west-1"
ROLE_ARN = f"arn:aws:iam::222222222222:role/{ROLE_NAME}"


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    assert [r.name for r in results] == list(CHECK_NAMES)
    return {result.name: result for result in results}


@pytest.fixture
def customer(customer_profile: str) -> Any:
    return customer_session(customer_profile)


@pytest.fixture
def role_session(
    customer: Any, emulator_env: RunningEmulator, aws_sessions: SessionFactory
) -> Any:
    """What the control plane holds: the customer role, assumed with platform credentials."""
    role_arn = ensure_cross_account_role(
        customer, emulator_env.platform_account_id, EXTERNAL_ID, method="iam"
    ).role_arn
    return aws_sessions.assumed_role_session(role_arn, EXTERNAL_ID, "flightdeck-preflight")


def test_clean_account_passes_every_check(role_session: Any) -> None:
    results = run_preflight(role_session, region=REGION)
    assert [(r.name, r.status) for r in results] == [(n, "pass") for n in CHECK_NAMES], [
        r.to_dict() for r in results if r.status != "pass"
    ]
    checks = by_name(results)
    assert checks["account_clean"].details["found"] == {
        "instances": [],
        "vpcs": [],
        "eks_clusters": [],
        "rds_instances": [],
        "cloudformation_stacks": [],
    }
    # moto has no policy simulator: the role's documents were read instead.
    installer = checks["installer_permissions"].details
    assert installer["method"] == "policy_documents"
    assert installer["role_arn"] == ROLE_ARN  # derived from the assumed session
    assert overall(results) == "pass"


def test_dirty_account_lists_exactly_what_it_found(
    role_session: Any, customer: Any, emulator_env: RunningEmulator
) -> None:
    ec2 = client(customer, "ec2", REGION)
    image = ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro")[
        "Instances"
    ][0]["InstanceId"]
    stopped = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]
    ec2.stop_instances(InstanceIds=[stopped["InstanceId"]])
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    ours = ec2.create_vpc(
        CidrBlock="10.2.0.0/16",
        TagSpecifications=[
            {
                "ResourceType": "vpc",
                "Tags": [{"Key": "flightdeck:managed-by", "Value": "flightdeck"}],
            }
        ],
    )["Vpc"]["VpcId"]
    client(customer, "rds", REGION).create_db_instance(
        DBInstanceIdentifier="legacy-db",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="admin1",
        MasterUserPassword="not-a-secret-1",
        AllocatedStorage=20,
    )
    client(customer, "eks", REGION).create_cluster(
        name="legacy-eks",
        roleArn="arn:aws:iam::222222222222:role/legacy-eks",
        resourcesVpcConfig={"subnetIds": []},
    )
    client(customer, "cloudformation", REGION).create_stack(
        StackName="legacy-stack",
        TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
    )

    account_clean = by_name(run_preflight(role_session, region=REGION))["account_clean"]
    assert account_clean.status == "warn"
    assert account_clean.details["found"] == {
        "instances": [instance],
        "vpcs": [vpc],
        "eks_clusters": ["legacy-eks"],
        "rds_instances": ["legacy-db"],
        "cloudformation_stacks": ["legacy-stack"],
    }
    # flightdeck's own VPC is listed apart, never as another workload.
    foreign, _, own = account_clean.message.partition("flightdeck's own resources there:")
    assert ours not in foreign and ours in own and stopped["InstanceId"] not in foreign
    for resource in (instance, vpc, "legacy-eks", "legacy-db", "legacy-stack"):
        assert resource in account_clean.message
    assert account_clean.remedy and "--force" in account_clean.remedy


def test_quotas_below_minimum_fail_with_the_increase_command(
    role_session: Any, emulator_env: RunningEmulator
) -> None:
    account = emulator_env.customer_account_id
    emulator_env.control.set_quota(account, REGION, "L-1216C47A", 8)
    emulator_env.control.set_quota(account, REGION, "L-34B43A08", 39)
    checks = by_name(run_preflight(role_session, region=REGION, vpc_cidr="8.8.8.8/24"))
    on_demand, spot = checks["ec2_quota_on_demand"], checks["ec2_quota_spot"]
    assert (on_demand.status, on_demand.details["value"]) == ("fail", 8)
    assert (spot.status, spot.details["value"]) == ("fail", 39)
    assert (
        on_demand.remedy
        and (
            "aws service-quotas request-service-quota-increase --service-code ec2 "
            f"--quota-code L-1216C47A --desired-value 40 --region {REGION}"
        )
        in on_demand.remedy
    )
    assert spot.remedy and "--quota-code L-34B43A08" in spot.remedy
    # Elsewhere the default (64) applies; the bad CIDR is judged in the same run.
    cidr = checks["vpc_cidr"]
    assert cidr.status == "fail"
    assert [p["code"] for p in cidr.details["problems"]] == [
        "host_bits_set",
        "not_private",
        "too_small",
    ]


def test_opt_in_region_disabled_fails_and_enabling_warns(
    role_session: Any, emulator_env: RunningEmulator
) -> None:
    checks = by_name(run_preflight(role_session, region="af-south-1"))
    region = checks["region_enabled"]
    assert region.status == "fail"
    assert region.remedy and "aws account enable-region --region-name af-south-1" in region.remedy
    for name in ("ec2_quota_on_demand", "ec2_quota_spot", "account_clean"):
        assert checks[name].status == "fail"
        assert checks[name].details == {"skipped": True}
        assert "af-south-1 is not enabled" in checks[name].message
    assert checks["installer_permissions"].status == "pass"
    assert checks["vpc_cidr"].status == "pass"

    # ENABLING settles to ENABLED on the next read unless reads are set to linger first.
    emulator_env.control.set_region_transition_reads(5)
    emulator_env.control.set_region_status(
        emulator_env.customer_account_id, "ap-east-1", "ENABLING"
    )
    checks = by_name(
        run_preflight(
            role_session, region="ap-east-1", peer_cidrs=["172.20.16.0/20", "10.0.0.0/16"]
        )
    )
    assert checks["region_enabled"].status == "warn"
    assert "few minutes" in (checks["region_enabled"].remedy or "")
    assert checks["ec2_quota_on_demand"].status == "pass"
    cidr = checks["vpc_cidr"]
    assert cidr.status == "fail"
    assert [(p["code"], p["peer"]) for p in cidr.details["problems"]] == [
        ("overlap", "172.20.16.0/20")
    ]


# -- installer_permissions through IAM's policy simulator (Stubber) ---------------------------


def _iam_client() -> Any:
    return SessionFactory().client("iam")


def _page(decisions: dict[str, str], marker: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {
        "EvaluationResults": [
            {"EvalActionName": action, "EvalResourceName": "*", "EvalDecision": decision}
            for action, decision in decisions.items()
        ],
        "IsTruncated": marker is not None,
    }
    if marker is not None:
        page["Marker"] = marker
    return page


def test_simulation_requests_cover_every_action_once_in_scoped_batches() -> None:
    requests = simulation_requests(ROLE_ARN)
    simulated = [action for request in requests for action in request["ActionNames"]]
    assert sorted(simulated) == all_actions()
    assert len(simulated) == len(set(simulated))
    assert all(len(r["ActionNames"]) <= SIMULATION_BATCH_SIZE for r in requests)
    assert len(all_actions()) > SIMULATION_BATCH_SIZE  # so batching is exercised
    pass_role = next(r for r in requests if "iam:PassRole" in r["ActionNames"])
    # Simulated on an example flightdeck role, with the service it is passed to.
    assert pass_role["ResourceArns"] == ["arn:aws:iam::222222222222:role/flightdeck-preflight"]
    assert {e["ContextKeyName"] for e in pass_role["ContextEntries"]} == {"iam:PassedToService"}
    assert _matches("arn:aws:iam::*:role/flightdeck-*", pass_role["ResourceArns"][0])


def test_simulator_allowing_everything_passes_across_batches_and_pages() -> None:
    iam = _iam_client()
    requests = simulation_requests(ROLE_ARN)
    with Stubber(iam) as stubber:
        for request in requests:
            actions = request["ActionNames"]
            first, rest = actions[:1], actions[1:]
            # Every request answers in two pages, the second asked for with the marker.
            stubber.add_response(
                "simulate_principal_policy",
                _page(dict.fromkeys(first, "allowed"), marker="next"),
                request,
            )
            stubber.add_response(
                "simulate_principal_policy",
                _page(dict.fromkeys(rest, "allowed")),
                {**request, "Marker": "next"},
            )
        result = _simulated_permissions(iam, ROLE_ARN)
        stubber.assert_no_pending_responses()
    assert result.status == "pass"
    assert result.details["denied"] == []


def test_simulator_denials_fail_naming_the_actions() -> None:
    iam = _iam_client()
    denied = {"eks:CreateCluster": "implicitDeny", "ec2:CreateVpc": "explicitDeny"}
    with Stubber(iam) as stubber:
        for request in simulation_requests(ROLE_ARN):
            decisions = {a: denied.get(a, "allowed") for a in request["ActionNames"]}
            stubber.add_response("simulate_principal_policy", _page(decisions), request)
        result = _simulated_permissions(iam, ROLE_ARN)
    assert result.status == "fail"
    assert result.details["denied"] == ["ec2:CreateVpc", "eks:CreateCluster"]
    assert result.details["explicit_deny"] == ["ec2:CreateVpc"]
    assert "ec2:CreateVpc" in result.message and "eks:CreateCluster" in result.message
    assert result.remedy and "flightdeck aws role create" in result.remedy


def test_simulator_error_propagates_for_the_fallback() -> None:
    iam = _iam_client()
    with Stubber(iam) as stubber:
        stubber.add_client_error("simulate_principal_policy", "AccessDenied", http_status_code=403)
        with pytest.raises(Exception, match="AccessDenied"):
            _simulated_permissions(iam, ROLE_ARN)
