"""YAML for project settings: safe types only, no aliases, bounded nesting.

``yaml.safe_load`` still expands aliases, so a few hundred bytes of nested ``&a [*b, *b]``
("billion laughs") build billions of nodes, and it recurses once per nesting level, so a
deep ``[[[[...`` ends in ``RecursionError``. Settings files never need either: anchors and
aliases are refused outright and nesting is capped, each with one line naming the place.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import Node

MAX_YAML_DEPTH = 32
"""How deeply mappings and lists may nest in a settings file (Astro's format needs 4)."""


class SettingsYamlError(ValueError):
    """Why the text is not acceptable settings YAML, with its 1-based line when known."""

    def __init__(self, reason: str, line: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


class _Loader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None) is not None:
            raise SettingsYamlError(
                "YAML anchors and aliases (&name, *name) are not accepted; write the values "
                "out in full",
                line,
            )
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise SettingsYamlError(
                    f"mappings and lists nest more than {MAX_YAML_DEPTH} levels deep", line
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_settings_yaml(text: str) -> Any:
    """Parse one YAML document of safe types; SettingsYamlError for anything refused."""
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        at = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise SettingsYamlError(
            f"character U+{code:04X} is not allowed in YAML; remove it", at
        ) from None
    try:
        return loader.get_single_data()
    except SettingsYamlError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or "invalid YAML"
        raise SettingsYamlError(
            f"{problem}; fix the YAML syntax (indentation, quotes, colons)", line
        ) from None
    except yaml.YAMLError:
        raise SettingsYamlError("invalid YAML", None) from None
    except (ValueError, OverflowError) as exc:  # e.g. a date such as 2024-02-30
        reason = str(exc).split(";")[0]
        raise SettingsYamlError(f"a value cannot be read: {reason}", None) from None
    finally:
        loader.dispose()
