"""Space-delimited patterns: columns, the ... ellipsis, and conditions on fields."""

from __future__ import annotations

import pytest

from flightdeck.filterpattern import compile_pattern
from flightdeck.filterpattern.evaluate import split_fields

# The AWS guide's access-log sample.
LOG_200 = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534'
LOG_500 = '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324'
LOG_404 = '127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /index.html HTTP/1.0" 404 4355'
LOGS = [LOG_200, LOG_500, LOG_404]


def matching(pattern: str, events: list[str]) -> list[str]:
    compiled = compile_pattern(pattern)
    assert compiled.kind == "delimited"
    return [event for event in events if compiled.matches(event)]


def test_brackets_and_quotes_make_one_field_without_them() -> None:
    assert split_fields(LOG_404) == [
        "127.0.0.1",
        "-",
        "frank",
        "10/Oct/2000:13:50:35 -0700",
        "GET /index.html HTTP/1.0",
        "404",
        "4355",
    ]
    assert split_fields("  a\t\tb  ") == ["a", "b"]
    assert split_fields('a "unterminated quote') == ["a", "unterminated quote"]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[ip, user, username, timestamp, request, status_code, bytes]", LOGS),
        ("[..., status_code, bytes]", LOGS),
        ("[ip, user, ..., status_code, bytes]", LOGS),
        ("[ip, user, ...]", LOGS),
        ("[ip, user, username, timestamp, request, status_code, bytes > 5000]", [LOG_500]),
        ("[ip, user, username, timestamp, request, status_code = 200, bytes]", [LOG_200]),
        ("[ip, user, username, timestamp, request, status_code = 4*, bytes]", [LOG_404]),
        ("[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", [LOG_404]),
        (
            "[ip, user, username, timestamp, request, status_code = 5* && bytes > 1000, bytes]",
            [LOG_500],
        ),
        ("[..., status_code = 5* || status_code = 4*, bytes]", [LOG_500, LOG_404]),
        ("[..., status_code != 200, bytes]", [LOG_500, LOG_404]),
        ("[..., request = *.html*, status_code = 4*,]", [LOG_404]),
        ('[ip = "127.0.0.1", ...]', LOGS),
        ("[ip = 10.*, ...]", []),
        ("[..., request = %index[.]html%, status, bytes]", [LOG_404]),
    ],
)
def test_documented_access_log_patterns(pattern: str, expected: list[str]) -> None:
    assert matching(pattern, LOGS) == expected


def test_without_an_ellipsis_the_last_column_takes_the_rest_of_the_event() -> None:
    events = ["ERROR WARN message", "ERROR message", "WARN message", "ERROR"]
    assert matching("[w1=ERROR, w2]", events) == ["ERROR WARN message", "ERROR message"]
    assert matching("[w1=ERROR || w1=WARN, w2]", events) == events[:3]
    assert matching("[w1, w2, w3]", events) == ["ERROR WARN message"]
    # The rest is the event's own text from there on, quotes and brackets included.
    assert matching('[w1, w2 = "WARN message"]', events) == ["ERROR WARN message"]
    assert matching(r'[a, b = "\"x y\" [z]"]', ['a "x y" [z]']) == ['a "x y" [z]']
    assert matching('[a, b = "x y"]', ['a "x y"']) == ['a "x y"']
    assert split_fields('a "x y" [z]  ', 2) == ["a", '"x y" [z]']
    assert split_fields('a "x y"', 2) == ["a", "x y"]


def test_column_names_ignore_letter_case() -> None:
    events = ["GET 500", "GET 200", "PUT 500"]
    assert matching("[method, status = 500 && METHOD = GET]", events) == ["GET 500"]
    assert matching("[Method = PUT, Status]", events) == ["PUT 500"]
    assert matching("[ip, ..., STATUS_CODE = 404, bytes]", [LOG_404, LOG_200]) == [LOG_404]
    assert matching("[ip, ..., status_code, Bytes > 5000 && STATUS_CODE = 5*]", LOGS) == [LOG_500]


def test_too_few_fields_never_match_even_with_an_ellipsis() -> None:
    assert matching("[a, ..., b, c]", ["one two"]) == []
    assert matching("[a, ..., b, c]", ["one two three"]) == ["one two three"]


def test_numeric_conditions_skip_fields_that_are_not_numbers() -> None:
    assert matching("[name, size > 10]", ["x 11", "x big", "x 1e2", "x -"]) == ["x 11", "x 1e2"]


def test_conditions_may_name_another_column() -> None:
    events = ["GET 500", "GET 200", "PUT 500"]
    assert matching("[method, status = 500 && method = GET]", events) == ["GET 500"]


def test_blank_columns_match_any_field() -> None:
    assert matching("[, , level = ERROR]", ["a b ERROR", "a b WARN", "a ERROR"]) == ["a b ERROR"]
