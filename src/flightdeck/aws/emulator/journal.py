"""The emulator's write-ahead journal: every mutating request, durable before it is answered.

A journal is a sequence of segment files ``journal-<first seq>.log``. Each starts with one JSON
header line (format, moto version) and holds length-prefixed, CRC-checked records: the request
(environ subset and body) plus the seed moto's random generator was given before it ran, so a
replay produces the same ids. A record torn by a crash at the very end of the last segment was
never acknowledged (the response waits for ``fsync``) and is cut off; damage anywhere else is
corruption and refuses the start.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from flightdeck.aws.emulator.statefiles import EmulatorStateError, StateHeader, fsync_directory

_RECORD_PREFIX = struct.Struct(">II")  # payload length, CRC32 of the payload
_META_LENGTH = struct.Struct(">I")
SEGMENT_PREFIX = "journal-"
SEGMENT_SUFFIX = ".log"


@dataclass(frozen=True)
class JournalRecord:
    """One journaled request: enough of its WSGI environ to run it again, and its seed."""

    seq: int
    seed: int
    environ: dict[str, str]
    body: bytes = b""
    status: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    def encode(self) -> bytes:
        meta = json.dumps(
            {"seq": self.seq, "seed": self.seed, "environ": self.environ, "status": self.status},
            separators=(",", ":"),
        ).encode()
        payload = _META_LENGTH.pack(len(meta)) + meta + self.body
        return _RECORD_PREFIX.pack(len(payload), zlib.crc32(payload)) + payload

    @classmethod
    def decode(cls, payload: bytes) -> JournalRecord:
        (meta_length,) = _META_LENGTH.unpack_from(payload)
        start = _META_LENGTH.size
        meta = json.loads(payload[start : start + meta_length])
        return cls(
            seq=int(meta["seq"]),
            seed=int(meta["seed"]),
            environ={str(k): str(v) for k, v in meta["environ"].items()},
            body=payload[start + meta_length :],
            status=int(meta.get("status", 0)),
        )


def segment_path(directory: Path, first_seq: int) -> Path:
    return directory / f"{SEGMENT_PREFIX}{first_seq:012d}{SEGMENT_SUFFIX}"


def segments(directory: Path) -> list[Path]:
    """The journal's segments, oldest first."""
    found = [
        path
        for path in directory.glob(f"{SEGMENT_PREFIX}*{SEGMENT_SUFFIX}")
        if path.name[len(SEGMENT_PREFIX) : -len(SEGMENT_SUFFIX)].isdigit()
    ]
    return sorted(found, key=lambda path: path.name)


def read_records(
    directory: Path, expected: StateHeader, repair: bool = True
) -> Iterator[JournalRecord]:
    """Every record of every segment, in order; a torn tail of the last segment is skipped
    (and, with ``repair``, cut off so new records follow the last intact one)."""
    paths = segments(directory)
    for index, path in enumerate(paths):
        last = index == len(paths) - 1
        yield from _read_segment(path, expected, last, repair)


def _read_segment(
    path: Path, expected: StateHeader, last: bool, repair: bool
) -> Iterator[JournalRecord]:
    with path.open("r+b" if last and repair else "rb") as handle:
        header_line = handle.readline()
        if not header_line.endswith(b"\n"):
            if last and not header_line.strip():
                return  # created, then killed before its header reached the disk
            raise EmulatorStateError.corrupt(path, "its header is incomplete")
        StateHeader.parse(header_line, path).require_compatible(expected, path)
        while True:
            offset = handle.tell()
            prefix = handle.read(_RECORD_PREFIX.size)
            if not prefix:
                return
            payload = b""
            intact = len(prefix) == _RECORD_PREFIX.size
            if intact:
                length, crc = _RECORD_PREFIX.unpack(prefix)
                payload = handle.read(length)
                intact = len(payload) == length and zlib.crc32(payload) == crc
            if not intact:
                if last and not handle.read(1):
                    # A crash while appending: never fsynced, so never acknowledged.
                    if repair:
                        handle.truncate(offset)
                    return
                raise EmulatorStateError.corrupt(path, f"a damaged record at byte {offset}")
            try:
                yield JournalRecord.decode(payload)
            except (ValueError, KeyError, struct.error) as exc:
                raise EmulatorStateError.corrupt(path, f"an unreadable record ({exc})") from exc


class JournalWriter:
    """Appends records to the current segment; ``sync`` makes everything up to an offset durable.

    ``append`` runs under the emulator's request lock (so journal order is execution order);
    ``sync`` runs outside it, so concurrent requests share one ``fsync`` (group commit).
    """

    def __init__(self, directory: Path, header: StateHeader, first_seq: int) -> None:
        self.directory = directory
        self.header = header
        self._io_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._handle: BinaryIO | None = None
        self._generation = 0
        self._written = 0
        self._synced = 0
        self.open_segment(first_seq)

    def open_segment(self, first_seq: int) -> None:
        """Start a new segment whose first record will be ``first_seq`` (closing the old one)."""
        path = segment_path(self.directory, first_seq)
        handle = path.open("ab")
        if handle.tell() == 0:
            handle.write(self.header.line())
            handle.flush()
            os.fsync(handle.fileno())
            fsync_directory(self.directory)
        with self._sync_lock, self._io_lock:
            old, self._handle = self._handle, handle
            self._generation += 1
            self._written = self._synced = 0
            if old is not None:
                old.flush()
                os.fsync(old.fileno())
                old.close()

    def append(self, record: JournalRecord) -> tuple[int, int]:
        """Write ``record``; returns the (segment generation, offset) to pass to ``sync``."""
        data = record.encode()
        with self._io_lock:
            assert self._handle is not None
            self._handle.write(data)
            self._handle.flush()
            self._written += len(data)
            return self._generation, self._written

    def sync(self, position: tuple[int, int]) -> None:
        """Return once the record that ended at ``position`` is on disk."""
        generation, offset = position
        with self._sync_lock:
            with self._io_lock:
                if generation != self._generation or self._synced >= offset:
                    return  # already synced, or its segment was closed (closing fsyncs)
                handle, target = self._handle, self._written
            assert handle is not None
            os.fdatasync(handle.fileno())
            with self._io_lock:
                if generation == self._generation:
                    self._synced = max(self._synced, target)

    def close(self) -> None:
        with self._sync_lock, self._io_lock:
            handle, self._handle = self._handle, None
            if handle is not None:
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
