"""Migration 0008 gives organizations unique slugs and renames workspaces whose names
differ only in case, deterministically (oldest first), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from db.test_migrations import empty_database  # noqa: F401  (the fixture)
from flightdeck.db.engine import make_engine
from flightdeck.db.migrate import upgrade

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_existing_rows_get_slugs_and_case_duplicates_are_renamed(
    empty_database: str,  # noqa: F811
) -> None:
    upgrade(empty_database, "0006")
    engine = make_engine(empty_database)
    orgs = [("o3", " Acme", 2), ("o1", "Acme", 0), ("o2", "acme", 1), ("o4", "!!!", 3)]
    with engine.begin() as connection:
        for org_id, name, minutes in orgs:
            connection.execute(
                text("INSERT INTO organizations (id, name, created_at) VALUES (:i, :n, :t)"),
                {"i": org_id, "n": name, "t": T0 + timedelta(minutes=minutes)},
            )
        for ws_id, name, minutes in [
            ("w2", "Analytics", 1),
            ("w1", "analytics", 0),
            ("w3", "ANALYTICS", 2),
            ("w4", "etl", 0),
        ]:
            connection.execute(
                text(
                    "INSERT INTO workspaces (id, organization_id, name, created_at) "
                    "VALUES (:i, 'o1', :n, :t)"
                ),
                {"i": ws_id, "n": name, "t": T0 + timedelta(minutes=minutes)},
            )
    upgrade(empty_database)
    with engine.begin() as connection:
        slugs = dict(connection.execute(text("SELECT id, slug FROM organizations")).all())
        names = dict(connection.execute(text("SELECT id, name FROM workspaces")).all())
    assert slugs == {"o1": "acme", "o2": "acme-2", "o3": "acme-3", "o4": "org"}
    assert names == {"w1": "analytics", "w2": "Analytics-2", "w3": "ANALYTICS-3", "w4": "etl"}

    # The database itself now refuses both kinds of duplicate.
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO workspaces (id, organization_id, name, created_at) "
                "VALUES ('w5', 'o1', 'ETL', :t)"
            ),
            {"t": T0},
        )
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO organizations (id, name, slug, created_at) "
                "VALUES ('o5', 'Other', 'acme', :t)"
            ),
            {"t": T0},
        )
    engine.dispose()
