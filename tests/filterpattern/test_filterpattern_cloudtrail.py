"""CloudTrail records against the role-change pattern and AWS's CloudTrail alarm examples."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flightdeck.filterpattern import MAX_PATTERN_LENGTH, compile_pattern
from flightdeck.filterpattern.cloudtrail import role_change_pattern

ACCOUNT = "111122223333"
ROLE = "flightdeck-remote-management"
POLICY = "FlightdeckCrossAccountRole"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/{POLICY}"
DOCUMENT = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def cloudtrail(event_name: str, source: str = "iam.amazonaws.com", **request: Any) -> str:
    """A CloudTrail management-event record as CloudTrail writes it to CloudWatch Logs."""
    return json.dumps(
        {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "IAMUser",
                "principalId": "AIDAEXAMPLEPRINCIPAL",
                "arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
                "accountId": ACCOUNT,
                "userName": "alice",
            },
            "eventTime": "2024-05-01T12:00:00Z",
            "eventSource": source,
            "eventName": event_name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.10",
            "userAgent": "aws-cli/2.15.0",
            "requestParameters": request or None,
            "responseElements": None,
            "requestID": "0f5e2b1c-1111-2222-3333-444455556666",
            "eventID": "9a8b7c6d-1111-2222-3333-444455556666",
            "readOnly": event_name.startswith(("Get", "List")),
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management",
        }
    )


def role_events(role: str, policy_arn: str) -> dict[str, str]:
    """Every watched call, as CloudTrail records it, on `role` / the policy `policy_arn`."""
    return {
        "AttachRolePolicy": cloudtrail(
            "AttachRolePolicy",
            roleName=role,
            policyArn="arn:aws:iam::aws:policy/AdministratorAccess",
        ),
        "DetachRolePolicy": cloudtrail("DetachRolePolicy", roleName=role, policyArn=policy_arn),
        "PutRolePolicy": cloudtrail(
            "PutRolePolicy", roleName=role, policyName="extra", policyDocument=DOCUMENT
        ),
        "DeleteRolePolicy": cloudtrail("DeleteRolePolicy", roleName=role, policyName="extra"),
        "UpdateAssumeRolePolicy": cloudtrail(
            "UpdateAssumeRolePolicy", roleName=role, policyDocument=DOCUMENT
        ),
        "PutRolePermissionsBoundary": cloudtrail(
            "PutRolePermissionsBoundary",
            roleName=role,
            permissionsBoundary="arn:aws:iam::aws:policy/PowerUserAccess",
        ),
        "DeleteRolePermissionsBoundary": cloudtrail("DeleteRolePermissionsBoundary", roleName=role),
        "DeleteRole": cloudtrail("DeleteRole", roleName=role),
        "CreatePolicyVersion": cloudtrail(
            "CreatePolicyVersion", policyArn=policy_arn, policyDocument=DOCUMENT, setAsDefault=True
        ),
        "SetDefaultPolicyVersion": cloudtrail(
            "SetDefaultPolicyVersion", policyArn=policy_arn, versionId="v2"
        ),
        "SetPolicyVersion": cloudtrail("SetPolicyVersion", policyArn=policy_arn, versionId="v2"),
        "DeletePolicyVersion": cloudtrail(
            "DeletePolicyVersion", policyArn=policy_arn, versionId="v1"
        ),
    }


WATCHED = role_events(ROLE, POLICY_ARN)
PATTERN = compile_pattern(role_change_pattern(ROLE, POLICY))


def test_pattern_is_a_valid_json_pattern_within_the_aws_limit() -> None:
    text = role_change_pattern(ROLE, POLICY)
    assert PATTERN.kind == "json"
    assert len(text) <= MAX_PATTERN_LENGTH
    longest = role_change_pattern("r" * 64, "p" * 128)  # IAM's longest names
    assert len(longest) <= MAX_PATTERN_LENGTH
    assert compile_pattern(longest).kind == "json"


@pytest.mark.parametrize("event_name", sorted(WATCHED))
def test_every_watched_change_to_the_role_or_its_policy_matches(event_name: str) -> None:
    assert PATTERN.matches(WATCHED[event_name])


def test_policy_arn_with_a_path_matches() -> None:
    event = cloudtrail(
        "SetDefaultPolicyVersion",
        policyArn=f"arn:aws:iam::{ACCOUNT}:policy/flightdeck/{POLICY}",
        versionId="v3",
    )
    assert PATTERN.matches(event)


@pytest.mark.parametrize(
    ("role", "policy_arn"),
    [
        ("someone-else", f"arn:aws:iam::{ACCOUNT}:policy/SomeoneElsePolicy"),
        (f"{ROLE}-2", f"arn:aws:iam::{ACCOUNT}:policy/{POLICY}2"),
        ("Flightdeck-Remote-Management", f"arn:aws:iam::{ACCOUNT}:policy/Not{POLICY}"),
    ],
)
def test_the_same_calls_on_other_roles_and_policies_do_not_match(
    role: str, policy_arn: str
) -> None:
    for event_name, event in role_events(role, policy_arn).items():
        assert not PATTERN.matches(event), event_name


def test_other_role_whose_document_mentions_our_role_does_not_match() -> None:
    event = cloudtrail(
        "PutRolePolicy",
        roleName="someone-else",
        policyName=ROLE,
        policyDocument=json.dumps({"Resource": f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"}),
    )
    assert not PATTERN.matches(event)


def test_attaching_our_policy_to_another_role_is_not_a_change_to_our_role() -> None:
    assert not PATTERN.matches(
        cloudtrail("AttachRolePolicy", roleName="someone-else", policyArn=POLICY_ARN)
    )


def test_reads_other_services_and_other_event_shapes_do_not_match() -> None:
    for event in (
        cloudtrail("GetRole", roleName=ROLE),
        cloudtrail("ListAttachedRolePolicies", roleName=ROLE),
        cloudtrail("DeleteRole", source="sts.amazonaws.com", roleName=ROLE),
        cloudtrail("CreatePolicyVersion", policyArn=POLICY_ARN.replace(POLICY, "Other")),
        cloudtrail("DeleteRole"),  # no requestParameters at all
        f"DeleteRole {ROLE} {POLICY}",  # not JSON
    ):
        assert not PATTERN.matches(event), event


def test_names_iam_would_refuse_are_rejected() -> None:
    with pytest.raises(ValueError, match="role name"):
        role_change_pattern('bad"name', POLICY)
    with pytest.raises(ValueError, match="role name"):
        role_change_pattern("r" * 65, POLICY)
    with pytest.raises(ValueError, match="policy name"):
        role_change_pattern(ROLE, "has space")


# The CloudWatch alarm examples from the AWS CloudTrail guide.


@pytest.mark.parametrize(
    ("pattern", "matching", "not_matching"),
    [
        (
            "{ ($.eventName = AuthorizeSecurityGroupIngress) || "
            "($.eventName = AuthorizeSecurityGroupEgress) || "
            "($.eventName = RevokeSecurityGroupIngress) || "
            "($.eventName = RevokeSecurityGroupEgress) || "
            "($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }",
            [{"eventName": "AuthorizeSecurityGroupIngress"}, {"eventName": "DeleteSecurityGroup"}],
            [{"eventName": "DescribeSecurityGroups"}],
        ),
        (
            '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
            [{"eventName": "ConsoleLogin", "errorMessage": "Failed authentication"}],
            [{"eventName": "ConsoleLogin"}, {"eventName": "ConsoleLogin", "errorMessage": "x"}],
        ),
        (
            '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
            [
                {"errorCode": "Client.UnauthorizedOperation"},
                {"errorCode": "AccessDeniedException"},
                {"errorCode": "AccessDenied"},
            ],
            [{"errorCode": "ThrottlingException"}, {"eventName": "AccessDenied"}],
        ),
        (
            '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && '
            '$.eventType != "AwsServiceEvent" }',
            [{"userIdentity": {"type": "Root"}, "eventType": "AwsApiCall"}],
            [
                {
                    "userIdentity": {"type": "Root", "invokedBy": "s3.amazonaws.com"},
                    "eventType": "AwsApiCall",
                },
                {"userIdentity": {"type": "Root"}, "eventType": "AwsServiceEvent"},
                {"userIdentity": {"type": "IAMUser"}, "eventType": "AwsApiCall"},
            ],
        ),
        (
            "{($.eventSource = kms.amazonaws.com) && "
            "(($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }",
            [{"eventSource": "kms.amazonaws.com", "eventName": "ScheduleKeyDeletion"}],
            [
                {"eventSource": "kms.amazonaws.com", "eventName": "EnableKey"},
                {"eventSource": "ec2.amazonaws.com", "eventName": "DisableKey"},
            ],
        ),
        (
            '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }',
            [{"eventName": "ConsoleLogin", "additionalEventData": {"MFAUsed": "No"}}],
            [
                {"eventName": "ConsoleLogin", "additionalEventData": {"MFAUsed": "Yes"}},
                {"eventName": "ConsoleLogin"},  # != on a missing property does not match
            ],
        ),
    ],
)
def test_cloudtrail_alarm_examples(
    pattern: str, matching: list[dict[str, Any]], not_matching: list[dict[str, Any]]
) -> None:
    compiled = compile_pattern(pattern)
    for event in matching:
        assert compiled.matches(json.dumps(event)), event
    for event in not_matching:
        assert not compiled.matches(json.dumps(event)), event
