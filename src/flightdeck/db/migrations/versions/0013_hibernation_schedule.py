"""hibernation schedule: development Deployments, and the cron times they sleep and wake

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import flightdeck.db.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UTC = flightdeck.db.types.UTCDateTime(timezone=True)
COLUMNS = ("schedule_applied_at", "schedule_timezone", "wake_cron", "hibernate_cron")


def upgrade() -> None:
    # Plain ALTER TABLEs, no batch copy: on SQLite, recreating `deployments` would fire the
    # ON DELETE CASCADEs of its deploys and timeline and empty them.
    op.add_column(
        "deployments",
        sa.Column("is_development", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("deployments", sa.Column("hibernate_cron", sa.String(100), nullable=True))
    op.add_column("deployments", sa.Column("wake_cron", sa.String(100), nullable=True))
    op.add_column("deployments", sa.Column("schedule_timezone", sa.String(64), nullable=True))
    op.add_column("deployments", sa.Column("schedule_applied_at", UTC, nullable=True))


def downgrade() -> None:
    for column in (*COLUMNS, "is_development"):  # SQLite 3.35+, PostgreSQL
        op.execute(f"ALTER TABLE deployments DROP COLUMN {column}")
