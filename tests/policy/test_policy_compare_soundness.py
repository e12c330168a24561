"""Soundness: constructs not modelled exactly never yield "no new access" unless proved, and
random policy pairs agree with brute force over a finite set of requests."""

from __future__ import annotations

import itertools
import json
import random
import re
from typing import Any

import pytest

from flightdeck.policy.actions import ActionUniverse
from flightdeck.policy.compare import compare, parse_identity_policy
from flightdeck.policy.document import InvalidPolicyError
from flightdeck.policy.evaluate import Request, evaluate_policy
from policy.compare_helpers import allow, check_example, deny, doc, expands, no_new_access, unsure

HOME = "arn:aws:s3:::home/${aws:username}/*"


def test_policy_variable_in_a_new_resource_is_unsure() -> None:
    result = unsure(doc(allow("s3:ListBucket")), doc(allow("s3:GetObject", HOME)))
    assert "${aws:username}" in result.reason
    assert "NEW statement 0" in result.reason


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # Only a request the variable decides could be newly allowed: no example at all,
        # never one such as `resource "arn:"` that neither policy allows.
        (doc(allow("s3:ListBucket")), doc(allow("s3:GetObject", HOME))),
        (doc(), doc(allow("s3:GetObject", HOME))),
        (doc(allow("s3:GetObject", HOME)), doc(allow("s3:GetObject", "arn:aws:s3:::home/a/*"))),
        (
            doc(),
            doc(
                allow(
                    "iam:ChangePassword", condition={"StringEquals": {"aws:x": "${aws:username}"}}
                )
            ),
        ),
        (doc(), doc(allow("s3:*", condition={"BinaryEquals": {"aws:SomeBlob": "QmluYXJ5"}}))),
    ],
)
def test_an_unsure_answer_shows_no_request_the_plain_evaluator_cannot_confirm(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    result = unsure(old, new)
    assert result.example is None and result.statement is None, result
    assert "No request is shown" in result.reason


def test_an_unsure_construct_beside_a_definite_grant_gives_the_confirmed_request() -> None:
    # The variable alone would be unsure; the plain grant beside it is definite, and its
    # request is the one shown (checked by the plain evaluator in `expands`).
    new = doc(allow("s3:GetObject", HOME), allow("s3:PutObject", "arn:aws:s3:::drop/*"))
    result = expands(doc(allow("s3:ListBucket")), new)
    assert result.example is not None
    assert result.example.action == "s3:PutObject"


def test_policy_variable_in_an_unchanged_statement_is_still_proved() -> None:
    same = allow("s3:GetObject", HOME)
    no_new_access(doc(same), doc(same))
    no_new_access(doc(same, allow("s3:ListBucket")), doc(same))
    # And an addition elsewhere is found definitely, the unknown part notwithstanding.
    result = expands(doc(same), doc(same, allow("s3:PutObject", "arn:aws:s3:::public/*")))
    assert result.example is not None
    assert result.example.action == "s3:PutObject"


def test_policy_variable_in_a_condition() -> None:
    own = allow(
        "iam:ChangePassword",
        condition={"StringEquals": {"aws:PrincipalTag/user": "${aws:username}"}},
    )
    result = unsure(doc(), doc(own))
    assert "${aws:username}" in result.reason
    no_new_access(doc(own), doc(own))
    # A Deny whose condition is unknown can only take access away.
    no_new_access(
        doc(allow("iam:*")), doc(allow("iam:*"), deny("iam:*", condition=own["Condition"]))
    )


def test_old_documents_take_variables_literally() -> None:
    literal = allow("s3:GetObject", HOME)
    result = expands(doc(version="2008-10-17"), doc(literal, version="2008-10-17"))
    assert result.example is not None
    assert result.example.resource.startswith("arn:aws:s3:::home/${aws:username}/")


def test_binary_and_plain_operators_on_multivalued_keys_are_unsure() -> None:
    binary = allow("s3:*", condition={"BinaryEquals": {"aws:SomeBlob": "QmluYXJ5"}})
    result = unsure(doc(), doc(binary))
    assert "binary" in result.reason
    tags = allow("ec2:CreateTags", condition={"StringEquals": {"aws:TagKeys": "team"}})
    result = unsure(doc(), doc(tags))
    assert "several values" in result.reason


def test_mixed_types_on_one_key_are_unsure_not_wrong() -> None:
    old = doc(allow("s3:*", condition={"StringEquals": {"aws:MultiFactorAuthAge": "60"}}))
    new = doc(allow("s3:*", condition={"NumericLessThan": {"aws:MultiFactorAuthAge": 100}}))
    result = compare(old, new)
    assert result.result == "expands"


def test_an_unknown_in_old_that_could_cover_the_new_access_is_unsure() -> None:
    old = doc(allow("s3:GetObject", HOME))
    new = doc(allow("s3:GetObject", "arn:aws:s3:::home/alice/*"))
    # Whether OLD already grants alice's objects depends on who is asking.
    unsure(old, new)


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ({"Effect": "Allow", "Action": "s3:*"}, "Statement[0] must have exactly one of Resource"),
        (
            {"Effect": "Allow", "Action": "s3:*", "Resource": "bucket/*"},
            'must be "*" or an ARN',
        ),
        (
            {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"},
            "Principal, which an identity policy cannot have",
        ),
        ({"Effect": "Permit", "Action": "s3:*", "Resource": "*"}, "Effect must be"),
        (
            {
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"Sorta": {"k": "v"}},
            },
            "not an IAM condition operator",
        ),
    ],
)
def test_invalid_policies_name_the_statement(statement: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidPolicyError, match=re.escape(message)) as raised:
        compare(doc(allow("s3:*")), {"Statement": [statement]})
    assert raised.value.statement == 0


def test_invalid_json_gives_line_and_column() -> None:
    with pytest.raises(InvalidPolicyError) as raised:
        parse_identity_policy('{"Statement": [\n  {"Effect": "Allow",}\n]}')
    assert (raised.value.line, raised.value.column) == (2, 22)


# --- random pairs against brute force -------------------------------------------------

ACTIONS = ["s3:GetObject", "s3:GetBucketAcl", "s3:PutObject", "s3:ListBucket", "ec2:RunInstances"]
ACTION_PATTERNS = ["s3:*", "s3:Get*", "s3:GetObject", "s3:PutObject", "ec2:*", "*", "s3:?etObject"]
RESOURCE_PATTERNS = [
    "*",
    "arn:aws:s3:::a/*",
    "arn:aws:s3:::a/b",
    "arn:aws:s3:::a?/*",
    "arn:aws:s3:::*",
    "arn:aws:ec2:*:*:instance/*",
]
RESOURCES = [
    "*",
    "arn:aws:s3:::a/b",
    "arn:aws:s3:::a/c",
    "arn:aws:s3:::ab/c",
    "arn:aws:s3:::z",
    "arn:aws:ec2:us-east-1:1:instance/i-1",
    "arn:aws:iam::1:role/x",
]
CONDITIONS: list[dict[str, Any]] = [
    {"StringEquals": {"aws:PrincipalTag/team": "data"}},
    {"StringEqualsIfExists": {"aws:PrincipalTag/team": ["data", "ml"]}},
    {"StringNotEquals": {"aws:PrincipalTag/team": "guest"}},
    {"StringLike": {"aws:PrincipalTag/team": "d*"}},
    {"Null": {"aws:PrincipalTag/team": "true"}},
    {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
    {"NumericGreaterThanEquals": {"aws:MultiFactorAuthAge": "60"}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"NotIpAddress": {"aws:SourceIp": "10.1.0.0/16"}},
]
CONTEXT_VALUES: dict[str, list[Any]] = {
    "aws:PrincipalTag/team": [None, "data", "ml", "guest", "dx", "zz"],
    "aws:MultiFactorAuthAge": [None, 0, 60, 3599, 3600, 9999],
    "aws:SecureTransport": [None, True, False],
    "aws:SourceIp": [None, "10.1.2.3", "10.2.0.1", "192.0.2.1"],
}


def _random_statement(rng: random.Random) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": rng.choice(["Allow", "Allow", "Deny"]),
        rng.choice(["Action", "Action", "Action", "NotAction"]): rng.sample(
            ACTION_PATTERNS, rng.randint(1, 2)
        ),
        rng.choice(["Resource", "Resource", "NotResource"]): rng.sample(
            RESOURCE_PATTERNS, rng.randint(1, 2)
        ),
    }
    conditions: dict[str, Any] = {}
    for clause in rng.sample(CONDITIONS, rng.choice([0, 0, 1, 2])):
        for operator, block in clause.items():
            conditions.setdefault(operator, {}).update(block)
    if conditions:
        statement["Condition"] = conditions
    return statement


def _requests() -> list[Request]:
    keys = list(CONTEXT_VALUES)
    contexts = []
    for values in itertools.product(*(CONTEXT_VALUES[k] for k in keys)):
        contexts.append({k: v for k, v in zip(keys, values, strict=True) if v is not None})
    actions = [*ACTIONS, "s3:futureaction", "s3:hetobject", "sqs:SendMessage"]
    return [
        Request(action, resource, context)
        for action in actions
        for resource in RESOURCES
        for context in contexts[::11]
    ]


def test_random_pairs_agree_with_brute_force() -> None:
    rng = random.Random(20261121)
    universe = ActionUniverse.of([*ACTIONS, "sqs:SendMessage", "ec2:StopInstances"], "test")
    requests = _requests()
    outcomes = {"expands": 0, "no-new-access": 0}
    for _ in range(100):
        old = doc(*(_random_statement(rng) for _ in range(rng.randint(1, 3))))
        new = doc(*(_random_statement(rng) for _ in range(rng.randint(1, 3))))
        result = compare(old, new, universe=universe)
        outcomes[result.result] += 1
        old_doc, new_doc = parse_identity_policy(old), parse_identity_policy(new)
        newly = [
            r
            for r in requests
            if evaluate_policy(new_doc, r).allowed and evaluate_policy(old_doc, r).allowed is False
        ]
        if result.result == "no-new-access":
            assert not newly, (old, new, newly[:1])
        else:
            assert not result.reason.startswith("unsure"), result
            check_example(old, new, result)
    assert min(outcomes.values()) >= 15, outcomes  # both answers exercised


def test_get_policy_version_output_and_url_encoded_documents_are_read() -> None:
    from urllib.parse import quote

    policy = doc(allow("s3:GetObject"))
    wrapped = {"PolicyVersion": {"Document": quote(json.dumps(policy)), "VersionId": "v5"}}
    no_new_access(policy, wrapped)
    no_new_access(wrapped, policy)
