"""The fast JSON path (orjson, the substring pre-check on escaped events) answers exactly
as the plain path (``json.loads`` then the condition), on varied CloudTrail-like records."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from flightdeck.filterpattern import compile_pattern
from flightdeck.filterpattern.cloudtrail import role_change_pattern
from flightdeck.filterpattern.evaluate import compile_condition, load_json_object, selector_getter
from flightdeck.filterpattern.nodes import JsonPattern

PATTERNS = [
    role_change_pattern("flightdeck-remote-management", "FlightdeckCrossAccountRole"),
    '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
    '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS }',
    '{ ($.eventName = ConsoleLogin) && ($.additionalEventData.MFAUsed != "Yes") }',
    '{ $.eventName = "Put/Get*" || $.note = "a\\"b" }',
    "{ $.count > 9007199254740993 || $.size = 1e400 }",
    '{ $.requestParameters.policyArn = "*/FlightdeckCrossAccountRole" }',
    '{ $.eventName = "Délété" }',
]
COMPILED = [compile_pattern(text) for text in PATTERNS]
PLAIN = []
for compiled in COMPILED:
    assert isinstance(compiled.tree, JsonPattern)
    PLAIN.append(compile_condition(compiled.tree.condition, selector_getter))

WORDS = [
    "DeleteRole",
    "AttachRolePolicy",
    "CreatePolicyVersion",
    "ConsoleLogin",
    "Root",
    "AccessDenied",
    "Client.UnauthorizedOperation",
    "iam.amazonaws.com",
    "flightdeck-remote-management",
    "arn:aws:iam::111122223333:policy/FlightdeckCrossAccountRole",
    "Put/GetThing",
    'a"b',
    "Yes",
    "No",
    "Délété",
    "\ud800",
    "",
]
values = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=8),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
KEYS = [
    "eventName",
    "eventSource",
    "errorCode",
    "note",
    "count",
    "size",
    "type",
    "invokedBy",
    "MFAUsed",
    "roleName",
    "policyArn",
]
records = st.recursive(
    st.dictionaries(st.sampled_from(KEYS), values, max_size=6),
    lambda inner: st.dictionaries(
        st.sampled_from([*KEYS, "userIdentity", "requestParameters", "additionalEventData"]),
        st.one_of(values, inner, st.lists(values, max_size=2)),
        max_size=6,
    ),
    max_leaves=12,
)


def _spellings(record: dict[str, Any]) -> list[str]:
    """The same record as JSON written several ways: ASCII-only, UTF-8, with \\/ escapes
    and with letters written as \\u escapes, and as invalid JSON."""
    ascii_text = json.dumps(record)
    texts = [ascii_text, json.dumps(record, ensure_ascii=False, separators=(",", ":"))]
    texts.append(ascii_text.replace("/", "\\/"))
    texts.append(ascii_text.replace("R", "\\u0052").replace("o", "\\u006f"))
    texts.append(ascii_text[:-1])
    return texts


@settings(max_examples=400, deadline=None)
@given(records)
def test_fast_path_answers_as_the_plain_path(record: dict[str, Any]) -> None:
    for text in _spellings(record):
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        plain = document if isinstance(document, dict) else None
        assert load_json_object(text) == plain, text
        for pattern, compiled, condition in zip(PATTERNS, COMPILED, PLAIN, strict=True):
            expected = plain is not None and condition(plain)
            assert compiled.matches(text) is expected, (pattern, text)


def test_long_integers_keep_their_exact_value() -> None:
    text = '{"count": 9007199254740993123}'
    assert load_json_object(text) == {"count": 9007199254740993123}
    assert compile_pattern("{ $.count > 9007199254740993122 }").matches(text)
    # Beyond 64 bits orjson reads both as one float; the exact integers still differ.
    exact = compile_pattern("{ $.count = 123456789012345678901234567890 }")
    assert exact.matches('{"count": 123456789012345678901234567890}')
    assert not exact.matches('{"count": 123456789012345678901234567891}')
    assert compile_pattern("{ $.count = %7891$% }").matches(
        '{"count": 123456789012345678901234567891}'
    )
