"""One rule for "the same IAM document", used by role setup, verification, governance's drift
detection and monitoring alike."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from flightdeck.aws.error_codes import absent_on, error_code
from flightdeck.aws.iam_documents import canonical, decoded_text, parse_document, same_document

WANTED: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Read",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
            "Condition": {"StringEquals": {"aws:PrincipalAccount": ["111111111111"]}},
        },
        {"Sid": "Logs", "Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"},
    ],
}


def respelled() -> dict[str, Any]:
    """WANTED as IAM may hand it back: other key order, lists reordered or repeated,
    one-item lists for single values, statements in another order."""
    return {
        "Statement": [
            {"Resource": ["*"], "Action": ["logs:PutLogEvents"], "Effect": "Allow", "Sid": "Logs"},
            {
                "Condition": {"StringEquals": {"aws:PrincipalAccount": "111111111111"}},
                "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::b"],
                "Action": ["s3:ListBucket", "s3:GetObject", "s3:ListBucket"],
                "Effect": "Allow",
                "Sid": "Read",
            },
        ],
        "Version": "2012-10-17",
    }


@pytest.mark.parametrize(
    "current",
    [
        pytest.param(respelled(), id="parsed"),
        pytest.param(json.dumps(respelled()), id="json"),
        pytest.param(quote(json.dumps(respelled())), id="url-encoded"),
    ],
)
def test_equivalent_spellings_are_the_same_document(current: Any) -> None:
    assert same_document(current, WANTED)
    assert canonical(parse_document(current)) == canonical(WANTED)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["Statement"][0].update(Effect="Deny"),
        lambda d: d["Statement"][0]["Action"].append("s3:PutObject"),
        lambda d: d["Statement"][0]["Resource"].pop(),
        lambda d: d["Statement"][0]["Condition"]["StringEquals"].update(
            {"aws:PrincipalAccount": ["222222222222"]}
        ),
        lambda d: d["Statement"].pop(),
    ],
    ids=["effect", "extra action", "fewer resources", "condition value", "fewer statements"],
)
def test_a_change_in_meaning_is_a_different_document(change: Any) -> None:
    current = json.loads(json.dumps(WANTED))
    change(current)
    assert not same_document(current, WANTED)


def test_text_that_is_not_json_is_no_document() -> None:
    assert parse_document("%7Bnot json") is None
    assert not same_document("not json", WANTED)
    assert decoded_text('{"a": "%20"}') == '{"a": "%20"}'  # decoded JSON passes unchanged
    assert decoded_text("%7B%7D") == "{}"


class Answer(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.response = {"Error": {"Code": code, "Message": "m"}}


def test_absent_on_turns_only_the_named_codes_into_none() -> None:
    def missing() -> None:
        raise Answer("NoSuchEntity")

    assert absent_on(("NoSuchEntity",), missing) is None
    with pytest.raises(Answer):
        absent_on(("NoSuchBucket",), missing)
    assert absent_on(("NoSuchEntity",), lambda value: value, value=3) == 3
    assert error_code(Answer("Throttling")) == "Throttling"
    assert error_code(ValueError("plain")) is None
