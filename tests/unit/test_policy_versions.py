"""Published policy versions: the latest is what the code declares, each has its changelog."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flightdeck.aws import permissions, policy_versions
from flightdeck.aws.policy_versions import CATALOG_DIR, CatalogError, load
from flightdeck.aws.policy_versions.diff import grant_changes, unified_diff


def test_latest_published_version_is_what_the_code_declares() -> None:
    latest = policy_versions.latest()
    assert latest.version == permissions.POLICY_VERSION, (
        "permissions.POLICY_VERSION is not the newest <version>.json: publish the version"
    )
    assert latest.document == permissions.managed_policy_document(), (
        "managed_policy_document() differs from the latest published version: bump "
        "POLICY_VERSION, store its <version>.json and add a CHANGELOG.md entry"
    )


def test_every_version_has_what_and_why() -> None:
    history = policy_versions.history()
    assert [v.version for v in history] == sorted(
        (v.version for v in history), key=policy_versions.version_key
    )
    assert len(history) >= 2
    for version in history:
        assert version.what_changed and version.why, version.version
        assert policy_versions.get(version.version) is version


def test_a_version_without_a_changelog_entry_is_refused(tmp_path: Path) -> None:
    shutil.copytree(CATALOG_DIR, tmp_path / "catalog", ignore=shutil.ignore_patterns("*.py*"))
    latest = policy_versions.latest()
    (tmp_path / "catalog" / "2099-01-01.1.json").write_text(json.dumps(latest.document))
    with pytest.raises(CatalogError, match=r"2099-01-01\.1 has no complete entry"):
        load(tmp_path / "catalog")


def test_an_entry_without_why_is_refused(tmp_path: Path) -> None:
    (tmp_path / "2099-01-01.1.json").write_text("{}")
    (tmp_path / "CHANGELOG.md").write_text("## 2099-01-01.1\n\nWhat changed: nothing.\n")
    with pytest.raises(CatalogError, match="'Why:'"):
        load(tmp_path)


def test_badly_named_and_orphan_entries_are_refused(tmp_path: Path) -> None:
    (tmp_path / "CHANGELOG.md").write_text("## 2099-01-01.2\n\nWhat changed: a.\n\nWhy: b.\n")
    (tmp_path / "latest.json").write_text("{}")
    with pytest.raises(CatalogError, match=r"YYYY-MM-DD\.N"):
        load(tmp_path)
    (tmp_path / "latest.json").unlink()
    with pytest.raises(CatalogError, match=r"describes 2099-01-01\.2 but no such"):
        load(tmp_path)
    (tmp_path / "CHANGELOG.md").write_text("# no entries\n")
    with pytest.raises(CatalogError, match="no policy versions"):
        load(tmp_path)


def test_versions_sort_by_date_then_sequence(tmp_path: Path) -> None:
    entries = []
    for name in ("2026-11-21.10", "2026-11-21.9", "2026-02-01.1"):
        (tmp_path / f"{name}.json").write_text(json.dumps({"Sid": name}))
        entries.append(f"## {name}\n\nWhat changed: {name}.\n\nWhy: test.\n")
    (tmp_path / "CHANGELOG.md").write_text("\n".join(entries))
    catalog = load(tmp_path)
    assert [v.version for v in catalog.history()] == [
        "2026-02-01.1", "2026-11-21.9", "2026-11-21.10"]
    assert catalog.latest().version == "2026-11-21.10"
    assert catalog.match({"Sid": "2026-11-21.9"}).version == "2026-11-21.9"  # type: ignore[union-attr]
    assert catalog.match({"Sid": "other"}) is None


def test_the_words_and_diff_of_version_5() -> None:
    old = policy_versions.get("2026-11-21.4").document
    new = policy_versions.get("2026-11-21.5").document
    changes = grant_changes(old, new)
    own = "arn:aws:iam::*:policy/FlightdeckCrossAccountRole"
    assert changes.newly_allowed == tuple(
        f"{a} on {own}" for a in ("iam:CreatePolicyVersion", "iam:DeletePolicyVersion",
                                  "iam:ListPolicyVersions", "iam:SetDefaultPolicyVersion"))
    assert not changes.no_longer_allowed
    assert any(line.startswith("iam:PutRolePermissionsBoundary") for line in changes.newly_denied)
    diff = unified_diff(old, new, "a", "b")
    assert diff.startswith("--- a\n+++ b\n")
    assert '+        "iam:CreatePolicyVersion",' in diff
    assert grant_changes(old, old).empty
