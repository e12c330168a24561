"""Hostile policy input: every document is parsed or refused with InvalidPolicyError, fast.

The property tests feed arbitrary JSON values and arbitrary text to the identity and trust
parsers and the trust checker; the worst cases the security probe found (deep nesting, a
lone surrogate, 90-statement policies, wildcard patterns that make a backtracking regex
explode) are checked through the installed command, with a generous time guard only.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flightdeck.policy.compare import parse_identity_policy
from flightdeck.policy.document import MAX_JSON_DEPTH, InvalidPolicyError, parse_policy
from flightdeck.policy.patterns import glob_matches, parse_glob
from flightdeck.policy.trust import check_trust_policy

FLIGHTDECK = str(Path(sys.executable).parent / "flightdeck")
PLATFORM = "123456789012"
FUZZ = settings(
    max_examples=150,
    deadline=timedelta(seconds=5),  # per input: no document may stall the parser
    suppress_health_check=[HealthCheck.too_slow],
)

_KEYS = st.sampled_from(
    [
        "Version",
        "Statement",
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
        "AWS",
        "Service",
        "StringEquals",
        "StringLike",
        "ForAnyValue:StringLike",
        "NumericLessThan",
        "IpAddress",
        "sts:ExternalId",
        "Role",
        "AssumeRolePolicyDocument",
    ]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.sampled_from(
        ["2012-10-17", "Allow", "Deny", "*", "sts:AssumeRole", "s3:Get*", "arn:aws:s3:::b/*"]
    ),
    st.sampled_from([f"arn:aws:iam::{PLATFORM}:root", "10.0.0.0/8", "x", "\ud800", ""]),
    st.text(max_size=20),
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(_KEYS, st.text(max_size=8)), children, max_size=5),
    ),
    max_leaves=40,
)


def _parse_or_refuse(source: Any) -> None:
    for kind in ("trust", "identity"):
        try:
            parse_policy(source, kind=kind)  # type: ignore[arg-type]
        except InvalidPolicyError as exc:
            assert str(exc) and "\n" not in str(exc)
    try:
        report = check_trust_policy(source, PLATFORM, "org-external-id")
    except InvalidPolicyError:
        return
    json.dumps(report.as_dict())
    for problem in report.problems:
        (problem.message + problem.fix).encode("utf-8")  # printable: no lone surrogates


@FUZZ
@given(JSON_VALUES)
def test_any_json_value_is_parsed_or_refused(value: Any) -> None:
    _parse_or_refuse(json.dumps(value))


@FUZZ
@given(st.dictionaries(_KEYS, JSON_VALUES, max_size=4))
def test_policy_shaped_objects_are_parsed_or_refused(value: dict[str, Any]) -> None:
    _parse_or_refuse(value)
    _parse_or_refuse(json.dumps({"Version": "2012-10-17", "Statement": [value]}))


@FUZZ
@given(st.text(max_size=300))
def test_any_text_is_parsed_or_refused(text: str) -> None:
    _parse_or_refuse(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"Statement": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1),
        '{"Version": "2012-10-17", "Statement": [{"Condition": {"NumericEquals": {"k": '
        + "1" * 5000
        + "}}}]}",
        " " * 300_000,
    ],
    ids=["100000-deep", "just-too-deep", "5000-digit-number", "too-long"],
)
def test_oversized_documents_are_refused_with_one_line(text: str) -> None:
    with pytest.raises(InvalidPolicyError) as caught:
        parse_identity_policy(text)
    assert "\n" not in str(caught.value)


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FLIGHTDECK, "aws", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_deeply_nested_json_is_exit_2_for_both_commands(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"Statement": ' + "[" * 100_000 + "]" * 100_000 + "}")
    trust = _cli(
        "trust-policy", "check", str(deep), "--platform-account", PLATFORM, "--external-id", "x"
    )
    assert "nest more than" in _one_error_line(trust)
    compare = _cli("policy", "compare", str(deep), str(deep))
    assert "nest more than" in _one_error_line(compare)


def test_lone_surrogate_in_a_sid_is_exit_2(tmp_path: Path) -> None:
    policy = tmp_path / "trust.json"
    statement = (
        '{"Sid": "\\ud800", "Effect": "Allow", "Action": "sts:AssumeRole", '
        f'"Principal": {{"AWS": "arn:aws:iam::{PLATFORM}:root"}}}}'
    )
    policy.write_text('{"Version": "2012-10-17", "Statement": [' + statement + "]}")
    result = _cli(
        "trust-policy", "check", str(policy), "--platform-account", PLATFORM, "--external-id", "x"
    )
    assert "surrogate" in _one_error_line(result)


def _ninety_statements(seed: int) -> dict[str, Any]:
    chooser = random.Random(seed)
    services = ["s3", "ec2", "iam", "kms", "logs", "sqs", "sns", "dynamodb", "lambda", "rds"]
    verbs = ["Get", "Put", "List", "Describe", "Delete", "Create"]
    statements = []
    for index in range(90):
        statement: dict[str, Any] = {
            "Sid": f"S{index}",
            "Effect": chooser.choice(["Allow", "Allow", "Deny"]),
            "Action": [f"{chooser.choice(services)}:{chooser.choice(verbs)}*" for _ in range(3)],
            "Resource": [f"arn:aws:{chooser.choice(services)}:*:*:res-{chooser.randint(0, 50)}/*"],
        }
        if chooser.random() < 0.5:
            key = f"aws:ResourceTag/t{chooser.randint(0, 5)}"
            statement["Condition"] = {"StringLike": {key: f"v{chooser.randint(0, 9)}*"}}
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


@pytest.mark.timeout(300)
def test_ninety_statement_policies_are_answered_within_the_budget(tmp_path: Path) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(_ninety_statements(1)))
    new.write_text(json.dumps(_ninety_statements(2)))
    # The budget is 20 s; the guard is generous because the machine may be loaded.
    result = _cli("policy", "compare", str(old), str(new), "--json", timeout=100)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["result"] == "expands"
    assert answer["example"] is not None or answer["reason"].startswith("unsure:")


def _glob_regex(pattern: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


@settings(max_examples=300, deadline=timedelta(seconds=2))
@given(
    st.text(alphabet="ab*?Aé", max_size=8),
    st.text(alphabet="abABé", max_size=10),
    st.booleans(),
)
def test_wildcard_matching_agrees_with_a_regular_expression(
    pattern: str, text: str, ignore_case: bool
) -> None:
    glob = parse_glob(pattern, wildcards=True, variables=False)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    expected = re.fullmatch(_glob_regex(pattern), text, flags) is not None
    assert glob_matches(glob, text, ignore_case=ignore_case) == expected


@pytest.mark.timeout(60)
def test_many_stars_do_not_backtrack() -> None:
    # As a regular expression this takes longer than the age of the universe.
    glob = parse_glob("*a" * 12 + "*b", wildcards=True, variables=False)
    assert not glob_matches(glob, "a" * 5000)
    assert glob_matches(glob, "a" * 5000 + "b")
    report = check_trust_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"AWS": f"arn:aws:iam::{PLATFORM}:root"},
                    "Condition": {"StringLike": {"sts:ExternalId": "*a" * 12 + "*b"}},
                }
            ],
        },
        PLATFORM,
        "a" * 3000,
    )
    assert "external_id_wildcard" in report.codes
