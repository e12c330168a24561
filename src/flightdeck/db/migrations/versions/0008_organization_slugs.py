"""organization slugs; workspace names unique per organization ignoring case

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 13:30:00

Existing organizations get a slug from their name, oldest first (created_at, then id), a
taken one the first free ``-2``, ``-3``... suffix: the same rows give the same slugs on
every database. Workspaces whose names differ only in case are renamed the same way
(``analytics``, ``Analytics-2``), oldest kept, before the unique index is built.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Frozen copy of services/slugs.py at this revision: a migration must not change meaning
# when the application code does.
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_RECORD_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _slugify(name: str) -> str:
    slug = _NOT_ALNUM.sub("-", name.strip().lower()).strip("-")[:40].strip("-")
    return slug if slug and not _RECORD_ID.match(slug) else "org"


def _first_free(base: str, taken: set[str], key: str = "") -> str:
    candidate, number = base, 2
    while (candidate.lower() if key == "lower" else candidate) in taken:
        candidate = f"{base}-{number}"
        number += 1
    return candidate


def _backfill_slugs(connection: sa.Connection) -> None:
    organizations = sa.table(
        "organizations", sa.column("id"), sa.column("name"), sa.column("slug"),
        sa.column("created_at"),
    )  # fmt: skip
    rows = connection.execute(
        sa.select(organizations.c.id, organizations.c.name).order_by(
            organizations.c.created_at, organizations.c.id
        )
    ).all()
    taken: set[str] = set()
    for org_id, name in rows:
        slug = _first_free(_slugify(name), taken)
        taken.add(slug)
        connection.execute(
            organizations.update().where(organizations.c.id == org_id).values(slug=slug)
        )


def _rename_case_duplicates(connection: sa.Connection) -> None:
    workspaces = sa.table(
        "workspaces", sa.column("id"), sa.column("organization_id"), sa.column("name"),
        sa.column("created_at"),
    )  # fmt: skip
    rows = connection.execute(
        sa.select(workspaces.c.id, workspaces.c.organization_id, workspaces.c.name).order_by(
            workspaces.c.organization_id, workspaces.c.created_at, workspaces.c.id
        )
    ).all()
    taken: dict[str, set[str]] = {}
    for workspace_id, organization_id, name in rows:
        seen = taken.setdefault(organization_id, set())
        stripped = name.strip()
        fresh = _first_free(stripped, seen, key="lower")
        seen.add(fresh.lower())
        if fresh != name:
            connection.execute(
                workspaces.update().where(workspaces.c.id == workspace_id).values(name=fresh)
            )


def upgrade() -> None:
    # Plain ALTER TABLEs, no batch copy: on SQLite, recreating `organizations` would fire
    # its ON DELETE CASCADEs and empty every table that points to it.
    op.add_column(
        "organizations",
        sa.Column("slug", sa.String(length=80), nullable=False, server_default=""),
    )
    connection = op.get_bind()
    _backfill_slugs(connection)
    _rename_case_duplicates(connection)
    if connection.dialect.name != "sqlite":  # SQLite cannot drop a column default in place
        op.alter_column("organizations", "slug", server_default=None)
    op.create_index("ix_organizations_slug", "organizations", ["slug"], unique=True)
    op.create_index(
        "uq_workspaces_organization_id_lower_name",
        "workspaces",
        ["organization_id", sa.text("lower(name)")],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_workspaces_organization_id_lower_name", table_name="workspaces")
    op.drop_index("ix_organizations_slug", table_name="organizations")
    op.execute("ALTER TABLE organizations DROP COLUMN slug")  # SQLite 3.35+, PostgreSQL
