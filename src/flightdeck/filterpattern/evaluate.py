"""Pattern tree x event -> bool, with CloudWatch Logs' matching rules.

A pattern is compiled once into nested closures so that testing an event costs no tree
walking; JSON patterns also get a substring pre-check (see `_needles`) so that most events
that cannot match are rejected without parsing JSON.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from typing import Any

from orjson import loads as _fast_loads

from flightdeck.filterpattern.nodes import (
    And,
    AnyValue,
    Comparison,
    Condition,
    DelimitedPattern,
    JsonPattern,
    MatchAll,
    NumberValue,
    Or,
    Pattern,
    Postfix,
    RegexPattern,
    RegexValue,
    Selector,
    StringValue,
    TermGroup,
    TermsPattern,
    Value,
)
from flightdeck.filterpattern.parser import NUMBER, column_key

EventTest = Callable[[str], bool]
_Test = Callable[[Any], bool]

MISSING: Any = object()
"""What a selector yields when the property or index does not exist."""

_NUMERIC: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_NUMBER_CHARS = frozenset("0123456789.+-eE")
_HUGE = 9.2e18  # just under 2**63: larger integers are where orjson and json differ
# Characters JSON may (or must) write as a two-character escape inside a string.
_ESCAPABLE = frozenset('"\\/' + "".join(map(chr, range(0x20))))
_LONGEST_INT = 4000


def compile_tree(tree: Pattern) -> EventTest:
    """The event test for a parsed pattern."""
    if isinstance(tree, MatchAll):
        return lambda event: True
    if isinstance(tree, TermsPattern):
        return _terms_test(tree.groups)
    if isinstance(tree, RegexPattern):
        return tree.regex.search
    if isinstance(tree, JsonPattern):
        return _json_test(tree)
    return _delimited_test(tree)


# Unstructured text: terms are case-sensitive substrings of the event.


def _terms_test(groups: tuple[TermGroup, ...]) -> EventTest:
    tests = [_group_test(group) for group in groups]
    if len(tests) == 1:
        return tests[0]
    return lambda event: any(test(event) for test in tests)


def _group_test(group: TermGroup) -> EventTest:
    includes, excludes = group.includes, group.excludes
    if len(includes) == 1 and not excludes:
        (term,) = includes
        return lambda event: term in event

    def test(event: str) -> bool:
        for term in includes:
            if term not in event:
                return False
        for term in excludes:  # noqa: SIM110 - a plain loop is about twice as fast as all()
            if term in event:
                return False
        return True

    return test


# JSON.


def load_json_object(event: str) -> dict[str, Any] | None:
    """The event as a JSON object, or None: anything else never matches a JSON pattern.

    Parsed with orjson (several times faster than ``json``); whatever orjson refuses (lone
    surrogates, nesting past its limit, numbers out of range, invalid JSON) or may read
    differently (an integer beyond 64 bits becomes a float) is read by ``json.loads``, so
    the answer is exactly the standard library's.
    """
    if not event.lstrip().startswith("{"):
        return None
    try:
        document = _fast_loads(event)
    except (ValueError, RecursionError):
        return _object(_plain_loads(event))
    if _has_huge_float(document):
        return _object(_plain_loads(event))
    return _object(document)


def _has_huge_float(document: Any) -> bool:
    """Whether a float of 2**63 or more appears: orjson reads an integer beyond 64 bits as
    one (``json`` keeps it exact), so such a document is read again."""
    pending = [document]
    while pending:
        value = pending.pop()
        kind = type(value)
        if kind is dict:
            pending.extend(value.values())
        elif kind is list:
            pending.extend(value)
        elif kind is float and not -_HUGE < value < _HUGE:
            return True
    return False


def _object(document: Any) -> dict[str, Any] | None:
    return document if isinstance(document, dict) else None


def _plain_loads(event: str) -> Any:
    try:
        return json.loads(event, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class _Imprecise(Exception):
    """A condition read a float of 2**63 or more from orjson's document: it may stand for a
    longer integer that ``json`` keeps exact, so the event is read again."""


def _json_test(tree: JsonPattern) -> EventTest:
    condition = compile_condition(tree.condition, selector_getter)
    checked = compile_condition(tree.condition, _checked_selector_getter)
    needles = _needles(tree.condition)
    # A needle with no character that JSON escapes in two characters (" \\ / and controls)
    # is written as itself in any string whose escapes are neither \\uXXXX nor \\/: for
    # events without those two, the check holds despite other escapes.
    plain = not any(_ESCAPABLE.intersection(n) for group in needles for n in group)

    # Each group of alternatives first as the substring all of them share, if any: one
    # search rejects most events (every CIS "policy changes" name holds "Policy").
    groups = [(_common_part(alternatives), tuple(alternatives)) for alternatives in needles]

    def test(event: str) -> bool:
        if needles and ("\\" not in event or (plain and "\\u" not in event and "\\/" not in event)):
            for common, alternatives in groups:
                if common not in event:
                    return False
                for needle in alternatives:  # a loop: any() with a generator costs twice
                    if needle in event:
                        break
                else:
                    return False
        return _parsed_matches(event, checked, condition)

    return test


def _parsed_matches(event: str, checked: _Test, exact: _Test) -> bool:
    """``load_json_object`` then the condition, without walking every document for huge
    floats: only a value the condition reads is checked (``checked`` raises _Imprecise)."""
    if not event.lstrip().startswith("{"):
        return False
    try:
        document = _fast_loads(event)
    except (ValueError, RecursionError):
        plain = _plain_loads(event)
        return isinstance(plain, dict) and exact(plain)
    if not isinstance(document, dict):
        return False
    try:
        return checked(document)
    except _Imprecise:
        plain = _plain_loads(event)
        return isinstance(plain, dict) and exact(plain)


def _common_part(alternatives: frozenset[str]) -> str:
    """The longest substring of every alternative (empty when they share none), which an
    event must hold if it holds any of them."""
    shortest = min(alternatives, key=len)
    for size in range(len(shortest), 0, -1):
        for start in range(len(shortest) - size + 1):
            part = shortest[start : start + size]
            if all(part in other for other in alternatives):
                return part
    return ""


def selector_getter(target: Selector | str) -> Callable[[Any], Any]:
    assert isinstance(target, Selector)
    steps = target.steps

    def resolve(document: Any) -> Any:
        value = document
        for step in steps:
            if isinstance(step, str):
                if not isinstance(value, dict):
                    return MISSING
                value = value.get(step, MISSING)
                if value is MISSING:
                    return MISSING
            else:
                if not isinstance(value, list) or step >= len(value):
                    return MISSING
                value = value[step]
        return value

    return resolve


def _checked_selector_getter(target: Selector | str) -> Callable[[Any], Any]:
    resolve = selector_getter(target)

    def checked(document: Any) -> Any:
        value = resolve(document)
        if type(value) is float and not -_HUGE < value < _HUGE:
            raise _Imprecise
        return value

    return checked


def _needles(condition: Condition) -> list[frozenset[str]]:
    """Substrings the raw event must contain for `condition` to hold, as a conjunction of
    alternatives: [{a}, {b, c}] means "a, and b or c".

    Sound for events without a backslash: without JSON escapes, a string value appears in
    the event text exactly as it is compared; and for events whose only escapes are the
    two-character ones other than \\/, when the needles hold none of the characters those
    escapes write (see `_json_test`). Cores that could be part of a number's text
    are skipped, because numbers are compared by value, not by how the event wrote them.
    """
    if isinstance(condition, Comparison):
        value = condition.value
        if (
            condition.op == "="
            and isinstance(value, StringValue)
            and value.core
            and not set(value.core) <= _NUMBER_CHARS
        ):
            return [frozenset({value.core})]
        return []
    if isinstance(condition, And):
        return _needles(condition.left) + _needles(condition.right)
    if isinstance(condition, Or):
        left, right = _needles(condition.left), _needles(condition.right)
        if left and right:
            return [left[0] | right[0]]
        return []
    return []


# Space-delimited.


def split_fields(event: str, limit: int | None = None) -> list[str]:
    """Fields of a space-delimited event: text between [ ] or between double quotes is one
    field (without its brackets or quotes); runs of spaces and tabs separate fields.

    With ``limit``, field number ``limit`` takes the rest of the event as written (quotes and
    brackets kept, trailing blanks dropped) when more text follows it: a pattern without
    ``...`` gives its last column whatever remains, so ``[w1=ERROR, w2]`` matches any event
    whose first word is ERROR (the reading of AWS's guide, which asks for the blank ``w2``).
    """
    fields: list[str] = []
    i, end = 0, len(event)
    while i < end:
        char = event[i]
        if char in " \t":
            i += 1
            continue
        if limit is not None and len(fields) == limit - 1:
            rest = event[i:].rstrip(" \t")
            whole = split_fields(rest)
            if len(whole) > 1:
                fields.append(rest)
                break
        if char in '"[':
            close = event.find('"' if char == '"' else "]", i + 1)
            if close < 0:
                fields.append(event[i + 1 :])
                break
            fields.append(event[i + 1 : close])
            i = close + 1
            continue
        j = i
        while j < end and event[j] not in " \t":
            j += 1
        fields.append(event[i:j])
        i = j
    return fields


def _delimited_test(tree: DelimitedPattern) -> EventTest:
    columns = tree.columns
    count = len(columns)
    before = tree.ellipsis
    conditions = [
        compile_condition(column.condition, _name_getter)
        for column in columns
        if column.condition is not None
    ]
    names = [
        (index, column_key(column.name)) for index, column in enumerate(columns) if column.name
    ]
    limit = count if before is None and count else None

    def test(event: str) -> bool:
        fields = split_fields(event, limit)
        if before is None:
            if len(fields) != count:
                return False
            chosen = fields
        else:
            if len(fields) < count:
                return False
            chosen = fields[:before] + fields[len(fields) - (count - before) :]
        if not conditions:
            return True
        values = {name: chosen[index] for index, name in names}
        return all(condition(values) for condition in conditions)

    return test


def _name_getter(target: Selector | str) -> Callable[[Any], Any]:
    assert isinstance(target, str)
    return operator.itemgetter(column_key(target))


# Conditions and value comparison, shared by JSON and space-delimited patterns.


def compile_condition(
    condition: Condition, getter: Callable[[Selector | str], Callable[[Any], Any]]
) -> _Test:
    if isinstance(condition, And):
        left, right = (
            compile_condition(condition.left, getter),
            compile_condition(condition.right, getter),
        )
        return lambda document: left(document) and right(document)
    if isinstance(condition, Or):
        left, right = (
            compile_condition(condition.left, getter),
            compile_condition(condition.right, getter),
        )
        return lambda document: left(document) or right(document)
    get = getter(condition.target)
    if isinstance(condition, Postfix):
        expected: Any = {"IS NULL": None, "IS TRUE": True, "IS FALSE": False}.get(
            condition.check, MISSING
        )
        return lambda document: get(document) is expected
    test = value_test(condition.op, condition.value)
    return lambda document: test(get(document))


def value_test(op: str, value: Value) -> _Test:
    """Compare one selected value (a JSON value, MISSING, or a space-delimited field).

    Only strings, numbers and booleans are comparable: a missing property, null, an object or
    an array never satisfies a comparison, not even `!=` (AWS: the selector must point at a
    value node).
    """
    if isinstance(value, AnyValue):
        return _is_scalar if op == "=" else _never
    if isinstance(value, RegexValue):
        return _regex_test(op, value)
    if isinstance(value, NumberValue):
        return _number_test(op, value)
    return _string_test(op, value)


def _is_scalar(actual: Any) -> bool:
    return isinstance(actual, str | int | float)


def _never(actual: Any) -> bool:
    return False


def scalar_text(actual: Any) -> str | None:
    """The text a string, number or boolean is compared as; None for anything else."""
    if isinstance(actual, str):
        return actual
    if isinstance(actual, bool):
        return "true" if actual else "false"
    if isinstance(actual, int | float):
        return repr(actual)
    return None


def as_number(actual: Any) -> int | float | None:
    """A JSON number, or a string written as a number (space-delimited fields always are
    strings); None for anything else, booleans included."""
    if isinstance(actual, bool):
        return None
    if isinstance(actual, int | float):
        return actual
    if isinstance(actual, str) and NUMBER.fullmatch(actual):
        body = actual.lstrip("+")
        if any(c in body for c in ".eE") or len(body) > _LONGEST_INT:
            return float(body)  # Python refuses int() of more than 4300 digits
        return int(body)
    return None


def _regex_test(op: str, value: RegexValue) -> _Test:
    search = value.regex.search
    wanted = op == "="

    def test(actual: Any) -> bool:
        text = scalar_text(actual)
        return text is not None and search(text) == wanted

    return test


def _number_test(op: str, value: NumberValue) -> _Test:
    compare = _NUMERIC[op]
    number, literal = value.number, value.text

    def test(actual: Any) -> bool:
        actual_number = as_number(actual)
        if actual_number is not None:
            return compare(actual_number, number)
        text = scalar_text(actual)
        if text is None or op not in ("=", "!="):
            return False
        return (text == literal) == (op == "=")

    return test


def _string_test(op: str, value: StringValue) -> _Test:
    core, prefix, suffix = value.core, value.prefix_wildcard, value.suffix_wildcard
    wanted = op == "="
    core_number = None if prefix or suffix else as_number(core)

    if prefix and suffix:

        def text_matches(text: str) -> bool:
            return core in text
    elif prefix:

        def text_matches(text: str) -> bool:
            return text.endswith(core)
    elif suffix:

        def text_matches(text: str) -> bool:
            return text.startswith(core)
    else:

        def text_matches(text: str) -> bool:
            return text == core

    def test(actual: Any) -> bool:
        if isinstance(actual, str):
            return text_matches(actual) == wanted
        actual_number = as_number(actual)
        if core_number is not None and actual_number is not None:
            return (actual_number == core_number) == wanted
        text = scalar_text(actual)
        return text is not None and text_matches(text) == wanted

    return test
