"""organization identity providers (OpenID Connect) and sign-ins in flight

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import flightdeck.db.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UTC = flightdeck.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "identity_providers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=500), nullable=False),
        sa.Column("client_secret_sealed", sa.Text(), nullable=False),
        sa.Column("default_role", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_identity_providers_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_providers")),
    )
    with op.batch_alter_table("identity_providers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_providers_organization_id"), ["organization_id"], unique=False
        )
    op.create_table(
        "identity_provider_domains",
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["identity_providers.id"],
            name=op.f("fk_identity_provider_domains_provider_id_identity_providers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("domain", name=op.f("pk_identity_provider_domains")),
    )
    with op.batch_alter_table("identity_provider_domains", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_provider_domains_provider_id"), ["provider_id"], unique=False
        )
    op.create_table(
        "sso_logins",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("code_verifier_sealed", sa.Text(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=1000), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["identity_providers.id"],
            name=op.f("fk_sso_logins_provider_id_identity_providers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_logins")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_sso_logins_state_hash")),
    )
    with op.batch_alter_table("sso_logins", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sso_logins_provider_id"), ["provider_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sso_logins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sso_logins_provider_id"))
    op.drop_table("sso_logins")
    with op.batch_alter_table("identity_provider_domains", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_provider_domains_provider_id"))
    op.drop_table("identity_provider_domains")
    with op.batch_alter_table("identity_providers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_providers_organization_id"))
    op.drop_table("identity_providers")
