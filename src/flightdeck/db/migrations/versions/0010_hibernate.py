"""hibernation: a Deployment's desired sleep and when it wakes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import flightdeck.db.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UTC = flightdeck.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    # Plain ALTER TABLEs, no batch copy: on SQLite, recreating `deployments` would fire the
    # ON DELETE CASCADEs of its deploys and timeline and empty them.
    op.add_column(
        "deployments",
        sa.Column("hibernated", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("deployments", sa.Column("wake_at", UTC, nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE deployments DROP COLUMN wake_at")  # SQLite 3.35+, PostgreSQL
    op.execute("ALTER TABLE deployments DROP COLUMN hibernated")
