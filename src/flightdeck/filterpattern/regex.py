"""`%regex%` terms, restricted to the subset CloudWatch Logs accepts.

AWS accepts only ASCII letters and digits, a few symbols and the operators
``^ $ ? [ ] { } | \\ * + .``; it refuses parentheses (no groups) and multi-byte characters.
Refusing the same things here keeps a pattern that passes offline from failing in AWS.
"""

from __future__ import annotations

import re

from flightdeck.filterpattern.errors import FilterPatternError

MAX_REGEXES_PER_PATTERN = 2
"""AWS allows at most two `%regex%` in one JSON or space-delimited pattern."""

_ALLOWED = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    " _#=@/;,-:"  # symbols
    "^$?[]{}|\\*+."  # operators
)


def compile_regex(source: str, position: int) -> re.Pattern[str]:
    """Compile the text between the two `%` (at 1-based `position`, the opening `%`)."""
    if not source:
        raise FilterPatternError(
            "empty regex: put a regular expression between the % signs", position
        )
    for offset, char in enumerate(source, start=position + 1):
        if char in "()":
            raise FilterPatternError(
                "CloudWatch Logs regexes cannot use parentheses (no groups): use a character "
                "class or | between whole alternatives instead",
                offset,
            )
        if not char.isascii():
            raise FilterPatternError(
                f"CloudWatch Logs regexes accept only ASCII characters, not {char!r}", offset
            )
        if char not in _ALLOWED:
            raise FilterPatternError(
                f"CloudWatch Logs regexes cannot contain {char!r}: use letters, digits, "
                "_#=@/;,-: and the operators ^$?[]{}|\\*+.",
                offset,
            )
    try:
        return re.compile(source, re.ASCII)
    except re.error as exc:
        column = position + 1 + (exc.pos or 0)
        raise FilterPatternError(f"invalid regex: {exc.msg}", column) from None
