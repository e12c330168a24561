"""policy governance: per-account policy state, role policy changes, account timeline

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import flightdeck.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC = flightdeck.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "aws_account_policy_states",
        sa.Column("aws_account_ref", sa.String(length=36), nullable=False),
        sa.Column("policy_version", sa.String(length=40), nullable=True),
        sa.Column("checked_at", UTC, nullable=True),
        sa.Column("next_check_at", UTC, nullable=False),
        sa.Column("drift_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("drift", sa.JSON(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["aws_account_ref"],
            ["aws_accounts.id"],
            name=op.f("fk_aws_account_policy_states_aws_account_ref_aws_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("aws_account_ref", name=op.f("pk_aws_account_policy_states")),
    )
    with op.batch_alter_table("aws_account_policy_states", schema=None) as batch_op:
        batch_op.create_index("ix_aws_account_policy_states_due", ["next_check_at"], unique=False)

    op.create_table(
        "role_policy_changes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("aws_account_ref", sa.String(length=36), nullable=False),
        sa.Column("from_version", sa.String(length=40), nullable=True),
        sa.Column("to_version", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.Column("example", sa.JSON(), nullable=True),
        sa.Column("statement", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("notice_ids", sa.JSON(), nullable=False),
        sa.Column("notice_completed_at", UTC, nullable=True),
        sa.Column("effective_at", UTC, nullable=True),
        sa.Column("applied_at", UTC, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["aws_account_ref"],
            ["aws_accounts.id"],
            name=op.f("fk_role_policy_changes_aws_account_ref_aws_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_role_policy_changes_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_policy_changes")),
    )
    with op.batch_alter_table("role_policy_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_role_policy_changes_account_created",
            ["aws_account_ref", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_role_policy_changes_due", ["status", "effective_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_role_policy_changes_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "aws_account_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("aws_account_ref", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["aws_account_ref"],
            ["aws_accounts.id"],
            name=op.f("fk_aws_account_events_aws_account_ref_aws_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_aws_account_events_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aws_account_events")),
    )
    with op.batch_alter_table("aws_account_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_aws_account_events_account_created",
            ["aws_account_ref", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_aws_account_events_organization_id"), ["organization_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("aws_account_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aws_account_events_organization_id"))
        batch_op.drop_index("ix_aws_account_events_account_created")
    op.drop_table("aws_account_events")

    with op.batch_alter_table("role_policy_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_role_policy_changes_organization_id"))
        batch_op.drop_index("ix_role_policy_changes_due")
        batch_op.drop_index("ix_role_policy_changes_account_created")
    op.drop_table("role_policy_changes")

    with op.batch_alter_table("aws_account_policy_states", schema=None) as batch_op:
        batch_op.drop_index("ix_aws_account_policy_states_due")
    op.drop_table("aws_account_policy_states")
