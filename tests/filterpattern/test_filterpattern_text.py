"""Unstructured-text patterns: terms, phrases, exclusions, OR groups and standalone regexes."""

from __future__ import annotations

import pytest

from flightdeck.filterpattern import compile_pattern

# The AWS guide's unstructured examples.
FATAL = "[ERROR] A fatal exception has occurred"
EXITING = "Exiting with ERRORCODE: -1"
CAUGHT = "[ERROR] Caught IllegalArgumentException"
UNHANDLED = "[ERROR] Unhandled Exception"
FAILED_WARN = "[WARN] Failed to process the request"
FAILED_ERROR = "[ERROR] Unable to continue: Failed to process the request"
BOTH = "ERROR WARN message"
ERROR_ONLY = "ERROR message"
WARN_ONLY = "WARN message"


def matching(pattern: str, events: list[str]) -> list[str]:
    compiled = compile_pattern(pattern)
    return [event for event in events if compiled.matches(event)]


@pytest.mark.parametrize("pattern", ["", "   ", '""', ' "" '])
def test_empty_pattern_and_empty_quotes_match_everything(pattern: str) -> None:
    compiled = compile_pattern(pattern)
    assert compiled.kind == "all"
    assert compiled.matches("anything at all")
    assert compiled.matches('{"json": true}')


def test_single_term_is_a_case_sensitive_substring() -> None:
    events = [FATAL, EXITING, "no problem here", "[error] lower case"]
    # AWS's own example: ERROR matches ERRORCODE, so a term is not a whole word.
    assert matching("ERROR", events) == [FATAL, EXITING]


def test_all_terms_must_appear() -> None:
    events = [CAUGHT, UNHANDLED, FATAL, "Exception without the level"]
    assert matching("ERROR Exception", events) == [CAUGHT, UNHANDLED]


def test_unquoted_words_are_separate_terms_not_a_phrase() -> None:
    events = [FAILED_WARN, FAILED_ERROR, "the request Failed to process"]
    assert matching("Failed to process the request", events) == events
    assert matching('"Failed to process the request"', events) == [FAILED_WARN, FAILED_ERROR]


def test_exclusion() -> None:
    assert matching('"ERROR" -"Exiting"', [FATAL, EXITING]) == [FATAL]
    assert matching("ERROR -WARN", [BOTH, ERROR_ONLY, WARN_ONLY]) == [ERROR_ONLY]
    assert matching("-ERROR", [BOTH, ERROR_ONLY, WARN_ONLY]) == [WARN_ONLY]


def test_question_mark_terms_are_alternatives() -> None:
    events = [BOTH, ERROR_ONLY, WARN_ONLY]
    assert matching("ERROR", events) == [BOTH, ERROR_ONLY]
    assert matching("?ERROR ?WARN", events) == events
    assert matching("ERROR WARN", events) == [BOTH]


def test_each_question_mark_starts_a_group_of_and_terms() -> None:
    # The form the AWS CDK's anyTermGroup() writes: ?"ERROR" "MainThread" ?"WARN" "Deadlock".
    pattern = '?"ERROR" "MainThread" ?"WARN" "Deadlock"'
    events = [
        "ERROR in MainThread",
        "WARN Deadlock detected",
        "ERROR in worker",
        "WARN MainThread slow",
        "Deadlock in MainThread",
    ]
    assert matching(pattern, events) == events[:2]


def test_terms_before_the_first_question_mark_form_their_own_group() -> None:
    events = ["ERROR x", "WARN y", "INFO z"]
    assert matching("ERROR ?WARN", events) == ["ERROR x", "WARN y"]


def test_exclusion_inside_an_or_group_only_applies_to_that_group() -> None:
    events = ["ERROR retrying", "ERROR fatal", "WARN retrying"]
    assert matching("?ERROR -retrying ?WARN", events) == ["ERROR fatal", "WARN retrying"]


def test_quoted_terms_keep_punctuation_spaces_and_escaped_quotes() -> None:
    events = ['status="500" path=/health', "status=500", "Status: [500]"]
    assert matching(r'"status=\"500\""', events) == [events[0]]
    assert matching('"Status: [500]"', events) == [events[2]]
    assert matching(r'"a\\b"', ["x a\\b y", "a b"]) == ["x a\\b y"]


def test_terms_are_case_sensitive() -> None:
    assert matching("Error", ["ERROR", "error", "Error"]) == ["Error"]


def test_digits_and_underscores_need_no_quotes() -> None:
    assert matching("HTTP_500 404", ["HTTP_500 then 404", "HTTP_500"]) == ["HTTP_500 then 404"]


def test_json_events_are_plain_text_for_term_patterns() -> None:
    assert matching('"\\"level\\": \\"error\\""', ['{"level": "error"}', '{"level": "info"}']) == [
        '{"level": "error"}'
    ]


def test_standalone_regex_searches_anywhere_in_the_event() -> None:
    events = ["[ERROR 401] UNAUTHORIZED REQUEST", "[SUCCESS 200] AUTHORIZED REQUEST", "denied"]
    assert matching("%AUTHORIZED%", events) == events[:2]
    assert matching(r"%\[ERROR 4[0-9]{2}\]%", events) == [events[0]]
    assert matching("%^denied$%", events) == ["denied"]
    assert compile_pattern("%x%").kind == "regex"
