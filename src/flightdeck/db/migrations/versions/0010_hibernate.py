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
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hibernated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("wake_at", UTC, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_column("wake_at")
        batch_op.drop_column("hibernated")
