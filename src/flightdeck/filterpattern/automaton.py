"""A regular-expression automaton that searches in time linear in the event's length.

Python's ``re`` backtracks, so a pattern such as ``%a*a*a*a*a*a*a*a*b%`` takes exponential
time on a line of ``a``'s; a filter pattern comes from whoever writes it and the events
from whatever is logged, so neither may be able to stall the tester. The regex is compiled
(:mod:`flightdeck.filterpattern.regex`) into a Thompson NFA, and :meth:`Automaton.search`
runs it as a DFA built lazily, one state per set of NFA positions: each event character
costs one dictionary look-up once the states it visits are known, and at most one pass
over the NFA when they are not. The cache of DFA states is bounded, so memory is too.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

AssertKind = Literal["start", "end", "end_of_text", "word_boundary", "not_word_boundary"]

MAX_CACHED_STEPS = 20_000
"""DFA transitions kept per automaton; past this the cache starts over (time stays linear)."""

_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_AT_START, _PREV_WORD, _LAST = 1, 2, 4


@dataclass(frozen=True)
class CharClass:
    """The characters one step consumes: ``ranges`` (inclusive code points), or any
    character outside one of ``outside`` (``\\D`` in ``[\\Da]``), all inverted by ``negated``."""

    ranges: tuple[tuple[int, int], ...] = ()
    outside: tuple[tuple[tuple[int, int], ...], ...] = ()
    negated: bool = False

    def matches(self, char: str) -> bool:
        code = ord(char)
        found = any(low <= code <= high for low, high in self.ranges) or any(
            not any(low <= code <= high for low, high in ranges) for ranges in self.outside
        )
        return found != self.negated


@dataclass(frozen=True)
class Step:
    """Consume one character in ``chars`` and go to ``next``."""

    chars: CharClass
    next: int


@dataclass(frozen=True)
class Split:
    """Go on at both ``first`` and ``second`` without consuming anything."""

    first: int
    second: int


@dataclass(frozen=True)
class Assert:
    """Go on at ``next`` when the position satisfies ``kind`` (``^``, ``$``, ``\\b``...)."""

    kind: AssertKind
    next: int


@dataclass(frozen=True)
class Accept:
    """A match ends here."""


Node = Step | Split | Assert | Accept


@dataclass
class Automaton:
    """A compiled regex: ``nodes`` with the NFA's entry at ``start``; see the module doc."""

    nodes: Sequence[Node]
    start: int
    _has_asserts: bool = field(init=False)
    _states: dict[frozenset[int], int] = field(init=False, default_factory=dict)
    _members: list[frozenset[int]] = field(init=False, default_factory=list)
    _steps: dict[tuple[int, int, str], int] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._has_asserts = any(isinstance(node, Assert) for node in self.nodes)

    def search(self, text: str) -> bool:
        """Whether the regex matches anywhere in ``text`` (``re.search`` semantics)."""
        state = self._state_id(frozenset())
        last = len(text) - 1
        previous_word = False
        for index, char in enumerate(text):
            flags = 0
            if self._has_asserts:
                flags = (
                    (_AT_START if index == 0 else 0)
                    | (_PREV_WORD if previous_word else 0)
                    | (_LAST if index == last else 0)
                )
                previous_word = char in _WORD
            key = (state, flags, char)
            following = self._steps.get(key)
            if following is None:
                if len(self._steps) >= MAX_CACHED_STEPS:
                    state = self._restart_cache(state)
                    key = (state, flags, char)
                following = self._advance(state, flags, char)
                self._steps[key] = following
            if following < 0:
                return True
            state = following
        end_flags = (_AT_START if not text else 0) | (_PREV_WORD if previous_word else 0)
        return self._closure(self._members[state], end_flags, None) is None

    def _state_id(self, members: frozenset[int]) -> int:
        known = self._states.get(members)
        if known is None:
            known = len(self._members)
            self._states[members] = known
            self._members.append(members)
        return known

    def _restart_cache(self, state: int) -> int:
        members = self._members[state]
        self._states.clear()
        self._members.clear()
        self._steps.clear()
        return self._state_id(members)

    def _advance(self, state: int, flags: int, char: str) -> int:
        """The DFA state after ``char``, or -1 when a match ends before it."""
        reached = self._closure(self._members[state], flags, char)
        if reached is None:
            return -1
        following: set[int] = set()
        for index in reached:
            node = self.nodes[index]
            if isinstance(node, Step) and node.chars.matches(char):
                following.add(node.next)
        return self._state_id(frozenset(following))

    def _closure(self, members: frozenset[int], flags: int, char: str | None) -> set[int] | None:
        """Every node reachable without consuming ``char`` (a new match may start here
        too); None as soon as one of them accepts."""
        seen: set[int] = set()
        pending = [self.start, *members]
        while pending:
            index = pending.pop()
            if index in seen:
                continue
            seen.add(index)
            node = self.nodes[index]
            if isinstance(node, Accept):
                return None
            if isinstance(node, Split):
                pending.append(node.second)
                pending.append(node.first)
            elif isinstance(node, Assert) and _holds(node.kind, flags, char):
                pending.append(node.next)
        return seen


def _holds(kind: AssertKind, flags: int, char: str | None) -> bool:
    """Python ``re`` (no MULTILINE) semantics of the zero-width assertions."""
    if kind == "start":
        return bool(flags & _AT_START)
    if kind == "end":
        return char is None or (char == "\n" and bool(flags & _LAST))
    if kind == "end_of_text":
        return char is None
    boundary = bool(flags & _PREV_WORD) != (char is not None and char in _WORD)
    if kind == "word_boundary":
        return boundary
    return not boundary and not (char is None and flags & _AT_START)  # re: never in ""
