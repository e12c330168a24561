"""Hostile filter patterns and events: compiled or refused with FilterPatternError, and
matched in bounded time.

Regexes run on flightdeck's own automaton, so its answers are checked against Python's
``re`` on inputs small enough for ``re`` to be quick; the inputs that make ``re``
backtrack for minutes must finish at once here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flightdeck.filterpattern import FilterPatternError, compile_pattern
from flightdeck.filterpattern.regex import MAX_REGEX_SIZE, compile_regex

FLIGHTDECK = str(Path(sys.executable).parent / "flightdeck")
FUZZ = settings(
    max_examples=200,
    deadline=timedelta(seconds=5),  # per input: compiling and matching never stall
    suppress_health_check=[HealthCheck.too_slow],
)
_PATTERN_CHARS = st.sampled_from(list('{}[]()$.=!<>&|"%*? ,_-abcAB019eE\\:@\t'))
_REGEX_CHARS = st.sampled_from(list("ab1 _-:.^$?[]{}|\\*+,wdsbBAZx0N"))
_EVENT_CHARS = st.sampled_from(list('ab1 _-:\n.[]{}*"\\'))


@FUZZ
@given(st.text(_PATTERN_CHARS, max_size=40), st.lists(st.text(max_size=60), max_size=5))
def test_any_pattern_compiles_or_is_refused_and_matches_a_bool(
    pattern: str, events: list[str]
) -> None:
    try:
        compiled = compile_pattern(pattern)
    except FilterPatternError as exc:
        assert 1 <= exc.position <= len(pattern) + 2
        assert "\n" not in exc.reason
        return
    for event in events:
        assert compiled.matches(event) in (True, False)


@FUZZ
@given(st.text(max_size=60), st.text(max_size=200))
def test_arbitrary_unicode_patterns_and_events(pattern: str, event: str) -> None:
    try:
        compiled = compile_pattern(pattern)
    except FilterPatternError:
        return
    assert compiled.matches(event) in (True, False)
    assert compiled.matches(json.dumps({"a": event, "b": [event]})) in (True, False)


@FUZZ
@given(st.text(_REGEX_CHARS, min_size=1, max_size=10), st.lists(st.text(_EVENT_CHARS, max_size=8)))
def test_regexes_agree_with_python_re(source: str, texts: list[str]) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # re's FutureWarning about nested sets
            expected = re.compile(source, re.ASCII)
    except re.error:
        expected = None
    try:
        ours = compile_regex(source, 1)
    except FilterPatternError as exc:
        assert expected is None or "possessive" in exc.reason, exc
        return
    assert expected is not None, f"{source!r} is accepted here but refused by re"
    for text in texts:
        assert ours.search(text) == (expected.search(text) is not None), (source, text)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("pattern", "event"),
    [
        ("%a*a*a*a*a*a*a*a*b%", "a" * 300),  # 40 s and more with re's backtracking
        ("%a*a*a*a*a*a*a*a*b%", "a" * 100_000),
        ("{ $.m = %a*a*a*a*a*a*a*a*b% }", json.dumps({"m": "a" * 20_000})),
        ("[x = %[ab]*a[ab]{20}c%]", "ab" * 20_000),  # many DFA states: the cache restarts
        ("{ $.n > 1 }", json.dumps({"n": "1" * 50_000 + "x"})),  # number check, linear
        ("{ $.n > 1 }", json.dumps({"n": "9" * 5_000})),  # beyond int()'s 4300 digits
    ],
    ids=["300", "100k", "json", "dfa-states", "digits", "long-int"],
)
def test_worst_case_inputs_finish(pattern: str, event: str) -> None:
    compiled = compile_pattern(pattern)
    assert compiled.matches(event) in (True, False)


def test_huge_repetitions_are_refused_with_the_limit() -> None:
    with pytest.raises(FilterPatternError) as caught:
        compile_pattern("%a{1001}%")
    assert "at most 1000" in caught.value.reason
    with pytest.raises(FilterPatternError) as caught:
        compile_pattern("%" + "a{1000}" * 5 + "%")
    assert str(MAX_REGEX_SIZE) in caught.value.reason
    with pytest.raises(FilterPatternError) as caught:
        compile_pattern("%a*+%")
    assert "possessive" in caught.value.reason


@pytest.mark.timeout(120)
def test_the_probe_pattern_through_the_command(tmp_path: Path) -> None:
    events = tmp_path / "events.txt"
    events.write_text("a" * 300 + "\n" + "a" * 299 + "b\n")
    result = subprocess.run(
        [FLIGHTDECK, "aws", "pattern", "test", "%a*a*a*a*a*a*a*a*b%", "--events", str(events)],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("2: ")
