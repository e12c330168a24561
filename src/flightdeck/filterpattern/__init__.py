"""CloudWatch Logs filter patterns, evaluated offline as AWS evaluates them. Pure: no I/O.

    >>> pattern = compile_pattern('{ $.eventName = "DeleteRole" }')
    >>> pattern.matches('{"eventName": "DeleteRole"}')
    True

`compile_pattern` raises `FilterPatternError` (a ValueError with a 1-based `position`) for a
pattern CloudWatch Logs would refuse. See docs/filter-patterns.md for the supported syntax and
where answers could differ from AWS.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from flightdeck.filterpattern.errors import FilterPatternError
from flightdeck.filterpattern.evaluate import EventTest, compile_tree
from flightdeck.filterpattern.nodes import (
    DelimitedPattern,
    JsonPattern,
    MatchAll,
    Pattern,
    RegexPattern,
)
from flightdeck.filterpattern.parser import MAX_PATTERN_LENGTH, parse

__all__ = [
    "MAX_PATTERN_LENGTH",
    "FilterPattern",
    "FilterPatternError",
    "PatternKind",
    "compile_pattern",
]

PatternKind = Literal["all", "terms", "regex", "json", "delimited"]


@dataclass(frozen=True)
class FilterPattern:
    """A compiled filter pattern; `matches` tests one log event message."""

    text: str
    tree: Pattern = field(repr=False)
    _test: EventTest = field(repr=False, compare=False)

    @property
    def kind(self) -> PatternKind:
        if isinstance(self.tree, MatchAll):
            return "all"
        if isinstance(self.tree, JsonPattern):
            return "json"
        if isinstance(self.tree, DelimitedPattern):
            return "delimited"
        if isinstance(self.tree, RegexPattern):
            return "regex"
        return "terms"

    def matches(self, event: str) -> bool:
        return self._test(event)

    def matching_lines(self, events: Iterable[str]) -> Iterator[int]:
        """1-based numbers of the matching events. An empty event is never reported: CloudWatch
        Logs cannot hold one (PutLogEvents and TestMetricFilter need at least one character)."""
        test = self._test
        for number, event in enumerate(events, start=1):
            if event and test(event):
                yield number


def compile_pattern(text: str) -> FilterPattern:
    """Parse and compile `text`; raise FilterPatternError if CloudWatch Logs would refuse it."""
    tree = parse(text)
    return FilterPattern(text, tree, compile_tree(tree))
