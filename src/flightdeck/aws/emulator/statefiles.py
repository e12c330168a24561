"""Files of a persistent emulator state directory: headers, atomic writes, the directory lock.

Every state file starts with one JSON header line naming the file format and the moto and
Python versions that wrote it: moto's pickled objects and its id generation are only known to
match within one moto version, so anything else is refused, never guessed at.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

STATE_FORMAT = 1
LOCK_FILE = "lock"


class EmulatorStateError(RuntimeError):
    """A state directory the emulator cannot use; the message names the file and the way out."""

    @classmethod
    def corrupt(cls, path: Path, what: str) -> EmulatorStateError:
        return cls(
            f"AWS emulator state file {path} is damaged ({what}); restore the directory "
            f"from a backup, or move {path.parent} aside to start with an empty emulator "
            "(every emulated AWS resource is then lost)"
        )


def moto_version() -> str:
    import moto

    return str(moto.__version__)


@dataclass(frozen=True)
class StateHeader:
    kind: str
    format: int
    moto: str
    python: str
    sha256: str | None = None  # of what follows the header (snapshots)

    @classmethod
    def current(cls, kind: str) -> StateHeader:
        python = f"{sys.version_info[0]}.{sys.version_info[1]}"
        return cls(kind, STATE_FORMAT, moto_version(), python)

    def line(self) -> bytes:
        body: dict[str, object] = {
            "kind": self.kind,
            "format": self.format,
            "moto": self.moto,
            "python": self.python,
        }
        if self.sha256:
            body["sha256"] = self.sha256
        return json.dumps(body, separators=(",", ":")).encode() + b"\n"

    @classmethod
    def parse(cls, line: bytes, path: Path) -> StateHeader:
        try:
            data = json.loads(line)
            kind, version = str(data["kind"]), int(data["format"])
            digest = data.get("sha256")
            return cls(
                kind, version, str(data["moto"]), str(data["python"]), digest and str(digest)
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise EmulatorStateError.corrupt(path, "its header is unreadable") from exc

    def require_compatible(self, expected: StateHeader, path: Path) -> None:
        if self.kind != expected.kind:
            raise EmulatorStateError.corrupt(path, f"it is a {self.kind}, not a {expected.kind}")
        if (self.format, self.moto, self.python) != (
            expected.format,
            expected.moto,
            expected.python,
        ):
            raise EmulatorStateError(
                f"AWS emulator state file {path} was written by state format {self.format}, "
                f"moto {self.moto}, Python {self.python}; this is format {expected.format}, "
                f"moto {expected.moto}, Python {expected.python}. Run the version that wrote "
                f"it, or move {path.parent} aside to start with an empty emulator"
            )


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, chunks: list[bytes], mode: int = 0o600) -> None:
    """Write ``path`` so a reader (or a crash) sees the old file or the new one, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_directory(path.parent)


class DirectoryLock:
    """An exclusive ``flock`` on ``<directory>/lock``, released by the kernel if we die."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / LOCK_FILE
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise EmulatorStateError(
                f"AWS emulator state directory {self.path.parent} is in use by {holder}; "
                "stop that emulator first, or use another --state-dir"
            ) from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing drops the flock
            self._handle = None
