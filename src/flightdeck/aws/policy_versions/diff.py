"""Say in words and as a diff how one policy document differs from another.

Owners are told what a new version changes before it takes effect. The exact answer to
"does it grant anything new" comes from ``flightdeck.policy.compare``; this module gives the
readable part: per action, which grants appear or disappear (an action on resources under a
condition), ignoring statement ids and ordering, plus the unified diff of the documents.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["GrantChanges", "grant_changes", "unified_diff"]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value]
    return []


def _grants(document: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    """(effect, action, resources, condition) for every action a statement names."""
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    grants: set[tuple[str, str, str, str]] = set()
    for statement in statements:
        if not isinstance(statement, dict):
            continue
        effect = str(statement.get("Effect", ""))
        negated = "NotAction" in statement
        actions = _strings(statement.get("NotAction" if negated else "Action"))
        resource_key = "NotResource" if "NotResource" in statement else "Resource"
        resources = ", ".join(sorted(_strings(statement.get(resource_key))))
        if resource_key == "NotResource":
            resources = f"everything but {resources}"
        condition = statement.get("Condition")
        condition_text = json.dumps(condition, sort_keys=True) if condition else ""
        for action in actions:
            name = f"everything but {action}" if negated else action
            grants.add((effect, name, resources, condition_text))
    return grants


@dataclass(frozen=True)
class GrantChanges:
    newly_allowed: tuple[str, ...]
    no_longer_allowed: tuple[str, ...]
    newly_denied: tuple[str, ...]
    no_longer_denied: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (
            self.newly_allowed
            or self.no_longer_allowed
            or self.newly_denied
            or self.no_longer_denied
        )

    def lines(self) -> list[str]:
        """One line per change, for an email or a terminal."""
        sections = (
            ("Newly allowed", self.newly_allowed),
            ("No longer denied", self.no_longer_denied),
            ("No longer allowed", self.no_longer_allowed),
            ("Newly denied", self.newly_denied),
        )
        return [f"{title}: {item}" for title, items in sections for item in items]

    def summary(self) -> str:
        lines = self.lines()
        return "\n".join(lines) if lines else "Only statement names or ordering changed."


def _describe(grants: Iterable[tuple[str, str, str, str]]) -> tuple[str, ...]:
    described = []
    for _, action, resources, condition in sorted(grants, key=lambda g: (g[1], g[2], g[3])):
        text = f"{action} on {resources}"
        if condition:
            text += f" when {condition}"
        described.append(text)
    return tuple(described)


def grant_changes(old: dict[str, Any], new: dict[str, Any]) -> GrantChanges:
    before, after = _grants(old), _grants(new)
    added, removed = after - before, before - after
    return GrantChanges(
        newly_allowed=_describe(g for g in added if g[0] == "Allow"),
        no_longer_allowed=_describe(g for g in removed if g[0] == "Allow"),
        newly_denied=_describe(g for g in added if g[0] == "Deny"),
        no_longer_denied=_describe(g for g in removed if g[0] == "Deny"),
    )


def unified_diff(
    old: dict[str, Any], new: dict[str, Any], old_name: str, new_name: str, context: int = 3
) -> str:
    """The documents as indented JSON, diffed line by line."""
    before = json.dumps(old, indent=2).splitlines(keepends=True)
    after = json.dumps(new, indent=2).splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(before, after, fromfile=old_name, tofile=new_name, n=context)
    )
