"""Emulator state that outlives the process: a snapshot plus a write-ahead journal.

Why both (see docs/emulator.md): a snapshot alone would have to be rewritten — all of IAM's
managed policies, EC2's defaults, S3 objects — on every mutating request to survive
``kill -9``; a journal alone would replay an ever longer history at every start. So every
mutating request is journaled and ``fsync``-ed before its answer leaves, and a snapshot (a
pickle of moto's backends) is written now and then and at every clean stop, after which the
journal starts afresh. A start loads the snapshot and replays the journal behind it.

Replays give the same ids because moto draws every id from one seeded generator
(``moto.moto_api._internal.mock_random``): each request runs alone, under one lock, after the
generator is seeded with a fresh seed that the journal records. Requests that only read are
not journaled unless they built a new moto backend (a first call in a region builds its
default VPC, with ids), so replays rebuild backends in the same order with the same seeds.
"""

from __future__ import annotations

import hashlib
import io
import logging
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from flightdeck.aws.emulator import journal, snapshot
from flightdeck.aws.emulator.journal import JournalRecord, JournalWriter
from flightdeck.aws.emulator.state import EmulatorState
from flightdeck.aws.emulator.statefiles import (
    DirectoryLock,
    EmulatorStateError,
    StateHeader,
    atomic_write,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("flightdeck.emulator")

SNAPSHOT_FILE = "snapshot.pickle"
PORT_FILE = "port"
# Snapshot once this many requests are journaled, or this long after the first of them.
SNAPSHOT_EVERY_RECORDS = 200
SNAPSHOT_EVERY_SECONDS = 30.0

_READ_PREFIXES = (
    "Describe", "Get", "List", "Head", "Lookup", "Search", "Filter", "Scan", "Query",
    "Select", "Simulate", "BatchGet", "Test",
)  # fmt: skip
# Read-looking operations that create state (credentials moto remembers).
_MUTATING_READS = frozenset({"GetSessionToken", "GetFederationToken"})
_ENVIRON_KEYS = frozenset(
    {
        "REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH",
        "SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "REQUEST_URI",
        "RAW_URI", "wsgi.url_scheme",
    }
)  # fmt: skip
# Operations whose results moto draws from outside its seeded generator (key material from
# ``cryptography``, upload ids from ``os.urandom``): a replay could not reproduce them, so a
# snapshot is written before they are answered.
SNAPSHOT_AT_ONCE = frozenset({"CreateKey", "ReplicateKey", "CreateMultipartUpload"})
_JOURNALED_CONTROL = ("/_flightdeck/quotas", "/_flightdeck/regions", "/_flightdeck/reset")
_UNJOURNALED_PREFIXES = ("/_flightdeck/", "/moto-api/")


def operation_name(environ: WSGIEnvironment, body: bytes) -> str | None:
    """The AWS operation, where the protocol names it without a service model."""
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return target.rsplit(".", 1)[-1]
    path = str(environ.get("PATH_INFO", ""))
    if "/operation/" in path:  # Smithy RPC v2 (CBOR): /service/<name>/operation/<op>
        return path.rsplit("/operation/", 1)[-1].strip("/") or None
    query = parse_qs(str(environ.get("QUERY_STRING", "")))
    if "Action" in query:
        return query["Action"][0]
    if body and "x-www-form-urlencoded" in str(environ.get("CONTENT_TYPE", "")):
        form = parse_qs(body.decode("utf-8", errors="replace"))
        if "Action" in form:
            return form["Action"][0]
    return None


def is_mutating(environ: WSGIEnvironment, body: bytes) -> bool:
    """Whether a request may change state. Errs towards yes: a journaled read costs only time."""
    path = str(environ.get("PATH_INFO", ""))
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    if path.startswith(_JOURNALED_CONTROL):
        return method != "GET"
    if path == "/moto-api/reset":
        return True
    if path.startswith(_UNJOURNALED_PREFIXES):
        return False
    operation = operation_name(environ, body)
    if operation is not None:
        return operation in _MUTATING_READS or not operation.startswith(_READ_PREFIXES)
    if path in ("/getRegionOptStatus", "/listRegions"):
        return False
    return method not in ("GET", "HEAD", "OPTIONS")


def _backend_count() -> int:
    """How many moto backends exist: a change means a request built one (and drew ids)."""
    return sum(
        1 + len(per_account)
        for backend_dict in list(snapshot.instances())
        for per_account in list(backend_dict.values())
    )


def _seed_moto(seed: int) -> None:
    from moto.moto_api._internal import mock_random

    mock_random.seed(seed)


def _buffer_body(environ: WSGIEnvironment) -> bytes:
    from werkzeug.wrappers import Request

    body = Request(environ).get_data(cache=False)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ["flightdeck.body"] = body
    return body


def _replay_environ(record: JournalRecord) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "0",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    environ.update(record.environ)
    environ["wsgi.input"] = io.BytesIO(record.body)
    environ["CONTENT_LENGTH"] = str(len(record.body))
    environ["flightdeck.body"] = record.body
    environ["flightdeck.replay"] = True
    return environ


def read_snapshot(path: Path) -> bytes:
    """A snapshot's pickle, once its header is compatible and its checksum matches."""
    try:
        with path.open("rb") as handle:
            header_line = handle.readline()
            data = handle.read()
    except OSError as exc:
        raise EmulatorStateError.corrupt(path, exc.strerror or str(exc)) from exc
    header = StateHeader.parse(header_line, path)
    header.require_compatible(StateHeader.current("snapshot"), path)
    if header.sha256 != hashlib.sha256(data).hexdigest():
        raise EmulatorStateError.corrupt(path, "its checksum does not match its contents")
    return data


def check_state_dir(directory: Path) -> None:
    """Refuse a damaged or incompatible state directory without loading it (fast, read-only).

    The server calls this before it serves anything, so a bad directory is one clear line.
    """
    if not directory.exists():
        return
    snapshot_path = directory / SNAPSHOT_FILE
    if snapshot_path.exists():
        read_snapshot(snapshot_path)
    for _ in journal.read_records(directory, StateHeader.current("journal"), repair=False):
        pass


def _needs_snapshot_now(environ: WSGIEnvironment, body: bytes) -> bool:
    if operation_name(environ, body) in SNAPSHOT_AT_ONCE:
        return True
    # S3's CreateMultipartUpload is REST: POST /<bucket>/<key>?uploads
    query = str(environ.get("QUERY_STRING", ""))
    return str(environ.get("REQUEST_METHOD")) == "POST" and "uploads" in parse_qs(
        query, keep_blank_values=True
    )


class StateStore:
    """One state directory: its lock, snapshot and journal, and the moto lock they rely on."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.moto_lock = threading.RLock()
        self._dir_lock = DirectoryLock(directory)
        self._writer: JournalWriter | None = None
        self._header = StateHeader.current("journal")
        self._seq = 0
        self._snapshot_seq = 0
        self._first_unsnapshotted: float | None = None
        self._not_before = 0.0
        self._stop = threading.Event()
        self._snapshotter: threading.Thread | None = None
        self._state: EmulatorState | None = None
        self.restored_records = 0
        self.startup_seconds = 0.0

    @property
    def snapshot_path(self) -> Path:
        return self.directory / SNAPSHOT_FILE

    # -- start ------------------------------------------------------------------------------
    def open(self) -> None:
        """Take the directory (refusing one another process holds)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._dir_lock.acquire()
        except PermissionError as exc:
            raise EmulatorStateError(
                f"cannot write the AWS emulator state directory {self.directory} "
                f"({exc.strerror}); make it writable or use another --state-dir"
            ) from exc

    def restore(self, app: WSGIApplication, state: EmulatorState) -> None:
        """Load the snapshot into moto and ``state``, then replay the journal behind it."""
        started = time.monotonic()
        self._state = state
        if self.snapshot_path.exists() or journal.segments(self.directory):
            snapshot.clear_backends()  # what is restored is all this emulator holds
        if self.snapshot_path.exists():
            self._load_snapshot(state)
        self._seq = self._snapshot_seq
        for record in journal.read_records(self.directory, self._header):
            if record.seq <= self._snapshot_seq:
                continue  # already in the snapshot (a crash before old segments were deleted)
            self._replay(app, record)
            self._seq = record.seq
            self.restored_records += 1
        self._writer = JournalWriter(self.directory, self._header, self._seq + 1)
        if self.restored_records:
            self._first_unsnapshotted = time.monotonic()
        self.startup_seconds = time.monotonic() - started

    def _load_snapshot(self, state: EmulatorState) -> None:
        data = read_snapshot(self.snapshot_path)
        try:
            extra = snapshot.load_backends(data)
            self._snapshot_seq = int(extra["seq"])
            state.restore(extra["emulator"])
        except Exception as exc:  # any unpickling failure means the file is not usable
            raise EmulatorStateError.corrupt(
                self.snapshot_path, f"{type(exc).__name__}: {exc}"
            ) from exc

    def _replay(self, app: WSGIApplication, record: JournalRecord) -> None:
        _seed_moto(record.seed)
        statuses: list[str] = []

        def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            statuses.append(status)
            return lambda data: None

        result = app(_replay_environ(record), start_response)
        try:
            for _ in result:
                pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        replayed = int(statuses[0].split(" ", 1)[0]) if statuses else 0
        if record.status and replayed != record.status:
            log.warning(
                "replaying journaled request %d (%s %s) answered %d, not %d as before",
                record.seq,
                record.environ.get("REQUEST_METHOD"),
                record.environ.get("PATH_INFO"),
                replayed,
                record.status,
            )

    def remembered_port(self) -> int | None:
        try:
            return int((self.directory / PORT_FILE).read_text().strip())
        except (OSError, ValueError):
            return None

    def remember_port(self, port: int) -> None:
        atomic_write(self.directory / PORT_FILE, [f"{port}\n".encode()], mode=0o644)

    # -- running ----------------------------------------------------------------------------
    def start_snapshots(self) -> None:
        self._snapshotter = threading.Thread(
            target=self._snapshot_loop, name="flightdeck-emulator-snapshots", daemon=True
        )
        self._snapshotter.start()

    def record(
        self, environ: dict[str, str], body: bytes, seed: int, status: int
    ) -> tuple[int, int]:
        """Journal a request that just ran (call under ``moto_lock``); then ``sync`` it."""
        assert self._writer is not None
        self._seq += 1
        if self._first_unsnapshotted is None:
            self._first_unsnapshotted = time.monotonic()
        return self._writer.append(JournalRecord(self._seq, seed, environ, body, status))

    def sync(self, position: tuple[int, int]) -> None:
        assert self._writer is not None
        self._writer.sync(position)

    def snapshot_now(self) -> None:
        """A snapshot before answering; if it cannot be written the journal still holds all."""
        try:
            self.write_snapshot()
        except Exception:
            log.exception("could not write the AWS emulator snapshot; journal kept")
            self._not_before = time.monotonic() + SNAPSHOT_EVERY_SECONDS

    def _snapshot_due(self) -> bool:
        pending = self._seq - self._snapshot_seq
        if time.monotonic() < self._not_before:  # the last attempt failed: not every second
            return False
        if pending <= 0 or self._first_unsnapshotted is None:
            return False
        waited = time.monotonic() - self._first_unsnapshotted
        return pending >= SNAPSHOT_EVERY_RECORDS or waited >= SNAPSHOT_EVERY_SECONDS

    def _snapshot_loop(self) -> None:
        while not self._stop.wait(1.0):
            if self._snapshot_due():
                try:
                    self.write_snapshot()
                except Exception:  # the journal still holds everything; try again later
                    log.exception("could not write the AWS emulator snapshot; journal kept")
                    self._not_before = time.monotonic() + SNAPSHOT_EVERY_SECONDS

    def write_snapshot(self) -> None:
        """Pickle moto now, start a new journal segment, then retire the old segments."""
        assert self._writer is not None and self._state is not None
        with self.moto_lock:
            seq = self._seq
            if seq == self._snapshot_seq and self.snapshot_path.exists():
                return
            data = snapshot.dump_backends({"seq": seq, "emulator": self._state.export()})
            self._writer.open_segment(seq + 1)
            self._first_unsnapshotted = None
        header = replace(StateHeader.current("snapshot"), sha256=hashlib.sha256(data).hexdigest())
        atomic_write(self.snapshot_path, [header.line(), data])
        self._snapshot_seq = seq
        current = journal.segment_path(self.directory, seq + 1)
        for path in journal.segments(self.directory):
            if path != current and path.name < current.name:
                path.unlink()

    # -- stop -------------------------------------------------------------------------------
    def close(self) -> None:
        """A last snapshot (so the next start replays nothing), then let the directory go."""
        self._stop.set()
        if self._snapshotter is not None:
            self._snapshotter.join(timeout=30)
        try:
            if self._writer is not None:
                try:
                    self.write_snapshot()
                except Exception:
                    log.exception("could not write the AWS emulator snapshot; journal kept")
                self._writer.close()
        finally:
            self._dir_lock.release()


class PersistentApp:
    """WSGI middleware: one moto request at a time, journaled before it is answered."""

    def __init__(self, app: WSGIApplication, store: StateStore) -> None:
        self.app = app
        self.store = store

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if str(environ.get("PATH_INFO", "")) == "/_flightdeck/health":
            return self.app(environ, start_response)
        body = _buffer_body(environ)
        recorded = {
            key: str(value)
            for key, value in environ.items()
            if isinstance(value, str) and (key.startswith("HTTP_") or key in _ENVIRON_KEYS)
        }
        mutating = is_mutating(environ, body)
        captured: list[Any] = []

        def capture(status: str, headers: Any, exc_info: Any = None) -> Callable[[bytes], Any]:
            captured[:] = [status, headers, exc_info]
            return lambda data: None

        position: tuple[int, int] | None = None
        with self.store.moto_lock:
            seed = secrets.randbits(63)
            _seed_moto(seed)
            before = _backend_count()
            result = self.app(environ, capture)
            try:
                chunks = list(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            faulted = bool(environ.get("flightdeck.faulted"))
            if not faulted and (mutating or _backend_count() != before):
                status_code = int(str(captured[0]).split(" ", 1)[0]) if captured else 0
                position = self.store.record(recorded, body, seed, status_code)
        if position is not None:
            self.store.sync(position)
            if _needs_snapshot_now(environ, body):
                self.store.snapshot_now()
        start_response(captured[0], captured[1], captured[2])
        return chunks
