"""The parsed form of a filter pattern: what the parser builds and the evaluator compiles.

Four pattern kinds share one set of value nodes, because JSON conditions
(``$.status = 4*``) and space-delimited column conditions (``status = 4*``) compare values
the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from flightdeck.filterpattern.regex import Regex

ComparisonOp = Literal["=", "!=", "<", "<=", ">", ">="]
PostfixCheck = Literal["IS NULL", "IS TRUE", "IS FALSE", "NOT EXISTS"]


# Values on the right-hand side of a comparison.


@dataclass(frozen=True)
class StringValue:
    """A string, compared exactly and case-sensitively; a `*` at either end is a wildcard."""

    core: str
    prefix_wildcard: bool = False
    suffix_wildcard: bool = False


@dataclass(frozen=True)
class NumberValue:
    """A number literal (`400`, `-1.5`, `1e3`); `text` is how it was written."""

    number: int | float
    text: str


@dataclass(frozen=True)
class AnyValue:
    """A lone `*`: any string, number or boolean value."""


@dataclass(frozen=True)
class RegexValue:
    """A `%regex%` value, searched (not anchored) in the string form of the value."""

    regex: Regex
    source: str


Value = StringValue | NumberValue | AnyValue | RegexValue


# Conditions (JSON patterns and space-delimited columns).


@dataclass(frozen=True)
class Selector:
    """`$.a.b[0]`: object keys (str) and array indexes (int) from the root object."""

    steps: tuple[str | int, ...]
    text: str


@dataclass(frozen=True)
class Comparison:
    """`<target> <op> <value>`; the target is a JSON selector or a column name."""

    target: Selector | str
    op: ComparisonOp
    value: Value


@dataclass(frozen=True)
class Postfix:
    """`$.a IS NULL`, `IS TRUE`, `IS FALSE` or `NOT EXISTS`."""

    target: Selector
    check: PostfixCheck


@dataclass(frozen=True)
class And:
    left: Condition
    right: Condition


@dataclass(frozen=True)
class Or:
    left: Condition
    right: Condition


Condition = Comparison | Postfix | And | Or


# Whole patterns.


@dataclass(frozen=True)
class MatchAll:
    """The empty pattern (or `""`): every event matches."""


@dataclass(frozen=True)
class TermGroup:
    """Terms that must all appear (`includes`) and must not appear (`excludes`)."""

    includes: tuple[str, ...]
    excludes: tuple[str, ...]


@dataclass(frozen=True)
class TermsPattern:
    """Unstructured-text pattern: an event matches when any one group matches. Without `?`
    there is a single group; each `?term` starts a new one."""

    groups: tuple[TermGroup, ...]


@dataclass(frozen=True)
class RegexPattern:
    """A standalone `%regex%` pattern, searched anywhere in the event."""

    regex: Regex


@dataclass(frozen=True)
class JsonPattern:
    """`{ condition }`: only JSON-object events can match."""

    condition: Condition


@dataclass(frozen=True)
class Column:
    """One space-delimited column: its name (None when left blank) and its condition."""

    name: str | None
    condition: Condition | None


@dataclass(frozen=True)
class DelimitedPattern:
    """`[a, b, ..., c=4*]`: `columns` leaves out the `...`; `ellipsis` is how many columns
    come before it (None when there is none)."""

    columns: tuple[Column, ...]
    ellipsis: int | None


Pattern = MatchAll | TermsPattern | RegexPattern | JsonPattern | DelimitedPattern
