"""Known and unknown IAM actions grouped by the statements that cover them; no solver.

Two policies read an action only through which of their statements' Action/NotAction cover
it, so actions with the same memberships are interchangeable: the comparison reasons over
one action per group. A ReadOnlyAccess-size policy (2,600+ patterns over 22,000 actions)
gives a handful of groups. When every statement is action-only (Resource ``*``, no
conditions) the groups are the whole question and the plain evaluator answers it, one
representative per group, without z3 (:mod:`flightdeck.policy.compare`). Pure: no I/O.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from flightdeck.policy.actions import ActionUniverse
from flightdeck.policy.document import PolicyDocument, Statement
from flightdeck.policy.patterns import glob_matcher, parse_glob

Side = Literal["old", "new"]
# The shape of an action outside the list (both lowercased), as the "unknown" stage's
# domain states it for z3.
_SERVICE = re.compile(r"[a-z0-9-]+")
_ACTION_NAME = re.compile(r"[a-z0-9]+")
_WITNESS_TAILS: tuple[str, ...] = (
    "",
    *"abcdefghijklmnopqrstuvwxyz0123456789",
    "zzfuture",
    "qq7future",
    "x0future9",
)


def _first_wildcard(text: str) -> int:
    """Index of the first ``*`` or ``?`` in ``text``, or its length when there is none."""
    found = [index for index in (text.find("*"), text.find("?")) if index >= 0]
    return min(found) if found else len(text)


@dataclass
class ActionClasses:
    """Actions grouped by the statements that cover them."""

    representatives: list[str]  # canonical spelling, one per class
    members: list[int]  # how many actions each class holds (1 per witness for unknowns)
    statement_classes: dict[tuple[Side, int], frozenset[int]]


class ActionGroups:
    """The action groups of one (OLD, NEW) pair, each computed once, on first use."""

    def __init__(self, old: PolicyDocument, new: PolicyDocument, universe: ActionUniverse) -> None:
        self.documents: dict[Side, PolicyDocument] = {"old": old, "new": new}
        literals = [
            action
            for document in (old, new)
            for statement in document.statements
            for action in statement.actions
            if "*" not in action and "?" not in action
        ]
        self.universe = universe.with_actions(literals)
        self.literal_actions = sorted({action.lower() for action in literals})
        self._matching: dict[str, list[str]] = {}
        self._classes: ActionClasses | None = None
        self._unknown: ActionClasses | Literal[False] | None = False  # False: not listed yet

    @property
    def classes(self) -> ActionClasses:
        if self._classes is None:
            self._classes = self._action_classes()
        return self._classes

    def _statements(self) -> Iterable[tuple[Side, PolicyDocument, Statement]]:
        for side, document in self.documents.items():
            for statement in document.statements:
                yield side, document, statement

    def _pattern_owners(self) -> dict[str, set[tuple[Side, int]]]:
        """Each lowercased action pattern, and the statements that name it."""
        owners: dict[str, set[tuple[Side, int]]] = {}
        for side, _, statement in self._statements():
            for action in statement.actions:
                owners.setdefault(action.lower(), set()).add((side, statement.index))
        return owners

    def _action_classes(self) -> ActionClasses:
        """Known actions grouped by the statements whose Action/NotAction covers them: the
        formula reads an action only through those memberships, so one action per group
        loses nothing. A 2,600-pattern policy gives a handful of groups, not thousands."""
        hits: dict[str, set[tuple[Side, int]]] = {}
        for pattern, owners in self._pattern_owners().items():
            for action in self._actions_matching(pattern):
                hits.setdefault(action, set()).update(owners)
        groups: dict[frozenset[tuple[Side, int]], list[str]] = {}
        for action, owners in hits.items():
            groups.setdefault(frozenset(owners), []).append(action)
        unmatched = len(self.universe) - len(hits)
        if unmatched:
            first = next(action for action in self.universe.by_lower if action not in hits)
            groups.setdefault(frozenset(), []).append(first)
        keys = list(groups)
        representatives = [self.universe.by_lower[min(groups[key])] for key in keys]
        members = [len(groups[key]) for key in keys]
        if unmatched:
            members[keys.index(frozenset())] += unmatched - 1
        return ActionClasses(representatives, members, self._memberships(keys))

    def _memberships(
        self, keys: list[frozenset[tuple[Side, int]]]
    ) -> dict[tuple[Side, int], frozenset[int]]:
        """Per statement, the classes it covers (a NotAction statement: those it misses)."""
        return {
            (side, statement.index): frozenset(
                index
                for index, key in enumerate(keys)
                if ((side, statement.index) in key) != statement.not_action
            )
            for side, _, statement in self._statements()
        }

    def unknown_classes(self) -> ActionClasses | None:
        """Actions outside the list, grouped the same way, when every wildcard has a shape
        whose groups can be listed exactly: ``*``, ``service:*`` or ``service:prefix*``.

        An unknown action ``s:x`` is matched by the ``s:`` prefixes that ``x`` starts with,
        a chain ending at the longest one (or none), so one witness per prefix (and one that
        starts with none) covers every group; each witness is checked to start with no
        longer prefix and to be outside the list. None (the caller asks z3 about the strings
        instead) for any other wildcard, or when a witness cannot be found.
        """
        if self._unknown is not False:
            return self._unknown
        self._unknown = self._list_unknown_classes()
        return self._unknown

    def _list_unknown_classes(self) -> ActionClasses | None:
        everywhere: set[tuple[Side, int]] = set()
        prefixes: dict[str, dict[str, set[tuple[Side, int]]]] = {}
        for pattern, owners in self._pattern_owners().items():
            if "*" not in pattern and "?" not in pattern:
                continue  # unknown actions differ from every action a policy names
            if set(pattern) == {"*"}:
                everywhere.update(owners)
                continue
            service, colon, rest = pattern.partition(":")
            if not colon or "*" in service or "?" in service or "?" in rest:
                return None
            if rest.find("*") != len(rest) - 1:
                return None
            if _SERVICE.fullmatch(service):  # other services hold no action of the domain
                prefixes.setdefault(service, {}).setdefault(rest[:-1], set()).update(owners)
        witnesses: list[tuple[str, frozenset[tuple[Side, int]]]] = []
        for service, owned in sorted(prefixes.items()):
            chains: list[str | None] = [*sorted(owned), None]
            for prefix in chains:
                if prefix is None and "" in owned:
                    continue  # ``service:*`` matches every action of the service
                name = self._witness(service, prefix, owned)
                if name is None:
                    return None
                hit = set(everywhere)
                for other, owners in owned.items():
                    if name.startswith(other):
                        hit.update(owners)
                witnesses.append((f"{service}:{name}", frozenset(hit)))
        outsider = next(
            f"futureservice{n}:futureaction"
            for n in range(len(prefixes) + 2)
            if f"futureservice{n}" not in prefixes
            and f"futureservice{n}:futureaction" not in self.universe.by_lower
        )
        witnesses.append((outsider, frozenset(everywhere)))
        groups: dict[frozenset[tuple[Side, int]], str] = {}
        for action, key in witnesses:
            groups.setdefault(key, action)
        keys = list(groups)
        return ActionClasses(
            [groups[key] for key in keys], [1] * len(keys), self._memberships(keys)
        )

    def _witness(
        self, service: str, prefix: str | None, owned: dict[str, set[tuple[Side, int]]]
    ) -> str | None:
        """An action name outside the list that starts with ``prefix`` (None: with no
        prefix of ``owned``) and with no longer prefix of ``owned``."""
        start = prefix or ""
        longer = [other for other in owned if len(other) > len(start) and other.startswith(start)]
        if prefix is None:
            longer = list(owned)
        for tail in _WITNESS_TAILS:
            name = start + tail
            if (
                _ACTION_NAME.fullmatch(name)
                and not any(name.startswith(other) for other in longer)
                and f"{service}:{name}" not in self.universe.by_lower
            ):
                return name
        return None

    def known_actions_matching(self, pattern: str) -> list[str]:
        """The known actions (canonical spelling) an action pattern matches, sorted."""
        return sorted(self.universe.by_lower[a] for a in self._actions_matching(pattern.lower()))

    def _actions_matching(self, pattern: str) -> list[str]:
        known = self._matching.get(pattern)
        if known is None:
            known = self._matching[pattern] = self._scan_actions(pattern)
        return known

    def _scan_actions(self, pattern: str) -> list[str]:
        if "*" not in pattern and "?" not in pattern:
            return [pattern] if pattern in self.universe.by_lower else []
        service, _, rest = pattern.partition(":")
        if "*" in service or "?" in service or ":" not in pattern:
            candidates: Iterable[str] = self.universe.by_lower
        else:
            # The service's names are sorted: the literal start of the pattern is a range.
            names = self.universe.by_service.get(service, ())
            first = _first_wildcard(rest)
            head = f"{service}:{rest[:first]}"
            low = bisect.bisect_left(names, head)
            high = low
            while high < len(names) and names[high].startswith(head):
                high += 1
            if first == len(rest) - 1 and rest.endswith("*"):
                return list(names[low:high])  # ``prefix*``: the range is the answer
            candidates = names[low:high]
        matches = glob_matcher(parse_glob(pattern, wildcards=True, variables=False), True)
        return [action for action in candidates if matches(action)]


def unknown_stage_needed(new: PolicyDocument) -> bool:
    """Whether NEW can allow an action outside the list: only via wildcards or NotAction."""
    return any(
        statement.effect == "Allow"
        and (statement.not_action or any("*" in a or "?" in a for a in statement.actions))
        for statement in new.statements
    )


def action_only(document: PolicyDocument) -> bool:
    """Whether no statement has a condition or a Resource other than ``*``: then whether a
    request is allowed depends on its action alone."""
    return all(
        not statement.conditions
        and not statement.not_resource
        and all(pattern and set(pattern) == {"*"} for pattern in statement.resources)
        for statement in document.statements
    )
