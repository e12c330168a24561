"""Leases by compare-and-set: how several workers share one table of due work.

A row is free when its lease has no owner or has expired. A worker reads candidates
(with ``SKIP LOCKED`` on PostgreSQL, so concurrent workers pass over each other's picks),
then claims each with an UPDATE that checks again that the row is free: only a row whose
update hit is the worker's. A crashed worker's lease simply expires. The cluster,
Deployment and role-policy workers all lease their rows this way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, update
from sqlalchemy.orm import Session, sessionmaker


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
