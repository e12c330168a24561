"""Leases by compare-and-set: how several workers share one table of due work.

A row is free when its lease has no owner or has expired. A worker reads candidates
(with ``SKIP LOCKED`` on PostgreSQL, so concurrent workers pass over each other's picks),
then claims each with an UPDATE that checks again that the row is free: only a row whose
update hit is the worker's. A crashed worker's lease simply expires. The cluster,
Deployment and role-policy workers all lease their rows this way: they are
:class:`LeasedWorker` subclasses.
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, update
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.db.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeasedTable:
    """A table with ``lease_owner`` and ``lease_expires_at`` columns; ``key`` identifies a
    row and ``due_at`` says when it is next due."""

    model: Any
    key: Any
    due_at: Any

    def free(self, now: datetime) -> ColumnElement[bool]:
        expires = self.model.lease_expires_at
        return or_(expires.is_(None), expires < now)

    def claim(
        self,
        session: Session,
        candidates: Select[Any],
        worker_id: str,
        lease_seconds: float,
        now: datetime,
    ) -> list[str]:
        """Claim the rows ``candidates`` selects (their keys) and commit; returns the keys won."""
        if session.get_bind().dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True, of=self.model)
        claimed: list[str] = []
        for key in list(session.scalars(candidates)):
            result = session.execute(
                update(self.model)
                .where(self.key == key, self.free(now))
                .values(
                    lease_owner=worker_id, lease_expires_at=now + timedelta(seconds=lease_seconds)
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(key)
        session.commit()
        return claimed

    def release(
        self,
        session_factory: sessionmaker[Session],
        key: str,
        worker_id: str,
        due_at: datetime,
    ) -> None:
        """Give a row back (if still ours) and make it due at ``due_at``: after a crash."""
        with session_factory() as session:
            session.execute(
                update(self.model)
                .where(self.key == key, self.model.lease_owner == worker_id)
                .values({"lease_owner": None, "lease_expires_at": None, self.due_at.key: due_at})
                .execution_options(synchronize_session=False)
            )
            session.commit()


class LeaseLost(Exception):
    """Another worker owns the row now; stop without writing anything more."""


def worker_identity() -> str:
    """A worker's lease owner name: the host, and a random part for several per host."""
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"


RETRY_AFTER_CRASH = timedelta(seconds=30)


class LeasedWorker(ABC):
    """The loop every background worker shares: claim due rows under a lease, work on each,
    renew the lease while a long step runs, and release.

    A subclass says which rows are due (``candidates``) and what one pass over a row does
    (``work_on``). A pass that raises does not stop the others: the row gets a
    ``last_error`` the user sees (the exception's type only; its text may hold anything and
    goes to the log) and is due again in 30 s. A worker that dies simply leaves its lease
    to expire, and another worker resumes from what was committed.
    """

    table: LeasedTable
    noun: str  # what a row is, in logs and in the error the user sees ("cluster")
    idle_seconds: float = 1.0

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        lease_seconds: float,
        worker_id: str | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.lease_seconds = lease_seconds
        self.worker_id = worker_id or worker_identity()
        self.now = now

    # -- what a subclass says -----------------------------------------------------------------
    @abstractmethod
    def candidates(self, now: datetime) -> Select[Any]:
        """The keys of rows due at ``now`` (free ones: the claim checks again)."""

    @abstractmethod
    def work_on(self, key: str) -> object:
        """One pass over a row this worker holds the lease on; releases it when done."""

    def before_claim(self) -> None:  # noqa: B027 - optional hook, most workers need none
        """Runs before every claim (e.g. to create rows that should exist)."""

    # -- leases -------------------------------------------------------------------------------
    def claim_due(self, limit: int = 10) -> list[str]:
        """Claim up to ``limit`` due rows; only a successful compare-and-set counts."""
        with self.session_factory() as session:
            now = self.now()
            candidates = self.candidates(now).limit(limit)
            return self.table.claim(session, candidates, self.worker_id, self.lease_seconds, now)

    def renew(self, key: str, session: Session | None = None) -> None:
        """Extend the lease on ``key``; raises :class:`LeaseLost` when it is not ours any more.
        With ``session`` the renewal joins that session's transaction (the caller commits)."""
        if session is None:
            with self.session_factory() as own:
                self.renew(key, own)
                own.commit()
            return
        result = session.execute(
            update(self.table.model)
            .where(self.table.key == key, self.table.model.lease_owner == self.worker_id)
            .values(lease_expires_at=self.now() + timedelta(seconds=self.lease_seconds))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise LeaseLost(key)

    @contextmanager
    def heartbeat(self, key: str) -> Iterator[None]:
        """Keep the lease on ``key`` while the block runs (a runtime call that may take
        minutes), renewing it from a thread a few times per lease period. Raises
        :class:`LeaseLost` after the block when a renewal found the lease taken."""
        done = threading.Event()
        lost = threading.Event()

        def beat() -> None:
            while not done.wait(self.lease_seconds / 3):
                try:
                    self.renew(key)
                except LeaseLost:
                    lost.set()
                    return
                except Exception:  # a busy database: try again at the next beat
                    log.warning("renewing the lease on %s %s failed", self.noun, key)

        thread = threading.Thread(target=beat, name=f"lease-{key[:8]}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()
        if lost.is_set():
            raise LeaseLost(key)

    def release_after_crash(self, key: str, error: Exception) -> None:
        """Tell the user, release the row and retry it in 30 s."""
        with self.session_factory() as session:
            session.execute(
                update(self.table.model)
                .where(self.table.key == key, self.table.model.lease_owner == self.worker_id)
                .values(last_error=crash_message(self.noun, error))
                .execution_options(synchronize_session=False)
            )
            session.commit()
        self.table.release(
            self.session_factory, key, self.worker_id, self.now() + RETRY_AFTER_CRASH
        )

    # -- loops --------------------------------------------------------------------------------
    def run_once(self, limit: int = 10) -> int:
        """Claim and work on what is due now; returns how many rows were worked on."""
        self.before_claim()
        claimed = self.claim_due(limit)
        for key in claimed:
            try:
                self.work_on(key)
            except LeaseLost:
                log.warning("lost the lease on %s %s; another worker has it", self.noun, key)
            except Exception as exc:  # one broken row must not stop the others
                log.exception("the pass over %s %s crashed", self.noun, key)
                try:
                    self.release_after_crash(key, exc)
                except Exception:  # the database itself is down: the lease expires
                    log.exception("could not release %s %s", self.noun, key)
        return len(claimed)

    def run_forever(self, stop: threading.Event, idle_seconds: float | None = None) -> None:
        while not stop.is_set():
            try:
                worked = self.run_once()
            except Exception:
                log.exception("%s worker loop error; continuing", self.noun)
                worked = 0
            if not worked:
                stop.wait(self.idle_seconds if idle_seconds is None else idle_seconds)


def crash_message(noun: str, error: BaseException) -> str:
    """What the user reads after a crashed pass: the exception's type, never its text."""
    return (
        f"the worker could not finish its pass over this {noun} ({type(error).__name__}); "
        f"it retries in {RETRY_AFTER_CRASH.seconds} s, details in its log"
    )
