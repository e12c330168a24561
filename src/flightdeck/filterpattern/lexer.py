"""Tokens of the condition language shared by JSON (`{ ... }`) and space-delimited (`[ ... ]`)
patterns. Unstructured-text patterns have their own, much simpler, term syntax (parser.py).

Every token keeps its 1-based column so errors can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from flightdeck.filterpattern.errors import FilterPatternError

TokenKind = Literal[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    "&&",
    "||",
    "OP",
    "SELECTOR",
    "STRING",
    "WORD",
    "REGEX",
    "EOF",
]

_PUNCTUATION = "{}()[],"
# Characters that end an unquoted word.
_WORD_END = frozenset(" \t\r\n" + _PUNCTUATION + '&|=!<>"')
# Characters AWS says an unquoted value may not contain (besides non-ASCII ones).
_MUST_QUOTE = frozenset("@$\\")
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str
    """As written; for STRING the decoded content, for REGEX the text between the % signs."""
    position: int
    """1-based column of the token's first character in the whole pattern."""
    steps: tuple[str | int, ...] = ()
    """For SELECTOR: the object keys and array indexes after `$`."""


def tokenize(pattern: str, start: int, end: int) -> list[Token]:
    """Tokens of `pattern[start:end]` (0-based slice), ending with an EOF token."""
    tokens: list[Token] = []
    i = start
    while i < end:
        char = pattern[i]
        column = i + 1
        if char in " \t\r\n":
            i += 1
        elif char in _PUNCTUATION:
            tokens.append(Token(char, char, column))  # type: ignore[arg-type]
            i += 1
        elif char in "&|":
            if i + 1 < end and pattern[i + 1] == char:
                tokens.append(Token("&&" if char == "&" else "||", char * 2, column))
                i += 2
            else:
                word = "&& (AND)" if char == "&" else "|| (OR)"
                raise FilterPatternError(
                    f"a single {char!r} is not an operator: write {word}", column
                )
        elif char in "=!<>":
            i = _operator(pattern, i, end, tokens)
        elif char == '"':
            i = _quoted(pattern, i, end, tokens)
        elif char == "%":
            close = pattern.find("%", i + 1, end)
            if close < 0:
                raise FilterPatternError("this regex has no closing %: write %regex%", column)
            tokens.append(Token("REGEX", pattern[i + 1 : close], column))
            i = close + 1
        elif char == "$":
            i = _selector(pattern, i, end, tokens)
        else:
            i = _word(pattern, i, end, tokens)
    tokens.append(Token("EOF", "", end + 1))
    return tokens


def _operator(pattern: str, i: int, end: int, tokens: list[Token]) -> int:
    char = pattern[i]
    following = pattern[i + 1] if i + 1 < end else ""
    if char == "=":
        if following == "=":
            raise FilterPatternError("== is not an operator: write = to compare", i + 1)
        tokens.append(Token("OP", "=", i + 1))
        return i + 1
    if char == "!":
        if following != "=":
            raise FilterPatternError(
                "! is not an operator on its own: write != for 'not equal'", i + 1
            )
        tokens.append(Token("OP", "!=", i + 1))
        return i + 2
    if following == "=":
        tokens.append(Token("OP", char + "=", i + 1))
        return i + 2
    tokens.append(Token("OP", char, i + 1))
    return i + 1


def scan_quoted(pattern: str, i: int, end: int, what: str = "string") -> tuple[str, int]:
    """The double-quoted text starting at ``pattern[i]`` and the index after its closing
    quote; \\" and \\\\ are the only escapes."""
    chars: list[str] = []
    j = i + 1
    while j < end:
        char = pattern[j]
        if char == "\\" and j + 1 < end and pattern[j + 1] in '"\\':
            chars.append(pattern[j + 1])
            j += 2
            continue
        if char == '"':
            return "".join(chars), j + 1
        chars.append(char)
        j += 1
    raise FilterPatternError(f'this quoted {what} has no closing ": add one', i + 1)


def _quoted(pattern: str, i: int, end: int, tokens: list[Token]) -> int:
    text, after = scan_quoted(pattern, i, end)
    tokens.append(Token("STRING", text, i + 1))
    return after


def _selector(pattern: str, i: int, end: int, tokens: list[Token]) -> int:
    """`$.key.key[0]...`: keys are letters, digits, - and _; indexes are non-negative integers."""
    steps: list[str | int] = []
    j = i + 1
    while j < end:
        char = pattern[j]
        if char == ".":
            k = j + 1
            while k < end and pattern[k] in _KEY_CHARS:
                k += 1
            if k == j + 1:
                raise FilterPatternError(
                    "expected a property name after '.': selector keys may contain only "
                    "letters, digits, - and _",
                    j + 2,
                )
            steps.append(pattern[j + 1 : k])
            j = k
        elif char == "[":
            if not steps:
                break  # reported below: an index must follow a property
            close = pattern.find("]", j + 1, end)
            digits = pattern[j + 1 : close] if close > 0 else ""
            if not digits.isascii() or not digits.isdigit():
                raise FilterPatternError(
                    "expected an array index such as [0]: a non-negative whole number in "
                    "square brackets",
                    j + 1,
                )
            steps.append(int(digits))
            j = close + 1
        else:
            break
    if not steps:
        raise FilterPatternError(
            "a selector starts with $. and a property name, for example $.eventName", i + 1
        )
    if j < end and pattern[j] not in _WORD_END:
        raise FilterPatternError(
            f"unexpected {pattern[j]!r} in selector: keys may contain only letters, digits, "
            "- and _, and indexes are written [0]",
            j + 1,
        )
    tokens.append(Token("SELECTOR", pattern[i:j], i + 1, tuple(steps)))
    return j


def _word(pattern: str, i: int, end: int, tokens: list[Token]) -> int:
    j = i
    while j < end and pattern[j] not in _WORD_END:
        char = pattern[j]
        if char in _MUST_QUOTE or not char.isascii():
            raise FilterPatternError(
                f"{char!r} is only allowed inside a quoted value: put the value in double "
                'quotes, for example "user@example.com"',
                j + 1,
            )
        j += 1
    tokens.append(Token("WORD", pattern[i:j], i + 1))
    return j
