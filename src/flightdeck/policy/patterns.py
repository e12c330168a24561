"""IAM wildcard patterns, read once into tokens that both policy evaluators share.

The exact comparison (z3) and the plain evaluator that checks its examples must agree on
what ``*``, ``?``, ``${aws:username}`` and ``${*}`` mean, or a "verified" example proves
nothing. Both compile their matchers from the :class:`Glob` this module produces, so the
reading of IAM's syntax lives in one place. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

# Escapes IAM defines for literal characters in 2012-10-17 documents.
_ESCAPES = {"*": "*", "?": "?", "$": "$"}
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
ARN_SEGMENTS = 6  # arn:partition:service:region:account:resource

TokenKind = Literal["char", "star", "one"]


class PolicyVariableError(ValueError):
    """A value holds a policy variable (``${aws:username}``), resolved only at request time."""


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    char: str = ""  # the literal character, for kind "char"


STAR = Token("star")
ONE = Token("one")


@dataclass(frozen=True)
class Glob:
    """A pattern as a sequence of literal characters and ``*``/``?`` wildcards."""

    tokens: tuple[Token, ...]

    @property
    def literal(self) -> str | None:
        """The exact text when there are no wildcards, else None."""
        if any(token.kind != "char" for token in self.tokens):
            return None
        return "".join(token.char for token in self.tokens)

    @property
    def chars(self) -> frozenset[str]:
        return frozenset(token.char for token in self.tokens if token.kind == "char")

    def arn_segments(self) -> tuple[Glob, ...] | None:
        """Split at the first five literal colons (ARN operators match per segment).

        None when the pattern has fewer than six segments: its meaning under the ARN
        operators is not documented, so callers treat it as unknown.
        """
        segments: list[list[Token]] = [[]]
        for token in self.tokens:
            if token.kind == "char" and token.char == ":" and len(segments) < ARN_SEGMENTS:
                segments.append([])
            else:
                segments[-1].append(token)
        if len(segments) < ARN_SEGMENTS:
            return None
        return tuple(Glob(tuple(segment)) for segment in segments)


@lru_cache(maxsize=8192)
def parse_glob(value: str, *, wildcards: bool, variables: bool) -> Glob:
    """Read ``value``; ``wildcards`` makes ``*``/``?`` special, ``variables`` ``${...}``.

    Raises :class:`PolicyVariableError` for a policy variable other than the three escapes.
    """
    tokens: list[Token] = []
    position = 0
    while position < len(value):
        match = _VARIABLE.match(value, position) if variables else None
        if match is not None:
            name = match.group(1)
            if name not in _ESCAPES:
                raise PolicyVariableError(f"the policy variable ${{{name}}} in {value!r}")
            tokens.append(Token("char", _ESCAPES[name]))
            position = match.end()
            continue
        char = value[position]
        if wildcards and char == "*":
            tokens.append(STAR)
        elif wildcards and char == "?":
            tokens.append(ONE)
        else:
            tokens.append(Token("char", char))
        position += 1
    return Glob(tuple(tokens))


@lru_cache(maxsize=8192)
def glob_regex(glob: Glob, *, ignore_case: bool = False, exclude: str = "") -> str:
    """The Python regular expression of ``glob``; wildcards never match ``exclude`` chars."""
    any_char = f"[^{re.escape(exclude)}]" if exclude else "."
    parts = []
    for token in glob.tokens:
        if token.kind == "star":
            parts.append(f"{any_char}*")
        elif token.kind == "one":
            parts.append(any_char)
        else:
            parts.append(re.escape(token.char))
    prefix = "(?is)" if ignore_case else "(?s)"
    return prefix + "".join(parts)


@lru_cache(maxsize=4096)
def _compiled(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def glob_matches(glob: Glob, text: str, *, ignore_case: bool = False) -> bool:
    return _compiled(glob_regex(glob, ignore_case=ignore_case)).fullmatch(text) is not None


def arn_matches(segments: tuple[Glob, ...], text: str) -> bool:
    """ARN operators: each of the six colon-separated segments matches on its own."""
    parts = text.split(":", ARN_SEGMENTS - 1)
    if len(parts) < ARN_SEGMENTS:
        return False
    return all(glob_matches(glob, part) for glob, part in zip(segments, parts, strict=True))
