"""The trust-policy checker: a table of policies and the exact problems each one has."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from flightdeck.policy.document import action_matches, parse_policy
from flightdeck.policy.trust import (
    PROBLEM_CODES,
    InvalidPolicyError,
    TrustPolicyReport,
    check_trust_policy,
)

PLATFORM = "111111111111"
OTHER = "222222222222"
EXTERNAL_ID = "fd-ext-7Qm2sZ9kLp"
ROOT = f"arn:aws:iam::{PLATFORM}:root"


def stmt(
    principal: Any = None,
    *,
    action: Any = "sts:AssumeRole",
    condition: Any = "default",
    effect: str = "Allow",
    sid: str | None = None,
    principal_field: str = "Principal",
    action_field: str = "Action",
) -> dict[str, Any]:
    """A statement; by default the correct one (platform root, exact external ID)."""
    result: dict[str, Any] = {
        "Effect": effect,
        principal_field: {"AWS": ROOT} if principal is None else principal,
        action_field: action,
    }
    if condition == "default":
        condition = {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}
    if condition is not None:
        result["Condition"] = condition
    if sid is not None:
        result["Sid"] = sid
    return result


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def ext(operator: str, value: Any, key: str = "sts:ExternalId") -> dict[str, Any]:
    return {operator: {key: value}}


CORRECT = doc(stmt())

CASES: list[tuple[str, Any, list[str]]] = [
    # --- correct shapes -------------------------------------------------------------
    ("correct", CORRECT, []),
    ("statement as object", {"Version": "2012-10-17", "Statement": stmt()}, []),
    ("no version", {"Statement": [stmt()]}, []),
    ("bare account id principal", doc(stmt({"AWS": PLATFORM})), []),
    ("principal list of one", doc(stmt({"AWS": [ROOT]})), []),
    ("role in platform account", doc(stmt({"AWS": f"arn:aws:iam::{PLATFORM}:role/cp"})), []),
    ("action list", doc(stmt(action=["sts:AssumeRole"])), []),
    ("action lower case", doc(stmt(action="STS:assumerole")), []),
    ("action wildcard sts:*", doc(stmt(action="sts:*")), []),
    ("action wildcard sts:Assume*", doc(stmt(action="sts:Assume*")), []),
    ("action *", doc(stmt(action="*")), []),
    ("tag session too", doc(stmt(action=["sts:AssumeRole", "sts:TagSession"])), []),
    (
        "condition key lower case",
        doc(stmt(condition=ext("StringEquals", EXTERNAL_ID, "STS:externalid"))),
        [],
    ),
    ("value list of one", doc(stmt(condition=ext("StringEquals", [EXTERNAL_ID]))), []),
    ("same value twice", doc(stmt(condition=ext("StringEquals", [EXTERNAL_ID, EXTERNAL_ID]))), []),
    ("StringLike without wildcard", doc(stmt(condition=ext("StringLike", EXTERNAL_ID))), []),
    ("operator case", doc(stmt(condition=ext("stringequals", EXTERNAL_ID))), []),
    (
        "ForAnyValue on single-valued key",
        doc(stmt(condition=ext("ForAnyValue:StringEquals", EXTERNAL_ID))),
        [],
    ),
    (
        "exact plus harmless IfExists",
        doc(
            stmt(
                condition={
                    "StringEquals": {"sts:ExternalId": EXTERNAL_ID},
                    "StringEqualsIfExists": {"sts:ExternalId": EXTERNAL_ID},
                }
            )
        ),
        [],
    ),
    (
        "exact plus Null false",
        doc(
            stmt(
                condition={
                    "StringEquals": {"sts:ExternalId": EXTERNAL_ID},
                    "Null": {"sts:ExternalId": "false"},
                }
            )
        ),
        [],
    ),
    (
        "exact plus MFA bool and source ip",
        doc(
            stmt(
                condition={
                    "StringEquals": {"sts:ExternalId": EXTERNAL_ID},
                    "Bool": {"aws:SecureTransport": True},
                    "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
                }
            )
        ),
        [],
    ),
    (
        "wildcard principal narrowed to platform by aws:PrincipalAccount",
        doc(
            stmt(
                "*",
                condition={
                    "StringEquals": {
                        "sts:ExternalId": EXTERNAL_ID,
                        "aws:PrincipalAccount": PLATFORM,
                    }
                },
            )
        ),
        [],
    ),
    (
        "tag session for another service is harmless",
        doc(
            stmt(), stmt({"Service": "ec2.amazonaws.com"}, action="sts:TagSession", condition=None)
        ),
        [],
    ),
    (
        "deny without external id is a guard, not a block",
        doc(stmt(), stmt("*", effect="Deny", condition=ext("StringNotEquals", EXTERNAL_ID))),
        [],
    ),
    (
        "deny for other accounts only",
        doc(
            stmt(),
            stmt(
                "*",
                effect="Deny",
                condition=ext("StringNotEquals", PLATFORM, "aws:PrincipalAccount"),
            ),
        ),
        [],
    ),
    (
        "deny on an undecidable condition is left to verification",
        doc(
            stmt(),
            stmt("*", effect="Deny", condition=ext("NotIpAddress", "10.0.0.0/8", "aws:SourceIp")),
        ),
        [],
    ),
    (
        "escaped star is literal in StringLike",
        doc(stmt(condition=ext("StringLike", EXTERNAL_ID + "${*}"))),
        ["external_id_mismatch"],
    ),
    # --- principals -----------------------------------------------------------------
    ("principal *", doc(stmt("*")), ["wildcard_principal"]),
    ("principal AWS *", doc(stmt({"AWS": "*"})), ["wildcard_principal"]),
    ("wildcard account in arn", doc(stmt({"AWS": "arn:aws:iam::*:root"})), ["wildcard_principal"]),
    (
        "extra account",
        doc(stmt({"AWS": [ROOT, f"arn:aws:iam::{OTHER}:root"]})),
        ["extra_principal"],
    ),
    ("extra account in its own statement", doc(stmt(), stmt({"AWS": OTHER})), ["extra_principal"]),
    (
        "extra service",
        doc(stmt({"AWS": ROOT, "Service": "ec2.amazonaws.com"})),
        ["extra_principal"],
    ),
    (
        "extra federated provider",
        doc(
            stmt(),
            stmt(
                {"Federated": "cognito-identity.amazonaws.com"},
                action="sts:AssumeRoleWithWebIdentity",
                condition=None,
            ),
        ),
        ["extra_principal"],
    ),
    (
        "unrecognised unique id",
        doc(stmt({"AWS": [ROOT, "AROAEXAMPLEUNIQUEID"]})),
        ["extra_principal"],
    ),
    ("wrong account", doc(stmt({"AWS": f"arn:aws:iam::{OTHER}:root"})), ["wrong_account"]),
    (
        "service only",
        doc(stmt({"Service": "ec2.amazonaws.com"}, condition=None)),
        ["extra_principal", "platform_not_trusted"],
    ),
    (
        "platform narrowed away by aws:PrincipalAccount",
        doc(
            stmt(
                condition={
                    "StringEquals": {"sts:ExternalId": EXTERNAL_ID, "aws:PrincipalAccount": OTHER}
                }
            )
        ),
        ["platform_not_trusted"],
    ),
    (
        "wildcard narrowed to another account",
        doc(
            stmt(
                "*",
                condition={
                    "StringEquals": {"sts:ExternalId": EXTERNAL_ID, "aws:PrincipalAccount": OTHER}
                },
            )
        ),
        ["wrong_account"],
    ),
    (
        "wildcard with IfExists account condition stays wildcard",
        doc(
            stmt(
                "*",
                condition={
                    "StringEquals": {"sts:ExternalId": EXTERNAL_ID},
                    "StringEqualsIfExists": {"aws:PrincipalAccount": PLATFORM},
                },
            )
        ),
        ["wildcard_principal"],
    ),
    (
        "NotPrincipal with Allow",
        doc(stmt({"AWS": f"arn:aws:iam::{OTHER}:root"}, principal_field="NotPrincipal")),
        ["not_principal_allow"],
    ),
    (
        "NotPrincipal with Deny",
        doc(
            stmt(),
            stmt({"AWS": ROOT}, effect="Deny", principal_field="NotPrincipal", condition=None),
        ),
        ["not_principal_deny"],
    ),
    # --- actions --------------------------------------------------------------------
    ("only tag session", doc(stmt(action="sts:TagSession")), ["assume_role_missing"]),
    (
        "web identity is not AssumeRole",
        doc(stmt(action="sts:AssumeRoleWithWebIdentity")),
        ["assume_role_missing"],
    ),
    (
        "NotAction excluding AssumeRole",
        doc(stmt(action="sts:AssumeRole", action_field="NotAction")),
        ["assume_role_missing"],
    ),
    (
        "NotAction allowing AssumeRole",
        doc(stmt(action="sts:TagSession", action_field="NotAction")),
        [],
    ),
    # --- external id ----------------------------------------------------------------
    ("no condition", doc(stmt(condition=None)), ["external_id_missing"]),
    (
        "condition on another key only",
        doc(stmt(condition=ext("Bool", "true", "aws:MultiFactorAuthPresent"))),
        ["external_id_missing"],
    ),
    (
        "typo in key",
        doc(stmt(condition=ext("StringEquals", EXTERNAL_ID, "sts:ExternalID2"))),
        ["external_id_missing"],
    ),
    ("Null false only", doc(stmt(condition=ext("Null", "false"))), ["external_id_missing"]),
    (
        "different value",
        doc(stmt(condition=ext("StringEquals", "someone-else"))),
        ["external_id_mismatch"],
    ),
    ("empty string value", doc(stmt(condition=ext("StringEquals", ""))), ["external_id_mismatch"]),
    (
        "prefix of the id",
        doc(stmt(condition=ext("StringEquals", EXTERNAL_ID[:-1]))),
        ["external_id_mismatch"],
    ),
    (
        "policy variable",
        doc(stmt(condition=ext("StringEquals", "${aws:username}"))),
        ["external_id_mismatch"],
    ),
    (
        "list with another value",
        doc(stmt(condition=ext("StringEquals", [EXTERNAL_ID, "other"]))),
        ["external_id_multiple_values"],
    ),
    (
        "StringLike list with another literal",
        doc(stmt(condition=ext("StringLike", [EXTERNAL_ID, "other"]))),
        ["external_id_multiple_values"],
    ),
    ("StringLike *", doc(stmt(condition=ext("StringLike", "*"))), ["external_id_wildcard"]),
    (
        "StringLike prefix*",
        doc(stmt(condition=ext("StringLike", EXTERNAL_ID[:4] + "*"))),
        ["external_id_wildcard"],
    ),
    (
        "StringLike ? wildcard",
        doc(stmt(condition=ext("StringLike", EXTERNAL_ID[:-1] + "?"))),
        ["external_id_wildcard"],
    ),
    (
        "StringLike wildcard not matching",
        doc(stmt(condition=ext("StringLike", "zzz*"))),
        ["external_id_wildcard", "external_id_mismatch"],
    ),
    (
        "without Version 2012-10-17 an escaped star is a real wildcard",
        {"Statement": [stmt(condition=ext("StringLike", EXTERNAL_ID + "${*}"))]},
        ["external_id_wildcard", "external_id_mismatch"],
    ),
    (
        "IgnoreCase",
        doc(stmt(condition=ext("StringEqualsIgnoreCase", EXTERNAL_ID))),
        ["external_id_case_insensitive"],
    ),
    (
        "IgnoreCase other value",
        doc(stmt(condition=ext("StringEqualsIgnoreCase", "nope"))),
        ["external_id_mismatch"],
    ),
    (
        "IfExists",
        doc(stmt(condition=ext("StringEqualsIfExists", EXTERNAL_ID))),
        ["external_id_vacuous"],
    ),
    (
        "ForAllValues",
        doc(stmt(condition=ext("ForAllValues:StringEquals", EXTERNAL_ID))),
        ["external_id_vacuous"],
    ),
    (
        "StringNotEquals",
        doc(stmt(condition=ext("StringNotEquals", "other"))),
        ["external_id_vacuous"],
    ),
    ("StringNotLike", doc(stmt(condition=ext("StringNotLike", "x*"))), ["external_id_vacuous"]),
    ("Null true", doc(stmt(condition=ext("Null", "true"))), ["external_id_vacuous"]),
    (
        "ArnEquals",
        doc(stmt(condition=ext("ArnEquals", EXTERNAL_ID))),
        ["external_id_wrong_operator"],
    ),
    (
        "NumericEquals",
        doc(stmt(condition=ext("NumericEquals", "12"))),
        ["external_id_wrong_operator"],
    ),
    (
        "exact but contradicted by a second clause",
        doc(
            stmt(
                condition={
                    "StringEquals": {"sts:ExternalId": EXTERNAL_ID},
                    "StringNotEquals": {"sts:ExternalId": EXTERNAL_ID},
                }
            )
        ),
        ["external_id_mismatch"],
    ),
    (
        "one correct statement and one open",
        doc(stmt(sid="Good"), stmt(sid="Open", condition=None)),
        ["external_id_missing"],
    ),
    (
        "one correct statement and one with sts:*",
        doc(stmt(), stmt(action="sts:*", condition=ext("StringLike", "*"))),
        ["external_id_wildcard"],
    ),
    (
        "wildcard principal without external id",
        doc(stmt("*", condition=None)),
        ["wildcard_principal", "external_id_missing"],
    ),
    # --- deny -----------------------------------------------------------------------
    (
        "deny everyone",
        doc(stmt(), stmt("*", effect="Deny", condition=None)),
        ["deny_blocks_platform"],
    ),
    (
        "deny platform root",
        doc(stmt(), stmt({"AWS": PLATFORM}, effect="Deny", action="sts:*", condition=None)),
        ["deny_blocks_platform"],
    ),
    (
        "deny with a condition the platform meets",
        doc(
            stmt(),
            stmt(
                "*", effect="Deny", condition=ext("StringEquals", PLATFORM, "aws:PrincipalAccount")
            ),
        ),
        ["deny_blocks_platform"],
    ),
    (
        "deny only tag session",
        doc(stmt(), stmt("*", effect="Deny", action="sts:TagSession", condition=None)),
        [],
    ),
    ("deny another account", doc(stmt(), stmt({"AWS": OTHER}, effect="Deny", condition=None)), []),
]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [pytest.param(policy, expected, id=name) for name, policy, expected in CASES],
)
def test_policy_table(policy: Any, expected: list[str]) -> None:
    report = check_trust_policy(policy, PLATFORM, EXTERNAL_ID)
    assert sorted(report.codes) == sorted(expected), [p.message for p in report.problems]
    assert report.ok is (not expected)
    for problem in report.problems:
        assert problem.code in PROBLEM_CODES


def test_every_problem_code_is_exercised_by_the_table() -> None:
    exercised = {code for _, _, expected in CASES for code in expected}
    assert exercised == set(PROBLEM_CODES)


@pytest.mark.parametrize(
    ("name", "policy"), [(name, policy) for name, policy, expected in CASES if expected]
)
def test_messages_name_the_statement_and_never_leak_the_external_id(name: str, policy: Any) -> None:
    report = check_trust_policy(policy, PLATFORM, EXTERNAL_ID)
    for problem in report.problems:
        for text in (problem.message, problem.fix):
            assert EXTERNAL_ID not in text
            assert text.endswith("."), text
            assert text[0].isupper(), text
        if problem.code != "platform_not_trusted":
            assert "Statement" in problem.message


def test_messages_use_the_sid() -> None:
    report = check_trust_policy(
        doc(stmt(sid="Good"), stmt(sid="Open", condition=None)), PLATFORM, EXTERNAL_ID
    )
    assert [p.message.split(" lets")[0] for p in report.problems] == ['Statement "Open"']
    report = check_trust_policy(doc(stmt(), stmt(condition=None)), PLATFORM, EXTERNAL_ID)
    assert "Statement #2" in report.problems[0].message


def test_json_text_and_get_role_output_are_accepted() -> None:
    text = json.dumps(CORRECT)
    assert check_trust_policy(text, PLATFORM, EXTERNAL_ID).ok
    assert check_trust_policy(text.encode(), PLATFORM, EXTERNAL_ID).ok
    get_role = {"Role": {"RoleName": "r", "AssumeRolePolicyDocument": CORRECT}}
    assert check_trust_policy(get_role, PLATFORM, EXTERNAL_ID).ok
    from urllib.parse import quote

    assert check_trust_policy(quote(text), PLATFORM, EXTERNAL_ID).ok


def test_a_different_external_id_argument_fails_the_same_policy() -> None:
    assert check_trust_policy(CORRECT, PLATFORM, "another-id").codes == ["external_id_mismatch"]
    assert check_trust_policy(CORRECT, OTHER, EXTERNAL_ID).codes == ["wrong_account"]


def test_report_as_dict_shape() -> None:
    report = check_trust_policy(doc(stmt("*")), PLATFORM, EXTERNAL_ID)
    data = report.as_dict()
    assert data["ok"] is False
    assert set(data) == {"ok", "problems"}
    assert all(set(p) == {"code", "message", "fix"} for p in data["problems"])
    assert TrustPolicyReport().as_dict() == {"ok": True, "problems": []}


INVALID: list[tuple[str, Any, str]] = [
    ("not json", "{not json", "not valid JSON"),
    ("empty", "  ", "empty"),
    ("a list", "[]", "JSON object"),
    ("no statement", {"Version": "2012-10-17"}, "no Statement"),
    ("empty statement list", {"Statement": []}, "empty list"),
    ("statement is a string", {"Statement": "x"}, "Statement must be"),
    ("bad effect", {"Statement": [{**stmt(), "Effect": "allow"}]}, "Effect"),
    (
        "missing effect",
        {"Statement": [{k: v for k, v in stmt().items() if k != "Effect"}]},
        "Effect",
    ),
    (
        "no principal",
        {"Statement": [{k: v for k, v in stmt().items() if k != "Principal"}]},
        "Principal",
    ),
    ("no action", {"Statement": [{k: v for k, v in stmt().items() if k != "Action"}]}, "Action"),
    (
        "action and notaction",
        {"Statement": [{**stmt(), "NotAction": "x:y"}]},
        "exactly one of Action",
    ),
    ("action without service", doc(stmt(action="AssumeRole")), "sts:AssumeRole"),
    ("resource", {"Statement": [{**stmt(), "Resource": "*"}]}, "Resource"),
    ("unknown field", {"Statement": [{**stmt(), "Prinicpal": "*"}]}, "Prinicpal"),
    ("bad version", {"Version": "2020-01-01", "Statement": [stmt()]}, "Version"),
    ("unknown principal type", doc(stmt({"Users": "x"})), "principal type"),
    ("principal string", doc(stmt(ROOT)), "Principal"),
    ("unknown operator", doc(stmt(condition=ext("StringEqual", EXTERNAL_ID))), "StringEqual"),
    (
        "unknown prefix",
        doc(stmt(condition=ext("ForSomeValues:StringEquals", EXTERNAL_ID))),
        "prefix",
    ),
    ("empty value list", doc(stmt(condition=ext("StringEquals", []))), "empty list"),
    ("nested value", doc(stmt(condition=ext("StringEquals", {"a": 1}))), "strings, numbers"),
    ("duplicate key", '{"Statement": [{"Effect": "Allow", "Effect": "Deny"}]}', "appears twice"),
    ("unknown top-level", {"Statement": [stmt()], "Statements": []}, "Statements"),
]


@pytest.mark.parametrize(("policy", "fragment"), [pytest.param(p, f, id=n) for n, p, f in INVALID])
def test_invalid_documents_say_what_is_wrong(policy: Any, fragment: str) -> None:
    with pytest.raises(InvalidPolicyError) as info:
        check_trust_policy(policy, PLATFORM, EXTERNAL_ID)
    assert fragment in str(info.value)


@pytest.mark.parametrize("account", ["11111111111", "1111111111111", "abcdefghijkl", ""])
def test_platform_account_must_be_twelve_digits(account: str) -> None:
    with pytest.raises(ValueError, match="12 digits"):
        check_trust_policy(CORRECT, account, EXTERNAL_ID)


def test_empty_external_id_is_refused() -> None:
    with pytest.raises(ValueError, match="external ID"):
        check_trust_policy(CORRECT, PLATFORM, "")


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("sts:AssumeRole", "sts:assumerole", True),
        ("sts:*", "sts:AssumeRole", True),
        ("*", "sts:AssumeRole", True),
        ("sts:Assume*", "sts:AssumeRole", True),
        ("sts:AssumeRol?", "sts:AssumeRole", True),
        ("sts:AssumeRole", "sts:AssumeRoleWithSAML", False),
        ("sts:Assume", "sts:AssumeRole", False),
        ("iam:*", "sts:AssumeRole", False),
        ("sts:Assume.ole", "sts:AssumeRole", False),
    ],
)
def test_action_matching(pattern: str, action: str, expected: bool) -> None:
    assert action_matches(pattern, action) is expected


def test_spellings_parse_to_the_same_document() -> None:
    loose = {
        "Statement": {
            "Effect": "Allow",
            "Principal": {"AWS": ROOT},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}},
        }
    }
    strict = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": [ROOT]},
                "Action": ["sts:AssumeRole"],
                "Condition": {"StringEquals": {"sts:ExternalId": [EXTERNAL_ID]}},
            }
        ]
    }
    assert parse_policy(loose) == parse_policy(strict)


# Property-style: adding any statement to a policy never removes a problem (IAM policies are
# monotone in Allows for "who else gets in"), and every open Allow added to the correct
# policy is caught.
OPEN_ADDITIONS = [
    stmt("*"),
    stmt({"AWS": OTHER}),
    stmt(condition=None),
    stmt(condition=ext("StringLike", "*")),
    stmt(condition=ext("StringEqualsIfExists", EXTERNAL_ID)),
    stmt(condition=ext("StringNotEquals", "x")),
    stmt(condition=ext("ForAllValues:StringEquals", EXTERNAL_ID)),
    stmt(condition=ext("StringEquals", [EXTERNAL_ID, "x"])),
    stmt({"Service": "lambda.amazonaws.com"}, condition=None),
    stmt(action="sts:*", condition=None),
]


@pytest.mark.parametrize("count", [1, 2])
def test_any_open_statement_added_to_a_correct_policy_is_reported(count: int) -> None:
    for additions in itertools.combinations(OPEN_ADDITIONS, count):
        for position in range(count + 1):
            statements = list(additions)
            statements.insert(position, stmt())
            report = check_trust_policy(doc(*statements), PLATFORM, EXTERNAL_ID)
            assert not report.ok, additions


def test_problems_are_monotone_when_statements_are_added() -> None:
    for first, second in itertools.permutations(OPEN_ADDITIONS, 2):
        alone = set(check_trust_policy(doc(stmt(), first), PLATFORM, EXTERNAL_ID).codes)
        both = set(check_trust_policy(doc(stmt(), first, second), PLATFORM, EXTERNAL_ID).codes)
        assert alone <= both, (first, second)
