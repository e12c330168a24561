"""Real-size pairs: flightdeck's own role policy and its next versions, and big policies."""

from __future__ import annotations

import copy
from typing import Any

from flightdeck.aws.permissions import (
    MANAGED_POLICY_NAME,
    ROLE_NAME,
    SELF_PROTECTION_ACTIONS,
    managed_policy_document,
)
from flightdeck.policy.actions import iam_action_universe
from policy.compare_helpers import allow, deny, doc, expands, no_new_access


def _statement(document: dict[str, Any], sid: str) -> tuple[int, dict[str, Any]]:
    for index, statement in enumerate(document["Statement"]):
        if statement.get("Sid") == sid:
            return index, statement
    raise AssertionError(f"no statement {sid}")


def test_role_policy_with_one_action_added_expands_with_that_action() -> None:
    current = managed_policy_document()
    proposed = copy.deepcopy(current)
    index, database = _statement(proposed, "Database")
    database["Action"].append("rds:DeleteDBCluster")
    result = expands(current, proposed)
    assert result.example is not None
    assert result.example.action == "rds:DeleteDBCluster"
    assert result.statement == index


def test_role_policy_with_one_action_removed_is_no_new_access() -> None:
    current = managed_policy_document()
    proposed = copy.deepcopy(current)
    _, eks = _statement(proposed, "EksCluster")
    eks["Action"].remove("eks:DeleteCluster")
    no_new_access(current, proposed)
    no_new_access(current, current)


def test_role_policy_resource_widened_is_held_back_by_its_own_deny() -> None:
    current = managed_policy_document()
    proposed = copy.deepcopy(current)
    index = next(
        i
        for i, s in enumerate(proposed["Statement"])
        if s["Effect"] == "Allow" and "iam:DeleteRole" in s["Action"]
    )
    proposed["Statement"][index]["Resource"] = "arn:aws:iam::*:role/*"
    result = expands(current, proposed)
    assert result.example is not None
    assert result.statement == index
    assert ":role/" in result.example.resource
    # Not a flightdeck- role (already allowed) and never the protected role itself.
    assert ":role/flightdeck-" not in result.example.resource


def test_role_policy_without_its_self_protection_deny_expands_on_the_role() -> None:
    current = managed_policy_document()
    proposed = copy.deepcopy(current)
    proposed["Statement"] = [s for s in proposed["Statement"] if s["Effect"] == "Allow"]
    result = expands(current, proposed)
    assert result.example is not None
    assert result.example.action in SELF_PROTECTION_ACTIONS
    assert result.example.resource.endswith(
        (f":role/{ROLE_NAME}", f":policy/{MANAGED_POLICY_NAME}")
    )
    assert "denies it" in result.reason


def test_role_policy_condition_values_widened() -> None:
    current = managed_policy_document()
    proposed = copy.deepcopy(current)
    index = next(
        i
        for i, s in enumerate(proposed["Statement"])
        if s.get("Condition", {}).get("StringEquals", {}).get("iam:PassedToService")
    )
    passed = proposed["Statement"][index]["Condition"]["StringEquals"]["iam:PassedToService"]
    passed.append("lambda.amazonaws.com")
    result = expands(current, proposed)
    assert result.example is not None
    assert result.example.action == "iam:PassRole"
    assert result.example.context == {"iam:PassedToService": "lambda.amazonaws.com"}
    assert result.statement == index


def _hundreds_of_actions() -> list[str]:
    universe = iam_action_universe()
    names = sorted(universe.by_lower.values())
    return names[::60]  # ~370 actions across most services


def test_hundreds_of_actions_and_wildcards() -> None:
    actions = _hundreds_of_actions()
    assert len(actions) > 300
    wildcards = ["ec2:Describe*", "s3:Get*", "logs:*", "cloudwatch:List*", "iam:Get*"]
    old = doc(
        allow(actions[:200], sid="Listed"),
        allow(wildcards, sid="Reads"),
        allow(actions[200:], "arn:aws:*:*:123456789012:*", sid="OwnAccount"),
        deny("iam:*", "arn:aws:iam::*:role/admin-*"),
    )
    removed = copy.deepcopy(old)
    removed["Statement"][0]["Action"] = actions[:150]
    removed["Statement"][1]["Action"] = ["ec2:DescribeVpcs", "s3:GetObject*", "logs:Get*"]
    no_new_access(old, removed)
    result = expands(removed, old)
    assert result.example is not None

    added = copy.deepcopy(old)
    added["Statement"][1]["Action"] = [*wildcards, "ssm:GetParameter*"]
    result = expands(old, added)
    assert result.example is not None
    assert result.example.action.lower().startswith("ssm:getparameter")
    assert result.statement == 1

    other_account = copy.deepcopy(old)
    other_account["Statement"][2]["Resource"] = "arn:aws:*:*:*:*"
    result = expands(old, other_account)
    assert result.example is not None
    assert result.statement == 2
    assert ":123456789012:" not in result.example.resource


def test_equivalent_rewrites_of_a_big_policy_are_no_new_access_both_ways() -> None:
    actions = _hundreds_of_actions()
    one_statement = doc(allow(actions))
    by_service: dict[str, list[str]] = {}
    for action in actions:
        by_service.setdefault(action.split(":")[0], []).append(action.upper())
    many_statements = doc(*(allow(listed) for listed in by_service.values()))
    no_new_access(one_statement, many_statements)
    no_new_access(many_statements, one_statement)
