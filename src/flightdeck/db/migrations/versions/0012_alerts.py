"""alerts: rules, channels, the events they fired (unique per rule) and the evaluator's rota;
the outbox learns HTTP transports

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 16:30:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import flightdeck.db.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UTC = flightdeck.db.types.UTCDateTime(timezone=True)


def _owned(table: str) -> list[Any]:
    return [
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f(f"fk_{table}_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def _created_by(table: str) -> list[Any]:
    return [
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f(f"fk_{table}_created_by_users"),
            ondelete="SET NULL",
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "alert_channels",
        *_owned("alert_channels"),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=2000), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=True),
        *_created_by("alert_channels"),
        sa.UniqueConstraint(
            "organization_id", "name", name=op.f("uq_alert_channels_organization_id")
        ),
    )
    op.create_index(
        op.f("ix_alert_channels_organization_id"), "alert_channels", ["organization_id"]
    )
    op.create_table(
        "alert_rules",
        *_owned("alert_rules"),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("workspace_id", sa.String(length=36), nullable=True),
        sa.Column("deployment_id", sa.String(length=36), nullable=True),
        sa.Column("dag_glob", sa.String(length=250), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("deadline", sa.String(length=5), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("channel_ids", sa.JSON(), nullable=False),
        *_created_by("alert_rules"),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_alert_rules_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_alert_rules_deployment_id_deployments"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("organization_id", "name", name=op.f("uq_alert_rules_organization_id")),
    )
    op.create_index(op.f("ix_alert_rules_organization_id"), "alert_rules", ["organization_id"])
    op.create_table(
        "alert_events",
        *_owned("alert_events"),
        sa.Column("rule_id", sa.String(length=36), nullable=False),
        sa.Column("deployment_id", sa.String(length=36), nullable=True),
        sa.Column("event_key", sa.String(length=500), nullable=False),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name=op.f("fk_alert_events_rule_id_alert_rules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_alert_events_deployment_id_deployments"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("rule_id", "event_key", name=op.f("uq_alert_events_rule_id")),
    )
    op.create_index(op.f("ix_alert_events_organization_id"), "alert_events", ["organization_id"])
    op.create_table(
        "alert_watches",
        sa.Column("deployment_id", sa.String(length=36), nullable=False),
        sa.Column("next_check_at", UTC, nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", UTC, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("checked_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_alert_watches_deployment_id_deployments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("deployment_id", name=op.f("pk_alert_watches")),
    )
    op.create_index("ix_alert_watches_due", "alert_watches", ["next_check_at"])
    # Plain ALTER TABLEs on the outbox (no batch copy).
    op.add_column(
        "notifications",
        sa.Column("transport", sa.String(length=20), nullable=False, server_default="email"),
    )
    op.add_column("notifications", sa.Column("channel_id", sa.String(length=36), nullable=True))
    op.add_column("notifications", sa.Column("alert_id", sa.String(length=36), nullable=True))
    op.create_index(op.f("ix_notifications_alert_id"), "notifications", ["alert_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_notifications_alert_id"), table_name="notifications")
    for column in ("alert_id", "channel_id", "transport"):
        op.execute(f"ALTER TABLE notifications DROP COLUMN {column}")  # SQLite 3.35+, PostgreSQL
    op.drop_index("ix_alert_watches_due", table_name="alert_watches")
    op.drop_table("alert_watches")
    op.drop_index(op.f("ix_alert_events_organization_id"), table_name="alert_events")
    op.drop_table("alert_events")
    op.drop_index(op.f("ix_alert_rules_organization_id"), table_name="alert_rules")
    op.drop_table("alert_rules")
    op.drop_index(op.f("ix_alert_channels_organization_id"), table_name="alert_channels")
    op.drop_table("alert_channels")
