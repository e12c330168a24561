"""Published versions of the managed policy ``FlightdeckCrossAccountRole``.

Every version that ever reached a customer lives here as ``<version>.json`` (the whole
policy document) with an entry in ``CHANGELOG.md`` saying what changed and why, because the
control plane compares the version in force on a role with the latest one, and tells
Owners what and why, from these files. A version is never edited after publication:
changing permissions means publishing a new one (a test holds
:func:`flightdeck.aws.permissions.managed_policy_document` equal to :func:`latest`).

Version names are ``YYYY-MM-DD.N``; they sort by date, then ``N``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from flightdeck.aws.iam_documents import canonical

__all__ = [
    "CATALOG_DIR",
    "NOTICE_PERIOD",
    "CatalogError",
    "PolicyCatalog",
    "PolicyVersion",
    "get",
    "history",
    "latest",
    "load",
]

CATALOG_DIR = Path(__file__).resolve().parent
# A version that grants anything new takes effect no sooner than this after its notice
# reached every Organization Owner (docs/governance.md).
NOTICE_PERIOD = timedelta(days=14)
CHANGELOG = "CHANGELOG.md"
_VERSION = re.compile(r"^(\d{4})-(\d{2})-(\d{2})\.(\d+)$")
_HEADING = re.compile(r"^##\s+(\S+)\s*$")


class CatalogError(Exception):
    """The stored versions are inconsistent; the message names the file and the fix."""


@dataclass(frozen=True)
class PolicyVersion:
    version: str
    document: dict[str, Any]
    what_changed: str
    why: str

    @property
    def sort_key(self) -> tuple[int, ...]:
        return version_key(self.version)


def version_key(version: str) -> tuple[int, ...]:
    match = _VERSION.match(version)
    if match is None:
        raise CatalogError(f"policy version {version!r} is not of the form YYYY-MM-DD.N")
    return tuple(int(part) for part in match.groups())


class PolicyCatalog:
    """The versions of one directory, oldest first."""

    def __init__(self, versions: list[PolicyVersion]) -> None:
        if not versions:
            raise CatalogError("no policy versions are stored")
        self._versions = sorted(versions, key=lambda v: v.sort_key)
        self._by_name = {v.version: v for v in self._versions}

    def latest(self) -> PolicyVersion:
        return self._versions[-1]

    def get(self, version: str) -> PolicyVersion:
        try:
            return self._by_name[version]
        except KeyError:
            raise CatalogError(f"policy version {version!r} is not published") from None

    def history(self) -> list[PolicyVersion]:
        """Every published version, oldest first."""
        return list(self._versions)

    def match(self, document: Any) -> PolicyVersion | None:
        """The newest published version whose document equals ``document``, if any."""
        wanted = canonical(document)
        for version in reversed(self._versions):
            if canonical(version.document) == wanted:
                return version
        return None


def _parse_changelog(text: str) -> dict[str, tuple[str, str]]:
    """``## <version>`` sections, each with its ``What changed:`` and ``Why:`` paragraphs."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            current = sections.setdefault(heading.group(1), [])
        elif current is not None:
            current.append(line)
    entries: dict[str, tuple[str, str]] = {}
    for version, lines in sections.items():
        paragraphs = [" ".join(p.split()) for p in "\n".join(lines).split("\n\n") if p.strip()]
        what = next((p for p in paragraphs if p.startswith("What changed:")), "")
        why = next((p for p in paragraphs if p.startswith("Why:")), "")
        entries[version] = (
            what.removeprefix("What changed:").strip(),
            why.removeprefix("Why:").strip(),
        )
    return entries


def load(directory: Path = CATALOG_DIR) -> PolicyCatalog:
    """Read every ``<version>.json`` of ``directory`` with its changelog entry.

    Raises :class:`CatalogError` when a document is not valid JSON or a version has no
    complete changelog entry (both paragraphs), naming the version and the fix.
    """
    changelog_path = directory / CHANGELOG
    if not changelog_path.is_file():
        raise CatalogError(f"{changelog_path} is missing; every policy version needs an entry")
    entries = _parse_changelog(changelog_path.read_text(encoding="utf-8"))
    versions: list[PolicyVersion] = []
    for path in sorted(directory.glob("*.json")):
        name = path.stem
        version_key(name)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise CatalogError(f"{path.name}: not valid JSON ({exc})") from None
        what, why = entries.get(name, ("", ""))
        if not what or not why:
            raise CatalogError(
                f"policy version {name} has no complete entry in {CHANGELOG}: add a "
                f"'## {name}' section with a 'What changed:' and a 'Why:' paragraph"
            )
        versions.append(PolicyVersion(name, document, what, why))
    unknown = sorted(set(entries) - {v.version for v in versions})
    if unknown:
        raise CatalogError(
            f"{CHANGELOG} describes {', '.join(unknown)} but no such <version>.json is stored"
        )
    return PolicyCatalog(versions)


@lru_cache(maxsize=1)
def default_catalog() -> PolicyCatalog:
    return load()


def latest() -> PolicyVersion:
    return default_catalog().latest()


def get(version: str) -> PolicyVersion:
    return default_catalog().get(version)


def history() -> list[PolicyVersion]:
    return default_catalog().history()
