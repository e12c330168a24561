"""The role template and quick-create link: plain YAML, least privilege, the checker's approval."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from flightdeck.aws.permissions import (
    MANAGED_POLICY_NAME,
    POLICY_VERSION,
    ROLE_NAME,
    all_actions,
    managed_policy_document,
)
from flightdeck.aws.role_template import (
    STACK_NAME,
    quick_create_url,
    role_template_document,
    role_template_yaml,
    trust_policy_document,
)
from flightdeck.policy.document import action_matches
from flightdeck.policy.trust import check_trust_policy

PLATFORM = "111111111111"
EXTERNAL_ID = "fd-3nY8qPz=,.@:/-_+x"


def template() -> dict[str, Any]:
    loaded = yaml.safe_load(role_template_yaml(PLATFORM))
    assert isinstance(loaded, dict)
    return loaded


def resolve_external_id(node: Any, value: str) -> Any:
    """Substitute the ExternalId parameter the way CloudFormation would."""
    if node == {"Ref": "ExternalId"}:
        return value
    if isinstance(node, dict):
        return {key: resolve_external_id(item, value) for key, item in node.items()}
    if isinstance(node, list):
        return [resolve_external_id(item, value) for item in node]
    return node


def test_template_is_plain_yaml_and_deterministic() -> None:
    text = role_template_yaml(PLATFORM)
    assert "!Ref" not in text and "!GetAtt" not in text
    assert text == role_template_yaml(PLATFORM)
    assert template() == role_template_document(PLATFORM)
    assert role_template_yaml("222222222222") != text


def test_template_shape() -> None:
    doc = template()
    parameter = doc["Parameters"]["ExternalId"]
    assert parameter["Type"] == "String"
    assert parameter["MinLength"] == 2 and parameter["MaxLength"] == 1224
    assert "NoEcho" not in parameter
    role = doc["Resources"]["CrossAccountRole"]
    policy = doc["Resources"]["CrossAccountPolicy"]
    assert role["Type"] == "AWS::IAM::Role"
    assert role["Properties"]["RoleName"] == ROLE_NAME
    assert policy["Properties"]["Roles"] == [{"Ref": "CrossAccountRole"}]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    assert policy["Properties"]["ManagedPolicyName"] == MANAGED_POLICY_NAME
    assert doc["Outputs"]["RoleArn"]["Value"] == {"Fn::GetAtt": ["CrossAccountRole", "Arn"]}
    assert doc["Outputs"]["PolicyArn"]["Value"] == {"Ref": "CrossAccountPolicy"}
    assert doc["Outputs"]["PolicyVersion"]["Value"] == POLICY_VERSION
    assert STACK_NAME == "FlightdeckCrossAccountRole"


def test_template_trust_policy_passes_the_checker_only_for_the_right_external_id() -> None:
    trust = template()["Resources"]["CrossAccountRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Condition"] == {
        "StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}
    }
    resolved = resolve_external_id(trust, EXTERNAL_ID)
    assert check_trust_policy(resolved, PLATFORM, EXTERNAL_ID).ok
    assert check_trust_policy(resolved, PLATFORM, "another-id").codes == ["external_id_mismatch"]
    assert check_trust_policy(resolved, "222222222222", EXTERNAL_ID).codes == ["wrong_account"]


def test_iam_and_template_trust_policies_cannot_drift() -> None:
    trust = template()["Resources"]["CrossAccountRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert resolve_external_id(trust, EXTERNAL_ID) == trust_policy_document(PLATFORM, EXTERNAL_ID)
    assert check_trust_policy(
        json.dumps(trust_policy_document(PLATFORM, EXTERNAL_ID)), PLATFORM, EXTERNAL_ID
    ).ok


def test_managed_policy_is_least_privilege_and_exactly_the_declared_actions() -> None:
    document = template()["Resources"]["CrossAccountPolicy"]["Properties"]["PolicyDocument"]
    assert document == managed_policy_document()
    allows = [s for s in document["Statement"] if s["Effect"] == "Allow"]
    denies = [s for s in document["Statement"] if s["Effect"] != "Allow"]
    assert [s["Sid"] for s in denies] == ["DenyChangesToThisRole"]
    actions = [action for s in allows for action in s["Action"]]
    assert all("NotAction" not in s for s in document["Statement"])
    assert sorted(set(actions)) == all_actions()
    assert all("*" not in action and "?" not in action for action in actions)
    assert not any(action_matches(action, "iam:CreateUser") for action in actions)
    assert not any(action.lower().startswith("iam:") and action.endswith("*") for action in actions)
    assert "AdministratorAccess" not in role_template_yaml(PLATFORM)


@pytest.mark.parametrize("bad", ["Q", "has space", "semi;colon", "a" * 1225, ""])
def test_trust_policy_refuses_an_external_id_sts_would_refuse(bad: str) -> None:
    with pytest.raises(ValueError, match="external ID") as info:
        trust_policy_document(PLATFORM, bad)
    if bad:
        assert bad not in str(info.value)


def test_trust_policy_refuses_a_bad_account() -> None:
    with pytest.raises(ValueError, match="12 digits"):
        trust_policy_document("1234", EXTERNAL_ID)


def test_quick_create_url_round_trips() -> None:
    template_url = (
        "https://bucket.s3.us-east-2.amazonaws.com/role.yaml"
        "?X-Amz-Signature=ab%2Bcd&X-Amz-Expires=3600#frag"
    )
    url = quick_create_url(template_url, "eu-west-1", EXTERNAL_ID)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "https://console.aws.amazon.com"
    assert parts.path == "/cloudformation/home"
    assert parse_qs(parts.query) == {"region": ["eu-west-1"]}
    route, _, fragment_query = parts.fragment.partition("?")
    assert route == "/stacks/quickcreate"
    params = parse_qs(fragment_query, keep_blank_values=True, strict_parsing=True)
    assert params == {
        "templateURL": [template_url],
        "stackName": ["FlightdeckCrossAccountRole"],
        "param_ExternalId": [EXTERNAL_ID],
    }
    assert "#" not in parts.fragment


@pytest.mark.parametrize(
    ("template_url", "region", "external_id", "fragment"),
    [
        ("http://bucket.s3.amazonaws.com/t.yaml", "us-east-1", EXTERNAL_ID, "https://"),
        ("file:///etc/passwd", "us-east-1", EXTERNAL_ID, "https://"),
        ("https://b.s3.amazonaws.com/t.yaml", "useast1", EXTERNAL_ID, "region"),
        ("https://b.s3.amazonaws.com/t.yaml", "us-east-1", "bad id", "external ID"),
    ],
)
def test_quick_create_url_refuses_bad_input(
    template_url: str, region: str, external_id: str, fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        quick_create_url(template_url, region, external_id)
