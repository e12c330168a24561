"""Serialise the writes that check a rule across rows ("an organization keeps an Owner",
"a workspace keeps an Admin", "one Deployment per name") so concurrent requests cannot
both pass the check.

PostgreSQL locks the organization's row (``SELECT … FOR UPDATE``). SQLite has no row locks:
the transaction takes the database's write lock up front (``BEGIN IMMEDIATE``), so its
reads after the lock see every earlier write, and a concurrent writer waits (busy timeout).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from flightdeck.db.models import Organization


def lock_organization(session: Session, organization_id: str) -> None:
    """Hold the organization until this transaction ends; objects read before are
    expired, so the rule is checked on what is committed now."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        raw = connection.connection.dbapi_connection
        # pysqlite opens a transaction only before a write; reads so far held no lock.
        if raw is not None and not raw.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        session.execute(
            select(Organization.id).where(Organization.id == organization_id).with_for_update()
        )
    session.expire_all()
