"""The generated role policy is least-privilege and fits IAM's managed-policy size limit."""

from __future__ import annotations

import json

from flightdeck.aws.permissions import (
    MANAGED_POLICY_NAME,
    ROLE_NAME,
    all_actions,
    managed_policy_document,
)


def _allowed(document: dict) -> list[dict]:
    return [s for s in document["Statement"] if s["Effect"] == "Allow"]


def test_grants_exactly_the_declared_actions() -> None:
    granted = {a for s in _allowed(managed_policy_document()) for a in s["Action"]}
    assert granted == set(all_actions())


def test_no_wildcard_actions_and_no_iam_star() -> None:
    for statement in managed_policy_document()["Statement"]:
        for action in statement["Action"]:
            assert "*" not in action, action


def test_iam_mutations_cannot_reach_other_roles_or_attach_arbitrary_policies() -> None:
    for statement in _allowed(managed_policy_document()):
        mutating = [a for a in statement["Action"]
                    if a in ("iam:CreateRole", "iam:DeleteRole", "iam:AttachRolePolicy",
                             "iam:DetachRolePolicy", "iam:PassRole", "iam:TagRole")]
        if not mutating:
            continue
        assert statement["Resource"] == "arn:aws:iam::*:role/flightdeck-*", statement
        if "iam:AttachRolePolicy" in mutating:
            policies = statement["Condition"]["ArnEquals"]["iam:PolicyARN"]
            assert "arn:aws:iam::aws:policy/AdministratorAccess" not in policies
        if "iam:PassRole" in mutating:
            assert "iam:PassedToService" in statement["Condition"]["StringEquals"]


def test_the_role_cannot_change_itself() -> None:
    deny = [s for s in managed_policy_document()["Statement"] if s["Effect"] == "Deny"]
    assert len(deny) == 1
    assert f"arn:aws:iam::*:role/{ROLE_NAME}" in deny[0]["Resource"]
    assert f"arn:aws:iam::*:policy/{MANAGED_POLICY_NAME}" in deny[0]["Resource"]
    assert {"iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy",
            "iam:DeleteRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:DeletePolicy",
            "iam:PutRolePermissionsBoundary"} <= set(deny[0]["Action"])


def test_policy_versions_may_change_only_on_its_own_policy() -> None:
    """Published versions are installed through the role (policy 2026-11-21.5 on): the four
    version actions are allowed on FlightdeckCrossAccountRole and nowhere else."""
    version_actions = {"iam:ListPolicyVersions", "iam:CreatePolicyVersion",
                       "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion"}
    granting = [s for s in _allowed(managed_policy_document())
                if version_actions & set(s["Action"])]
    assert len(granting) == 1
    assert set(granting[0]["Action"]) == version_actions
    assert granting[0]["Resource"] == f"arn:aws:iam::*:policy/{MANAGED_POLICY_NAME}"
    assert "Condition" not in granting[0]


def test_s3_writes_are_limited_to_flightdeck_log_buckets() -> None:
    for statement in _allowed(managed_policy_document()):
        if any(a in ("s3:DeleteBucket", "s3:DeleteObject", "s3:CreateBucket")
               for a in statement["Action"]):
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            assert all(r.startswith("arn:aws:s3:::fd-logs-") for r in resources)


def test_fits_the_managed_policy_size_limit() -> None:
    compact = json.dumps(managed_policy_document(), separators=(",", ":"))
    assert len("".join(compact.split())) <= 6144
