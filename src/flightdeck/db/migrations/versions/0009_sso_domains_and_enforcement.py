"""single sign-on, part two: domains verified by DNS TXT, claim-to-role mapping,
enforced SSO with break-glass Owners, the CLI's browser login, GitHub and Google sign-in

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 13:30:00

Domains claimed before this revision were routed on an Owner's word: they come out of it
unverified, each with a fresh TXT value, and route sign-ins again once verified.
"""

from __future__ import annotations

import secrets
import warnings

import sqlalchemy as sa
from alembic import op

import flightdeck.db.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UTC = flightdeck.db.types.UTCDateTime(timezone=True)
VERIFIED = "verified_at IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "cli_login_codes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("redirect_uri", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_cli_login_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cli_login_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_cli_login_codes_code_hash")),
    )
    with op.batch_alter_table("cli_login_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cli_login_codes_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("sso_logins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("return_to", sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column("platform", sa.String(length=20), nullable=True))
        batch_op.alter_column("provider_id", existing_type=sa.String(length=36), nullable=True)
    # Plain ALTER TABLEs, no batch copy: on SQLite, recreating `organizations` would fire
    # the ON DELETE CASCADEs of every table that points to it and empty them.
    op.add_column(
        "organizations",
        sa.Column("sso_enforced", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "organization_memberships",
        sa.Column("break_glass", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    with op.batch_alter_table("identity_providers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "groups_claim", sa.String(length=100), nullable=False, server_default="groups"
            )
        )
        batch_op.add_column(
            sa.Column("role_mapping", sa.JSON(), nullable=False, server_default="[]")
        )
    # SQLite's copy-table reflects the old one-column key and warns that the new one differs:
    # changing it is the point, so a new installation's first `flightdeck server` does not warn.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Table '_alembic_tmp_", sa.exc.SAWarning)
        _change_domain_key()
    connection = op.get_bind()
    domains = sa.table(
        "identity_provider_domains",
        sa.column("provider_id", sa.String),
        sa.column("domain", sa.String),
        sa.column("verification_token", sa.String),
    )
    for provider_id, domain in connection.execute(
        sa.select(domains.c.provider_id, domains.c.domain)
    ).all():
        connection.execute(
            domains.update()
            .where(domains.c.provider_id == provider_id, domains.c.domain == domain)
            .values(verification_token=secrets.token_urlsafe(24))
        )
    with op.batch_alter_table("identity_provider_domains", schema=None) as batch_op:
        batch_op.alter_column(
            "verification_token", existing_type=sa.String(length=64), nullable=False
        )
        batch_op.create_index(
            "uq_identity_provider_domains_verified_domain",
            ["domain"],
            unique=True,
            sqlite_where=sa.text(VERIFIED),
            postgresql_where=sa.text(VERIFIED),
        )


def _change_domain_key() -> None:
    with op.batch_alter_table("identity_provider_domains", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verification_token", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("verified_at", UTC, nullable=True))
        batch_op.drop_index(batch_op.f("ix_identity_provider_domains_provider_id"))
        if op.get_bind().dialect.name != "sqlite":
            batch_op.drop_constraint("pk_identity_provider_domains", type_="primary")
        batch_op.create_primary_key("pk_identity_provider_domains", ["provider_id", "domain"])


def downgrade() -> None:
    op.execute("DELETE FROM sso_logins WHERE provider_id IS NULL")
    with op.batch_alter_table("sso_logins", schema=None) as batch_op:
        batch_op.alter_column("provider_id", existing_type=sa.String(length=36), nullable=False)
        batch_op.drop_column("platform")
        batch_op.drop_column("return_to")
    with op.batch_alter_table("cli_login_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cli_login_codes_user_id"))
    op.drop_table("cli_login_codes")
    connection = op.get_bind()
    # One organization per domain again: keep the verified claim, else any one.
    connection.execute(
        sa.text(
            "DELETE FROM identity_provider_domains WHERE verified_at IS NULL AND domain IN "
            "(SELECT domain FROM identity_provider_domains GROUP BY domain HAVING COUNT(*) > 1)"
        )
    )
    with op.batch_alter_table("identity_provider_domains", schema=None) as batch_op:
        batch_op.drop_index("uq_identity_provider_domains_verified_domain")
        if connection.dialect.name != "sqlite":
            batch_op.drop_constraint("pk_identity_provider_domains", type_="primary")
        batch_op.create_primary_key("pk_identity_provider_domains", ["domain"])
        batch_op.create_index(
            batch_op.f("ix_identity_provider_domains_provider_id"), ["provider_id"], unique=False
        )
        batch_op.drop_column("verified_at")
        batch_op.drop_column("verification_token")
    with op.batch_alter_table("identity_providers", schema=None) as batch_op:
        batch_op.drop_column("role_mapping")
        batch_op.drop_column("groups_claim")
    op.execute("ALTER TABLE organization_memberships DROP COLUMN break_glass")  # no copy
    op.execute("ALTER TABLE organizations DROP COLUMN sso_enforced")  # SQLite 3.35+, PostgreSQL
