"""One control plane per data directory: an exclusive lock naming who holds it.

The lock is an ``flock`` on ``<data dir>/server.lock``: the kernel drops it when its holder
dies, even by ``kill -9``, so a stale lock can never block a start. The file records the
holder's pid, its process start time (so a reused pid is not mistaken for it) and its URL,
for the message a second server prints. A process takes a data directory's lock once; later
requests from the same process (the server command, then its embedded AWS) reuse it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flightdeck.devenv.process_identity import process_start_time

log = logging.getLogger("flightdeck")

LOCK_FILE = "server.lock"
_held: dict[Path, ServerLock] = {}
_held_guard = threading.Lock()


class ServerLockError(RuntimeError):
    """The data directory belongs to another running server, or cannot be written."""


@dataclass(frozen=True)
class LockHolder:
    pid: int
    start_time: int | None
    url: str

    @classmethod
    def read(cls, text: str) -> LockHolder | None:
        try:
            data = json.loads(text)
            start = data.get("start_time")
            return cls(int(data["pid"]), None if start is None else int(start), str(data["url"]))
        except (ValueError, KeyError, TypeError):
            return None


class ServerLock:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_FILE
        self._handle: IO[str] | None = None

    @classmethod
    def take(cls, data_dir: Path) -> ServerLock:
        """This process's lock on ``data_dir``, taken now unless it already holds it.

        Writes nothing but the lock file, and nothing at all when it refuses.
        """
        key = data_dir.resolve()
        with _held_guard:
            held = _held.get(key)
            if held is not None:
                return held
            lock = cls(data_dir)
            lock._acquire()
            _held[key] = lock
            return lock

    @classmethod
    def held_here(cls, data_dir: Path) -> bool:
        """Whether this process already holds ``data_dir``'s lock."""
        with _held_guard:
            return data_dir.resolve() in _held

    @classmethod
    def holder(cls, data_dir: Path) -> LockHolder | None:
        """Who holds ``data_dir`` now (None: nobody), found without writing anything."""
        try:
            handle = (data_dir / LOCK_FILE).open("r")
        except OSError:
            return None
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return LockHolder.read(handle.read()) or LockHolder(0, None, "unknown URL")
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return None

    @staticmethod
    def refusal(data_dir: Path, holder: LockHolder | None) -> ServerLockError:
        who = f"pid {holder.pid}, {holder.url}" if holder and holder.pid else "another process"
        return ServerLockError(
            f"another flightdeck server ({who}) is using the data directory {data_dir}; "
            "stop it first, or start this one with another FLIGHTDECK_DATA_DIR"
        )

    def _acquire(self) -> None:
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            handle = self.path.open("a+")
        except PermissionError as exc:
            raise ServerLockError(
                f"cannot write the data directory {self.data_dir} ({exc.strerror}); make it "
                "writable, or choose another with FLIGHTDECK_DATA_DIR"
            ) from exc
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.seek(0)
            holder = LockHolder.read(handle.read())
            handle.close()
            raise self.refusal(self.data_dir, holder) from exc
        handle.seek(0)
        previous = LockHolder.read(handle.read())
        if previous is not None and previous.pid != os.getpid():
            # Stopped by a signal (uvicorn re-raises it) or killed: either way it is gone.
            log.warning(
                "the previous flightdeck server on %s (pid %d, %s) has stopped; taking over",
                self.data_dir,
                previous.pid,
                previous.url,
            )
        self._handle = handle

    def announce(self, url: str) -> None:
        """Record who holds the lock, for a second server's message."""
        assert self._handle is not None
        holder = {"pid": os.getpid(), "start_time": process_start_time(os.getpid()), "url": url}
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(json.dumps(holder) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def release(self) -> None:
        with _held_guard:
            _held.pop(self.data_dir.resolve(), None)
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            self._handle.close()  # closing drops the flock
            self._handle = None
