"""IAM wildcard patterns, read once into tokens that both policy evaluators share.

The exact comparison (z3) and the plain evaluator that checks its examples must agree on
what ``*``, ``?``, ``${aws:username}`` and ``${*}`` mean, or a "verified" example proves
nothing. Both compile their matchers from the :class:`Glob` this module produces, so the
reading of IAM's syntax lives in one place. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
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

    def __hash__(self) -> int:
        # Matchers are cached per glob; hashing every token on each lookup cost more than
        # the match itself on policies with thousands of actions, so the hash is kept.
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            cached = hash(self.tokens)
            object.__setattr__(self, "_hash", cached)
        return cached

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
    if not variables or "$" not in value:
        # No variable to read: one token per character, the common case kept cheap
        # (policies with thousands of actions parse thousands of patterns).
        special = wildcards and ("*" in value or "?" in value)
        if not special:
            return Glob(tuple(map(_char_token, value)))
        return Glob(
            tuple(
                STAR if char == "*" else ONE if char == "?" else _char_token(char) for char in value
            )
        )
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


@cache
def _char_token(char: str) -> Token:
    return Token("char", char)


def glob_matches(glob: Glob, text: str, *, ignore_case: bool = False) -> bool:
    """Whether ``text`` matches the whole of ``glob``, in time linear in ``text`` for each
    literal run: literal runs between stars are found leftmost, one after the other, which
    is exact for ``*``/``?`` patterns and never backtracks (a regular expression such as
    ``.*a.*a.*a.*b`` would, for as long as a policy author likes)."""
    return glob_matcher(glob, ignore_case)(text)


@lru_cache(maxsize=8192)
def glob_matcher(glob: Glob, ignore_case: bool = False) -> Callable[[str], bool]:
    """``glob_matches`` for one glob as a function of the text, compiled once: the common
    shapes (literal, ``prefix*``, ``*suffix``, ``*``) become one string method call."""
    segments = _matcher(glob, ignore_case)
    fold = _fold_text if ignore_case else _same
    plain = all(None not in segment for segment in segments)
    if plain and len(segments) == 1:
        literal = "".join(segments[0])  # type: ignore[arg-type]
        return lambda text: fold(text) == literal
    if plain and len(segments) == 2:
        head, tail = ("".join(part) for part in segments)  # type: ignore[arg-type]
        if not tail:
            return lambda text: fold(text).startswith(head)
        if not head:
            return lambda text: fold(text).endswith(tail)
        least = len(head) + len(tail)

        def around(text: str) -> bool:
            folded = fold(text)
            return len(folded) >= least and folded.startswith(head) and folded.endswith(tail)

        return around
    return lambda text: _segments_match(segments, fold(text))


def _same(text: str) -> str:
    return text


def fold_case(text: str) -> str:
    """Lowercase as IAM's case-insensitive matching does here, one character for one (so
    ``?`` still counts characters); the fast ``str.lower`` for ASCII text."""
    return text.lower() if text.isascii() else _fold(text)


_fold_text = fold_case


def _segments_match(segments: tuple[_Segment, ...], text: str) -> bool:
    if len(segments) == 1:
        return len(text) == len(segments[0]) and _matches_at(segments[0], text, 0)
    first, *middle, last = segments
    end = len(text) - len(last)
    if end < len(first) or not _matches_at(first, text, 0) or not _matches_at(last, text, end):
        return False
    position = len(first)
    for segment in middle:
        found = _find(segment, text, position, end)
        if found < 0:
            return False
        position = found + len(segment)
    return True


_Segment = tuple[str | None, ...]  # a character, or None for ``?``


@lru_cache(maxsize=8192)
def _matcher(glob: Glob, ignore_case: bool) -> tuple[_Segment, ...]:
    tokens = glob.tokens
    if ignore_case:
        tokens = tuple(Token("char", _fold(t.char)) if t.kind == "char" else t for t in tokens)
    return tuple(
        tuple(None if token.kind == "one" else token.char for token in segment)
        for segment in _segments(tokens)
    )


def _fold(text: str) -> str:
    """Lowercase character by character, keeping the length (``?`` counts characters)."""
    return "".join(low if len(low := char.lower()) == 1 else char for char in text)


def _segments(tokens: tuple[Token, ...]) -> list[tuple[Token, ...]]:
    """The runs of characters and ``?`` between stars (empty runs included)."""
    segments: list[tuple[Token, ...]] = []
    current: list[Token] = []
    for token in tokens:
        if token.kind == "star":
            segments.append(tuple(current))
            current = []
        else:
            current.append(token)
    segments.append(tuple(current))
    return segments


def _matches_at(segment: _Segment, text: str, start: int) -> bool:
    if start + len(segment) > len(text):
        return False
    return all(char is None or char == text[start + offset] for offset, char in enumerate(segment))


def _find(segment: _Segment, text: str, start: int, end: int) -> int:
    """The leftmost place in ``text[start:end]`` where ``segment`` matches, or -1."""
    if None not in segment:
        return text.find("".join(segment), start, end)  # type: ignore[arg-type]
    for position in range(start, end - len(segment) + 1):
        if _matches_at(segment, text, position):
            return position
    return -1


def arn_matches(segments: tuple[Glob, ...], text: str) -> bool:
    """ARN operators: each of the six colon-separated segments matches on its own."""
    parts = text.split(":", ARN_SEGMENTS - 1)
    if len(parts) < ARN_SEGMENTS:
        return False
    return all(glob_matches(glob, part) for glob, part in zip(segments, parts, strict=True))
