"""`%regex%` terms, restricted to the subset CloudWatch Logs accepts, matched in linear time.

AWS accepts only ASCII letters and digits, a few symbols and the operators
``^ $ ? [ ] { } | \\ * + .``; it refuses parentheses (no groups) and multi-byte characters.
Refusing the same things here keeps a pattern that passes offline from failing in AWS.
The text is read with Python ``re``'s meaning for that subset (ASCII classes, ``.`` not
matching a newline, ``$`` also before a final newline) but compiled into our own
automaton (:mod:`flightdeck.filterpattern.automaton`), never run by ``re``'s backtracking,
so no pattern can take more than linear time on an event.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from flightdeck.filterpattern.automaton import (
    Accept,
    Assert,
    AssertKind,
    Automaton,
    CharClass,
    Node,
    Split,
    Step,
)
from flightdeck.filterpattern.errors import FilterPatternError

MAX_REGEXES_PER_PATTERN = 2
"""AWS allows at most two `%regex%` in one JSON or space-delimited pattern."""

MAX_REPEAT = 1000
"""The largest count a ``{m,n}`` repetition may use."""

MAX_REGEX_SIZE = 4096
"""Automaton nodes one regex may need once repetitions are spelled out (``x{2,5}`` is x
five times), so a short pattern cannot ask for an automaton too big to run."""

_ALLOWED = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    " _#=@/;,-:"  # symbols
    "^$?[]{}|\\*+."  # operators
)
_DIGITS = frozenset("0123456789")
_OCTAL = frozenset("01234567")
_HEX = frozenset("0123456789abcdefABCDEF")
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

_Ranges = tuple[tuple[int, int], ...]
_DIGIT: _Ranges = ((0x30, 0x39),)
_SPACE: _Ranges = ((0x09, 0x0D), (0x20, 0x20))
_WORD: _Ranges = ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
_CATEGORIES: dict[str, tuple[_Ranges, bool]] = {
    "d": (_DIGIT, False),
    "D": (_DIGIT, True),
    "s": (_SPACE, False),
    "S": (_SPACE, True),
    "w": (_WORD, False),
    "W": (_WORD, True),
}
_CONTROL = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
_ASSERT_ESCAPES: dict[str, AssertKind] = {
    "A": "start",
    "Z": "end_of_text",
    "b": "word_boundary",
    "B": "not_word_boundary",
}
_ANY_BUT_NEWLINE = CharClass(outside=(((0x0A, 0x0A),),))


@dataclass(frozen=True)
class Regex:
    """A compiled `%regex%`: ``search(text)`` says whether it matches anywhere in ``text``."""

    source: str
    automaton: Automaton = field(repr=False, compare=False, hash=False)

    def search(self, text: str) -> bool:
        return self.automaton.search(text)


@dataclass(frozen=True)
class _Anchor:
    kind: AssertKind


@dataclass(frozen=True)
class _Repeat:
    chars: CharClass
    low: int
    high: int | None  # None: no upper bound


_Item = CharClass | _Anchor | _Repeat


def compile_regex(source: str, position: int) -> Regex:
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
    alternatives = _Parser(source, position + 1).alternatives()
    return Regex(source, _build(alternatives))


class _Parser:
    """Reads the regex subset; ``column`` is the pattern column of ``source[0]``."""

    def __init__(self, source: str, column: int) -> None:
        self.source = source
        self.column = column
        self.index = 0
        self.size = 1  # the accepting node

    def error(self, reason: str, index: int | None = None) -> FilterPatternError:
        where = self.index if index is None else index
        return FilterPatternError(f"invalid regex: {reason}", self.column + where)

    def peek(self, offset: int = 0) -> str:
        at = self.index + offset
        return self.source[at] if at < len(self.source) else ""

    def alternatives(self) -> list[list[_Item]]:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.index += 1
            self.grow(1)
            branches.append(self.sequence())
        return branches

    def sequence(self) -> list[_Item]:
        items: list[_Item] = []
        while self.index < len(self.source) and self.peek() != "|":
            atom = self.atom()
            item: _Item = atom
            if self.quantifier_ahead():
                if isinstance(atom, _Anchor):
                    raise self.error("nothing to repeat", self.index)
                item = self.repeat(atom)
            self.grow(_size(item))
            items.append(item)
        return items

    def grow(self, nodes: int) -> None:
        self.size += nodes
        if self.size > MAX_REGEX_SIZE:
            raise FilterPatternError(
                f"this regex needs more than {MAX_REGEX_SIZE} matching steps once its "
                "repetitions are counted out (x{m,n} counts x n times): use smaller counts",
                self.column - 1,
            )

    def quantifier_ahead(self) -> bool:
        char = self.peek()
        return char in ("*", "+", "?") or (char == "{" and self._braces() is not None)

    def _braces(self) -> tuple[int | None, int | None, int] | None:
        """``{m}``, ``{m,}``, ``{,n}``, ``{m,n}`` at the cursor: (low, high, length), or None
        when the brace is a literal ``{`` (as in Python)."""
        at = self.index + 1
        source = self.source
        if at < len(source) and source[at] == "}":
            return None
        low_start = at
        while at < len(source) and source[at] in _DIGITS:
            at += 1
        low_text = source[low_start:at]
        high_text = low_text
        if at < len(source) and source[at] == ",":
            at += 1
            high_start = at
            while at < len(source) and source[at] in _DIGITS:
                at += 1
            high_text = source[high_start:at]
        if at >= len(source) or source[at] != "}":
            return None
        low = int(low_text) if low_text else None
        high = int(high_text) if high_text else None
        return low, high, at + 1 - self.index

    def repeat(self, chars: CharClass) -> _Repeat:
        char = self.peek()
        if char == "*":
            low, high, length = 0, None, 1
        elif char == "+":
            low, high, length = 1, None, 1
        elif char == "?":
            low, high, length = 0, 1, 1
        else:
            braces = self._braces()
            assert braces is not None
            low_or_none, high, length = braces
            low = low_or_none or 0
            for count in (low, high):
                if count is not None and count > MAX_REPEAT:
                    raise self.error(f"a repetition count may be at most {MAX_REPEAT}, not {count}")
            if high is not None and high < low:
                raise self.error("min repeat greater than max repeat")
        self.index += length
        if self.peek() == "?":  # lazy: the same answer for a yes/no search
            self.index += 1
        elif self.peek() == "+":
            raise self.error(
                "possessive quantifiers (*+, ++, ?+, {m,n}+) are not supported: drop the +"
            )
        if self.quantifier_ahead():
            raise self.error("multiple repeat")
        return _Repeat(chars, low, high)

    def atom(self) -> CharClass | _Anchor:
        start = self.index
        char = self.peek()
        self.index += 1
        if char == "^":
            return _Anchor("start")
        if char == "$":
            return _Anchor("end")
        if char == ".":
            return _ANY_BUT_NEWLINE
        if char == "[":
            return self.char_class(start)
        if char in ("*", "+", "?") or (char == "{" and self._braces_at(start)):
            raise self.error("nothing to repeat", start)
        if char == "\\":
            return self.escape(start)
        return _literal(ord(char))

    def _braces_at(self, start: int) -> bool:
        saved = self.index
        self.index = start
        try:
            return self._braces() is not None
        finally:
            self.index = saved

    def escape(self, start: int) -> CharClass | _Anchor:
        char = self.peek()
        if not char:
            raise self.error("bad escape (end of pattern)", start)
        self.index += 1
        if char in _ASSERT_ESCAPES:
            return _Anchor(_ASSERT_ESCAPES[char])
        if char in _CATEGORIES:
            ranges, negated = _CATEGORIES[char]
            return CharClass(outside=(ranges,)) if negated else CharClass(ranges=ranges)
        if char in _DIGITS:
            if char == "0" or (char in _OCTAL and self.peek() in _OCTAL and self.peek(1) in _OCTAL):
                return _literal(self.octal(char, start))
            raise self.error(
                f"\\{char} is a back-reference, and a CloudWatch Logs regex has no groups",
                start,
            )
        return _literal(self.escaped_code(char, start))

    def octal(self, first: str, start: int) -> int:
        digits = first
        while len(digits) < 3 and self.peek() in _OCTAL:
            digits += self.peek()
            self.index += 1
        value = int(digits, 8)
        if value > 0o377:
            raise self.error(f"octal escape value \\{digits} outside of range 0-0o377", start)
        return value

    def escaped_code(self, char: str, start: int) -> int:
        """The code point of ``\\char`` for the escapes that mean one character."""
        if char in _CONTROL:
            return _CONTROL[char]
        width = {"x": 2, "u": 4, "U": 8}.get(char)
        if width is not None:
            digits = self.source[self.index : self.index + width]
            if len(digits) < width or any(d not in _HEX for d in digits):
                raise self.error(f"incomplete escape \\{char}{digits}", start)
            self.index += width
            value = int(digits, 16)
            if value > 0x10FFFF:
                raise self.error(f"bad escape \\{char}{digits}", start)
            return value
        if char == "N":
            close = self.source.find("}", self.index)
            if self.peek() != "{" or close < 0:
                raise self.error("missing {...} after \\N", start)
            name = self.source[self.index + 1 : close]
            try:
                code = ord(unicodedata.lookup(name))
            except KeyError:
                raise self.error(f"undefined character name {name!r}", start) from None
            self.index = close + 1
            return code
        if char in _ASCII_LETTERS:
            raise self.error(f"bad escape \\{char}", start)
        return ord(char)

    def char_class(self, start: int) -> CharClass:
        negated = self.peek() == "^"
        if negated:
            self.index += 1
        first = self.index
        ranges: list[tuple[int, int]] = []
        outside: list[_Ranges] = []
        while True:
            char = self.peek()
            if not char:
                raise self.error("unterminated character set", start)
            if char == "]" and self.index != first:
                self.index += 1
                break
            item_start = self.index
            low = self.class_item(ranges, outside)
            if self.peek() == "-":
                self.index += 1
                if not self.peek():
                    raise self.error("unterminated character set", start)
                if self.peek() == "]":
                    if low is not None:
                        ranges.append((low, low))
                    ranges.append((ord("-"), ord("-")))
                    self.index += 1
                    break
                high = self.class_item([], [])
                if low is None or high is None or high < low:
                    raise self.error("bad character range", item_start)
                ranges.append((low, high))
            elif low is not None:
                ranges.append((low, low))
        return CharClass(tuple(ranges), tuple(outside), negated)

    def class_item(self, ranges: list[tuple[int, int]], outside: list[_Ranges]) -> int | None:
        """One member of ``[...]``: its code point, or None for ``\\d``-style categories
        (which are added to ``ranges``/``outside`` directly)."""
        start = self.index
        char = self.peek()
        self.index += 1
        if char != "\\":
            return ord(char)
        escaped = self.peek()
        if not escaped:
            raise self.error("unterminated character set", start)
        self.index += 1
        if escaped in _CATEGORIES:
            category, negated = _CATEGORIES[escaped]
            if negated:
                outside.append(category)
            else:
                ranges.extend(category)
            return None
        if escaped in _OCTAL:
            return self.octal(escaped, start)
        if escaped in _DIGITS:
            raise self.error(f"bad escape \\{escaped}", start)
        return self.escaped_code(escaped, start)


def _literal(code: int) -> CharClass:
    return CharClass(ranges=((code, code),))


def _size(item: _Item) -> int:
    if isinstance(item, _Repeat):
        if item.high is None:
            return item.low + 2
        return item.low + 2 * (item.high - item.low)
    return 1


def _build(alternatives: list[list[_Item]]) -> Automaton:
    """Thompson's construction, back to front: each item gets the index of what follows."""
    nodes: list[Node] = [Accept()]

    def add(node: Node) -> int:
        nodes.append(node)
        return len(nodes) - 1

    def item(entry: _Item, following: int) -> int:
        if isinstance(entry, CharClass):
            return add(Step(entry, following))
        if isinstance(entry, _Anchor):
            return add(Assert(entry.kind, following))
        current = following
        if entry.high is None:
            loop = add(Split(0, 0))  # patched below: the step must point back at it
            step = add(Step(entry.chars, loop))
            nodes[loop] = Split(step, following)
            current = loop
        else:
            for _ in range(entry.high - entry.low):
                current = add(Split(add(Step(entry.chars, current)), following))
        for _ in range(entry.low):
            current = add(Step(entry.chars, current))
        return current

    entries = []
    for branch in alternatives:
        current = 0
        for entry in reversed(branch):
            current = item(entry, current)
        entries.append(current)
    start = entries[0]
    for other in entries[1:]:
        start = add(Split(start, other))
    return Automaton(nodes, start)
