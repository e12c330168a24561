"""a timeline per Deployment

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 13:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import flightdeck.db.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC = flightdeck.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "deployment_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("deployment_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_deployment_events_deployment_id_deployments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment_events")),
    )
    op.create_index(
        "ix_deployment_events_deployment_created",
        "deployment_events",
        ["deployment_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_deployment_events_deployment_created", table_name="deployment_events")
    op.drop_table("deployment_events")
