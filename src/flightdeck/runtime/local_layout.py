"""A local Deployment's directory: its layout, code switch, record file and locks.

Kept apart from the runtime's logic so the on-disk contract is in one place (see
:mod:`flightdeck.runtime.local` for the picture).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from flightdeck.devenv.project import Project

EMPTY_BUNDLE = "_empty"  # what runs before the first deploy; no deploy id can start with _
LINKED = ("dags", "include", "plugins", "requirements.txt")


class FileLock:
    """An exclusive ``flock`` that works across threads and processes (one open per holder)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd: int | None = None

    def acquire(self, blocking: bool = True) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the lock
            self._fd = None

    def held_elsewhere(self) -> bool:
        if self.acquire(blocking=False):
            self.release()
            return False
        return True


def fernet_key(project: Project) -> str:
    """One key per Deployment, created once: connections and variables are encrypted with it."""
    path = project.airflow_home / "fernet.key"
    if not path.exists():
        project.airflow_home.mkdir(parents=True, exist_ok=True)
        key = base64.urlsafe_b64encode(os.urandom(32)).decode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
    return path.read_text().strip()


def lay_out(directory: Path, airflow_version: str) -> None:
    """Create the project layout (idempotent): config, an empty first bundle, the links."""
    empty = directory / "bundles" / EMPTY_BUNDLE
    for part in ("dags", "include", "plugins"):
        (empty / part).mkdir(parents=True, exist_ok=True)
    (directory / "home").mkdir(exist_ok=True)
    config = Project(directory).config_file
    config.parent.mkdir(exist_ok=True)
    config.write_text(yaml.safe_dump({"airflow_version": airflow_version}))
    if not (directory / "current").is_symlink():
        switch(directory, EMPTY_BUNDLE)
    for part in LINKED:
        link = directory / part
        if not link.is_symlink():
            link.symlink_to(f"current/{part}")


def switch(directory: Path, deploy_id: str) -> None:
    """Point ``current`` at a bundle with one rename: processes see old or new, never half."""
    staging = directory / f".current-{deploy_id}"
    staging.unlink(missing_ok=True)
    staging.symlink_to(f"bundles/{deploy_id}")
    staging.replace(directory / "current")  # rename(2): atomic


def carry_over(current: Path, bundle_dir: Path) -> None:
    """Give a DAG-only bundle the include/, plugins/ and requirements of the running code."""
    for part in ("include", "plugins", "requirements.txt"):
        source = current / part
        if not source.exists():
            continue
        if source.is_dir():
            shutil.copytree(source, bundle_dir / part, symlinks=True, copy_function=link_or_copy)
        else:
            link_or_copy(str(source), str(bundle_dir / part))


def link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)  # bundles are never changed in place, so sharing is safe
    except OSError:
        shutil.copy2(source, target)


def prune(directory: Path, keep: list[str]) -> None:
    bundles = directory / "bundles"
    for path in bundles.iterdir():
        if path.name not in keep and path.name != EMPTY_BUNDLE:
            shutil.rmtree(path, ignore_errors=True)


def record_path(directory: Path) -> Path:
    return directory / "deployment.json"


def read_record(directory: Path) -> dict[str, Any]:
    path = record_path(directory)
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def write_record(directory: Path, record: Mapping[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    path = record_path(directory)
    tmp = path.with_name(f".deployment.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True))
    tmp.replace(path)


def update_record(directory: Path, **changes: Any) -> None:
    write_record(directory, read_record(directory) | changes)
