"""Patterns CloudWatch Logs would refuse: each error names the 1-based column and the fix."""

from __future__ import annotations

import pytest

from flightdeck.filterpattern import MAX_PATTERN_LENGTH, FilterPatternError, compile_pattern


def error_for(pattern: str) -> FilterPatternError:
    with pytest.raises(FilterPatternError) as caught:
        compile_pattern(pattern)
    return caught.value


@pytest.mark.parametrize(
    ("pattern", "position", "says"),
    [
        # text terms
        ("ERROR:", 6, 'put the term in double quotes, "ERROR:"'),
        ("ok [ERROR]", 4, '"[ERROR]"'),
        ('"unterminated', 1, 'no closing "'),
        ('"a"b', 4, "space after the closing quote"),
        ("ERROR - Exiting", 7, "right after '-'"),
        ("? WARN", 1, "right after '?'"),
        ("%abc", 1, "no closing %"),
        ("%abc% ERROR", 6, "must be the whole pattern"),
        # JSON
        ("{ $.a = }", 9, "expected a value after =, found '}'"),
        ("{ $.a == 1 }", 7, "write = to compare"),
        ("{ $.a = 1 ", 10, "closing } of the JSON pattern, found the end of the pattern"),
        ("{ $.a = 1 } extra", 13, "nothing after the closing }"),
        ("{ $.a = 1 & $.b = 2 }", 11, "write && (AND)"),
        ("{ $.a = 1 | $.b = 2 }", 11, "write || (OR)"),
        ("{ $.a ! 1 }", 7, "write != "),
        ("{ $.a > abc }", 9, "expected a number such as 500"),
        ('{ $.a > "5" }', 9, "expected a number"),
        ("{ $.a IS null }", 10, "IS NULL or IS TRUE or IS FALSE (in capitals)"),
        ("{ $.a NOT exists }", 11, "NOT EXISTS (in capitals)"),
        ("{ $.a }", 7, "expected an operator"),
        ("{ a = 1 }", 3, "expected a selector such as $.eventName"),
        ("{ $ = 1 }", 3, "a selector starts with $."),
        ("{ $[0] = 1 }", 3, "a selector starts with $."),
        ("{ $.a. = 1 }", 7, "expected a property name"),
        ("{ $.a[x] = 1 }", 6, "array index such as [0]"),
        ("{ $.@timestamp = 1 }", 5, "expected a property name"),
        ("{ $.a = user@example.com }", 13, "quoted value"),
        ('{ $.a = "open }', 9, 'no closing "'),
        ("{ ($.a = 1 }", 12, "closing )"),
        ("{ $.a = %x% || $.b = %y% || $.c = %z% }", 35, "at most 2 regexes"),
        ("{ $.a > %1% }", 9, "only be compared with = or !="),
        # space-delimited
        ("[a, b", 6, ", between columns or the closing ]"),
        ("[a, ..., b, ...]", 13, "only one ..."),
        ("[a, a]", 5, "'a' is used twice"),
        ("[a, b c]", 7, "expected an operator"),
        ("[a = 1 && b = 2]", 2, "'b', which is not a column"),
        ("[a.b, c]", 2, "letters, digits, - and _"),
        ("[a] x", 5, "nothing after the closing ]"),
        # regexes
        ("%(a|b)%", 2, "parentheses"),
        ("%abc!%", 5, "cannot contain '!'"),
        ("%caf\u00e9%", 5, "only ASCII"),
        ("%%", 1, "empty regex"),
        ("%x[a%", 3, "invalid regex: unterminated character set"),
    ],
)
def test_error_position_and_message(pattern: str, position: int, says: str) -> None:
    error = error_for(pattern)
    assert error.position == position, error
    assert says in error.reason
    assert str(error).startswith(f"column {position}: ")


def test_errors_are_value_errors() -> None:
    assert isinstance(error_for("{"), ValueError)


def test_documented_delimited_example_naming_a_missing_column_is_refused() -> None:
    # The AWS guide shows this six-column pattern; `bytes` names no column, so we refuse it
    # rather than guess (see docs/filter-patterns.md).
    error = error_for("[ip, user, username, timestamp, request, status_code = 4* && bytes > 1000]")
    assert "'bytes'" in error.reason


def test_pattern_length_limit_is_1024_characters() -> None:
    longest = '"' + "x" * (MAX_PATTERN_LENGTH - 2) + '"'
    assert len(longest) == 1024
    assert compile_pattern(longest).matches("x" * 1022)
    error = error_for(longest + " ")
    assert error.position == 1025
    assert "at most 1024" in error.reason
