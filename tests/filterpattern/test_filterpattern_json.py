"""JSON patterns: selectors, operators, wildcards, arrays, null/existence checks, numbers."""

from __future__ import annotations

import json

import pytest

from flightdeck.filterpattern import compile_pattern

# The AWS guide's sample event for its JSON examples.
SAMPLE = json.dumps(
    {
        "eventType": "UpdateTrail",
        "sourceIPAddress": "111.111.111.111",
        "arrayKey": ["value", "another value"],
        "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
        "SomeObject": None,
        "ThisFlag": True,
    }
)
# The AWS guide's sample event for compound conditions.
USERS = json.dumps(
    {
        "user": {"id": 1, "email": "John.Stiles@example.com"},
        "users": [
            {"id": 2, "email": "John.Doe@example.com"},
            {"id": 3, "email": "Jane.Doe@example.com"},
        ],
        "actions": ["GET", "PUT", "DELETE"],
        "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
    }
)


def matches(pattern: str, event: str | dict[str, object]) -> bool:
    return compile_pattern(pattern).matches(event if isinstance(event, str) else json.dumps(event))


@pytest.mark.parametrize(
    "pattern",
    [
        '{ $.eventType = "UpdateTrail" }',
        "{ $.sourceIPAddress != 123.123.* }",
        '{ $.arrayKey[0] = "value" }',
        "{ $.objectList[1].id = 2 }",
        "{ $.SomeObject IS NULL }",
        "{ $.SomeOtherObject NOT EXISTS }",
        "{ $.ThisFlag IS TRUE }",
    ],
)
def test_documented_patterns_match_the_documented_event(pattern: str) -> None:
    assert compile_pattern(pattern).kind == "json"
    assert matches(pattern, SAMPLE)


@pytest.mark.parametrize(
    "pattern",
    [
        '{ $.eventType = "updatetrail" }',  # case-sensitive
        "{ $.sourceIPAddress != 111.111.* }",
        '{ $.arrayKey[1] = "value" }',
        "{ $.arrayKey[2] NOT EXISTS && $.arrayKey[5] = value }",
        "{ $.objectList[0].id = 2 }",
        "{ $.eventType IS NULL }",
        "{ $.SomeObject NOT EXISTS }",
        "{ $.ThisFlag IS FALSE }",
    ],
)
def test_variations_that_must_not_match_the_documented_event(pattern: str) -> None:
    assert not matches(pattern, SAMPLE)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', True),
        ('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', False),
        (
            '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch'
            " && $.actions[2] = nomatch }",
            True,
        ),
        (
            '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch)'
            " && $.actions[2] = nomatch }",
            False,
        ),
        ("{ $.coordinates[2][0] = 7 && $.coordinates[1][2] >= 6 }", True),
    ],
)
def test_documented_compound_conditions_and_precedence(pattern: str, expected: bool) -> None:
    assert matches(pattern, USERS) is expected


def test_or_across_events() -> None:
    pattern = compile_pattern("{$.foo = bar || $.foo = baz}")
    assert [pattern.matches(e) for e in ('{"foo": "bar"}', '{"foo": "baz"}', '{"foo": "qux"}')] == [
        True,
        True,
        False,
    ]


def test_and_binds_tighter_than_or() -> None:
    event = {"a": 1, "b": 2, "c": 3}
    assert matches("{ $.a = 9 && $.b = 9 || $.c = 3 }", event)
    assert not matches("{ $.a = 9 && ($.b = 9 || $.c = 3) }", event)


def test_selector_on_an_array_or_object_never_matches_even_with_not_equal() -> None:
    event = {"users": [1, 2, 3], "user": {"id": 1}}
    for pattern in (
        "{ $.users = 1 }",
        "{ $.users != 1 }",
        "{ $.user = 1 }",
        "{ $.user != x }",
        "{ $.users = * }",
    ):
        assert not matches(pattern, event), pattern
    assert matches("{ $.users[2] = 3 }", event)


def test_not_equal_on_a_missing_or_null_property_does_not_match() -> None:
    assert not matches('{ $.missing != "x" }', {"other": "y"})
    assert not matches('{ $.nothing != "x" }', {"nothing": None})
    assert matches('{ $.present != "x" }', {"present": "y"})


def test_is_null_and_not_exists_are_different() -> None:
    null, absent, empty = {"key": None}, {"other": 1}, {"key": ""}
    assert matches("{ $.key IS NULL }", null)
    assert not matches("{ $.key NOT EXISTS }", null)
    assert matches("{ $.key NOT EXISTS }", absent)
    assert not matches("{ $.key IS NULL }", absent)
    assert not matches("{ $.key IS NULL }", empty)
    assert not matches("{ $.key NOT EXISTS }", empty)


def test_not_exists_through_missing_or_non_object_parents() -> None:
    assert matches("{ $.a.b.c NOT EXISTS }", {"a": "text"})
    assert matches("{ $.a[3] NOT EXISTS }", {"a": [1, 2]})
    assert matches("{ $.a[0] NOT EXISTS }", {"a": {"0": 1}})  # an object is not an array


def test_is_true_and_is_false_need_json_booleans() -> None:
    assert matches("{ $.flag IS FALSE }", {"flag": False})
    assert not matches("{ $.flag IS TRUE }", {"flag": "true"})
    assert not matches("{ $.flag IS FALSE }", {"flag": 0})
    assert not matches("{ $.flag IS TRUE }", {})


def test_string_values_are_exact_and_case_sensitive() -> None:
    event = {"name": "GetEvent"}
    assert matches("{ $.name = GetEvent }", event)
    assert not matches("{ $.name = getevent }", event)
    assert not matches("{ $.name = Get }", event)
    assert not matches('{ $.name = "GetEvent " }', event)


@pytest.mark.parametrize(
    ("value", "matching"),
    [
        ("*Event", ["PutEvent", "GetEvent", "Event"]),
        ("Event*", ["EventId", "EventName", "Event"]),
        ("*ven*", ["PutEvent", "GetEvent", "EventId", "EventName", "Event"]),
        ('"*Event"', ["PutEvent", "GetEvent", "Event"]),
        ("Ev*ent", ["Ev*ent"]),  # a * in the middle is a literal *
        ("*", ["PutEvent", "GetEvent", "EventId", "EventName", "Event", "Ev*ent"]),
    ],
)
def test_wildcards_at_either_end(value: str, matching: list[str]) -> None:
    names = ["PutEvent", "GetEvent", "EventId", "EventName", "Event", "Ev*ent"]
    pattern = compile_pattern(f"{{ $.name = {value} }}")
    assert [n for n in names if pattern.matches(json.dumps({"name": n}))] == matching


def test_star_alone_means_any_value_but_not_null_or_missing() -> None:
    pattern = "{ $.latency = * }"
    assert matches(pattern, {"latency": 12})
    assert matches(pattern, {"latency": "slow"})
    assert not matches(pattern, {"latency": None})
    assert not matches(pattern, {})


@pytest.mark.parametrize(
    ("pattern", "latency", "expected"),
    [
        ("{ $.latency > 1e3 }", 1001, True),
        ("{ $.latency > 1e3 }", 1000, False),
        ("{ $.latency >= 500 }", 500, True),
        ("{ $.latency < 10e-3 }", 0.001, True),
        ("{ $.latency < 10e-3 }", 0.01, False),
        ("{ $.latency <= 55.5 }", 55.5, True),
        ("{ $.latency > +1000 }", 1000.5, True),
        ("{ $.latency > -1.5 }", -1, True),
        ("{ $.latency = 400 }", 400.0, True),
        ("{ $.latency = 4e2 }", 400, True),
        ("{ $.latency != 500 }", 400, True),
        ("{ $.latency != 500 }", 500, False),
        ("{ $.latency = .5 }", 0.5, True),
        ("{ $.latency > 9007199254740992 }", 9007199254740993, True),
    ],
)
def test_numbers_compare_by_value(pattern: str, latency: object, expected: bool) -> None:
    assert matches(pattern, {"latency": latency}) is expected


def test_number_written_in_the_event_with_an_exponent() -> None:
    assert matches("{ $.bytes = 1500 }", '{"bytes": 1.5e3}')
    assert matches("{ $.bytes >= 1.5E3 }", '{"bytes": 1500}')


def test_numeric_operators_skip_non_numbers() -> None:
    for value in ("fast", True, None, [1], {"v": 1}):
        assert not matches("{ $.latency > 0 }", {"latency": value}), value
    assert not matches("{ $.latency > 0 }", {})


def test_numeric_strings_compare_as_numbers() -> None:
    assert matches("{ $.code = 400 }", {"code": "400"})
    assert matches("{ $.code > 399 }", {"code": "400"})
    assert matches('{ $.code = "400" }', {"code": 400})
    assert not matches('{ $.code = "401" }', {"code": 400})


def test_booleans_compare_as_true_and_false_text() -> None:
    assert matches("{ $.flag = true }", {"flag": True})
    assert matches("{ $.flag != true }", {"flag": False})
    assert not matches("{ $.flag = true }", {"flag": "yes"})


def test_selectors_with_dashes_underscores_and_nested_arrays() -> None:
    event = {"detail-type": "x", "a_b": [[{"c-d": "deep"}]]}
    assert matches('{ $.detail-type = "x" && $.a_b[0][0].c-d = deep }', event)


def test_non_json_events_never_match_json_patterns() -> None:
    for pattern in ("{ $.a NOT EXISTS }", "{ $.a = * }", "{ $.a != 1 }"):
        compiled = compile_pattern(pattern)
        for event in ("plain text", "[1, 2]", '"a string"', "{not json}", "", "{}x", "NaN"):
            assert not compiled.matches(event), (pattern, event)
    assert compile_pattern("{ $.a NOT EXISTS }").matches("  {}  ")


def test_json_events_with_escapes_still_match_literal_values() -> None:
    # "\u0052ole" is "Role": the raw text does not contain the value, the parsed JSON does.
    assert matches('{ $.eventName = "DeleteRole" }', '{"eventName": "Delete\\u0052ole"}')
    assert matches('{ $.msg = "say \\"hi\\"" }', '{"msg": "say \\"hi\\""}')
    assert not matches('{ $.eventName = "DeleteRole" }', '{"eventName": "Delete\\u0053ole"}')


def test_regex_values() -> None:
    pattern = "{ $.eventName = %^[DP][a-z]+Role$% }"
    assert matches(pattern, {"eventName": "DeleteRole"})
    assert matches(pattern, {"eventName": "PutRole"})
    assert not matches(pattern, {"eventName": "GetRole"})
    assert matches("{ $.ip != %^10[.]% }", {"ip": "192.168.0.1"})
    assert not matches("{ $.ip != %^10[.]% }", {"ip": "10.0.0.1"})
    assert not matches("{ $.ip = %.% }", {})


def test_keys_are_case_sensitive_and_dotted_keys_are_paths() -> None:
    assert not matches("{ $.EventName = x }", {"eventName": "x"})
    assert not matches("{ $.a.b = x }", {"a.b": "x"})
    assert matches("{ $.a.b = x }", {"a": {"b": "x"}})


@pytest.mark.parametrize(
    "pattern",
    [
        '{ $.eventName = "DeleteRole" }',
        '{ $.eventName = "Delete*" && $.region = us-east-1 }',
        '{ $.eventName = "*Role" || $.user.name = "alice" }',
        "{ ($.a = abc || $.b = 12) && $.c != x }",
    ],
)
def test_substring_precheck_never_changes_the_answer(pattern: str) -> None:
    from flightdeck.filterpattern.evaluate import (
        compile_condition,
        load_json_object,
        selector_getter,
    )
    from flightdeck.filterpattern.nodes import JsonPattern

    compiled = compile_pattern(pattern)
    assert isinstance(compiled.tree, JsonPattern)
    direct = compile_condition(compiled.tree.condition, selector_getter)
    events = [
        {"eventName": "DeleteRole", "region": "us-east-1"},
        {"eventName": "DeleteUser", "region": "us-east-1"},
        {"eventName": "CreateRole", "user": {"name": "alice"}},
        {"eventName": "Delete\u00e9Role"},
        {"a": "abc", "c": "y"},
        {"b": 12.0, "c": "y"},
        {"b": "12", "c": "x"},
        {"eventName": "DeleteRole", "note": 'has "quotes"'},
    ]
    for event in events:
        for text in (json.dumps(event), json.dumps(event, ensure_ascii=False)):
            document = load_json_object(text)
            assert document is not None
            assert compiled.matches(text) is direct(document), (pattern, text)
