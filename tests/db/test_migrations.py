"""Migrations build the schema the models describe, from empty, and tear it down again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from flightdeck.db.engine import make_engine
from flightdeck.db.migrate import current_revision, downgrade, upgrade
from flightdeck.db.models import Base
from support.database import POSTGRES_ADMIN_URL


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"flightdeck_migrations_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_from_empty_matches_models_and_downgrades_cleanly(empty_database: str) -> None:
    upgrade(empty_database)
    assert current_revision(empty_database) is not None
    assert _tables(empty_database) == set(Base.metadata.tables)

    engine = make_engine(empty_database)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"

    downgrade(empty_database, "base")
    assert _tables(empty_database) == set()
    assert current_revision(empty_database) is None

    upgrade(empty_database)
    assert _tables(empty_database) == set(Base.metadata.tables)
