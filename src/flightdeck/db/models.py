"""The control plane's tables.

Secrets live in their own tables (external IDs, token and session hashes) so that a
model serialised into a response can never carry them by accident.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, relationship

from flightdeck.db.types import UTCDateTime, new_id, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    # Unique across the installation, so `--org acme` names one organization whatever the
    # display names; set once from the name at creation (services/slugs.py).
    slug: Mapped[str] = mapped_column(String(80), unique=True, index=True)
    # Members sign in through the organization's identity provider only (break-glass
    # Owners excepted): services.sso_enforcement.
    sso_enforced: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrganizationExternalId(Base):
    """One AWS external ID per organization. Rows are never deleted, so a value is never reused."""

    __tablename__ = "organization_external_ids"

    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), primary_key=True
    )
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrganizationMembership(Base):
    __tablename__ = "organization_memberships"
    __table_args__ = (UniqueConstraint("organization_id", "user_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # owner | member
    # An Owner whose password still signs in while SSO is enforced (audited each time).
    break_glass: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class Workspace(Base):
    __tablename__ = "workspaces"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Names are stored stripped (services/validation.py), so lower(name) is "ignoring case and
# surrounding spaces"; SQLite and PostgreSQL both index the expression.
Index(
    "uq_workspaces_organization_id_lower_name",
    Workspace.organization_id,
    func.lower(Workspace.name),
    unique=True,
)


class WorkspaceMembership(Base):
    __tablename__ = "workspace_memberships"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # admin | member
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class Invitation(Base):
    """A pending invitation for an email address: one with no account yet signs up with its
    token; an existing account accepts it while signed in. Owners may revoke it while open."""

    __tablename__ = "invitations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    workspace_id: Mapped[str | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="SET NULL"), default=None
    )
    workspace_role: Mapped[str | None] = mapped_column(String(20), default=None)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class SignUpRequest(Base):
    """A sign-up waiting for its email address to be verified. No account exists until the
    link mailed to the address is used, so nobody can hold an address they do not read."""

    __tablename__ = "sign_up_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    organization_name: Mapped[str | None] = mapped_column(String(100), default=None)
    invitation_id: Mapped[str | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="SET NULL"), default=None
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class SignInThrottle(Base):
    """Failed sign-ins counted per key (``account:<email>`` or ``address:<ip>``): past a few,
    each failure closes the door for a growing, capped time."""

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class BrowserSession(Base):
    __tablename__ = "browser_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    # For the idle timeout; written at most once a minute.
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_org_created", "organization_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), default=None
    )
    actor_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AwsAccount(Base):
    """A customer (or, in hosted mode, platform-owned) AWS account and its cross-account role."""

    __tablename__ = "aws_accounts"
    __table_args__ = (UniqueConstraint("organization_id", "account_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(String(12))
    role_arn: Mapped[str] = mapped_column(String(2048))
    hosted: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), default="registered")
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    verified_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Cluster(Base):
    """A data plane in one AWS account and region: what was asked (spec) and what is (status)."""

    __tablename__ = "clusters"
    __table_args__ = (Index("ix_clusters_due", "phase", "next_reconcile_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    aws_account_ref: Mapped[str] = mapped_column(
        ForeignKey("aws_accounts.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(32))
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[dict[str, Any]] = mapped_column(default=dict)
    phase: Mapped[str] = mapped_column(String(20), default="Pending")
    desired_state: Mapped[str] = mapped_column(String(20), default="present")
    generation: Mapped[int] = mapped_column(default=1)
    observed_generation: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    next_reconcile_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ClusterEvent(Base):
    """One line of a cluster's timeline; kept after the cluster is deleted."""

    __tablename__ = "cluster_events"
    __table_args__ = (Index("ix_cluster_events_cluster_created", "cluster_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(50), default="")
    action: Mapped[str] = mapped_column(String(30), default="")
    resource: Mapped[str] = mapped_column(String(200), default="")
    aws_id: Mapped[str | None] = mapped_column(String(2048), default=None)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClusterPeering(Base):
    """A VPC peering from a cluster's VPC to a customer VPC: what was asked (``spec``, the
    validated request) and what is (``status``, the AWS ids and the peering's state)."""

    __tablename__ = "cluster_peerings"
    __table_args__ = (Index("ix_cluster_peerings_cluster", "cluster_id", "phase"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # requested | pending-acceptance | active | failed | expired | deleting | deleted
    phase: Mapped[str] = mapped_column(String(20), default="requested")
    desired_state: Mapped[str] = mapped_column(String(20), default="present")
    aws_peering_id: Mapped[str | None] = mapped_column(String(64), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Notification(Base):
    """The email outbox: written in the same transaction as the event it reports, sent later,
    retried until delivered, so nothing is lost while SMTP is down."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True, default=None
    )
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(50), default="")
    # How it leaves: "email" by SMTP, or an alert channel's HTTP transport (webhook, slack,
    # pagerduty; ``channel_id`` says where, ``recipient`` shows it without its secret).
    transport: Mapped[str] = mapped_column(String(20), default="email")
    # Plain columns, no foreign keys: SQLite can then add and drop them without copying the
    # table; a delivery whose channel was deleted fails with that reason.
    channel_id: Mapped[str | None] = mapped_column(String(36), default=None)
    alert_id: Mapped[str | None] = mapped_column(String(36), index=True, default=None)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Deployment(Base):
    """An Airflow installation on a cluster, reconciled by the deployment worker.

    ``spec`` is what the user asked (never secret values); secret environment variables are
    sealed in ``secret_environment`` and only ever unsealed for the runtime.
    """

    __tablename__ = "deployments"
    __table_args__ = (Index("ix_deployments_due", "phase", "next_reconcile_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="RESTRICT"), index=True
    )
    cluster_id: Mapped[str] = mapped_column(
        ForeignKey("clusters.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    runtime: Mapped[str] = mapped_column(String(20))
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secret_environment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[dict[str, Any]] = mapped_column(default=dict)
    phase: Mapped[str] = mapped_column(String(20), default="Creating")
    desired_state: Mapped[str] = mapped_column(String(20), default="present")
    generation: Mapped[int] = mapped_column(default=1)
    observed_generation: Mapped[int] = mapped_column(default=0)
    current_deploy_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # Desired sleep (services/deployments/requests.py): the worker stops its Airflow while
    # ``hibernated``, and wakes it once ``wake_at`` (if any) has passed.
    hibernated: Mapped[bool] = mapped_column(default=False)
    wake_at: Mapped[datetime | None] = mapped_column(default=None)
    # A development Deployment may sleep on a schedule (services/deployments/schedule.py):
    # two cron expressions in one IANA time zone; ``schedule_applied_at`` is the last
    # scheduled change the worker applied, so each one is applied once.
    is_development: Mapped[bool] = mapped_column(default=False)
    hibernate_cron: Mapped[str | None] = mapped_column(String(100), default=None)
    wake_cron: Mapped[str | None] = mapped_column(String(100), default=None)
    schedule_timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    schedule_applied_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    next_reconcile_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DeploymentEvent(Base):
    """One line of a Deployment's timeline (what happened to it, and why)."""

    __tablename__ = "deployment_events"
    __table_args__ = (
        Index("ix_deployment_events_deployment_created", "deployment_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Deploy(Base):
    """One code upload to a Deployment: checked, then switched to, or rejected with reasons."""

    __tablename__ = "deploys"
    __table_args__ = (Index("ix_deploys_deployment_created", "deployment_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10), default="dags")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(String(500), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    errors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    bundle: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, default=None))
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class AwsAccountPolicyState(Base):
    """Governance bookkeeping of one account's cross-account role: the policy version in force
    (read from the role at verification, then moved only by applied changes), when the role
    was last compared with what it should be, and the drift last reported, so each distinct
    out-of-band change is reported once. Its own table keeps ``aws_accounts`` untouched."""

    __tablename__ = "aws_account_policy_states"
    __table_args__ = (Index("ix_aws_account_policy_states_due", "next_check_at"),)

    aws_account_ref: Mapped[str] = mapped_column(
        ForeignKey("aws_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    policy_version: Mapped[str | None] = mapped_column(String(40), default=None)
    checked_at: Mapped[datetime | None] = mapped_column(default=None)
    next_check_at: Mapped[datetime] = mapped_column(default=utcnow)
    drift_fingerprint: Mapped[str | None] = mapped_column(String(64), default=None)
    drift: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)


class RolePolicyChange(Base):
    """Moving one account's managed policy from the version in force to a published one.

    An expanding change waits in ``pending-notice`` until every Organization Owner's notice
    was delivered, then is ``scheduled`` for ``effective_at`` (last delivery + 14 days); a
    reducing change is applied at once. ``superseded`` when a newer version replaced it.
    """

    __tablename__ = "role_policy_changes"
    __table_args__ = (
        Index("ix_role_policy_changes_account_created", "aws_account_ref", "created_at"),
        Index("ix_role_policy_changes_due", "status", "effective_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    aws_account_ref: Mapped[str] = mapped_column(ForeignKey("aws_accounts.id", ondelete="CASCADE"))
    from_version: Mapped[str | None] = mapped_column(String(40), default=None)
    to_version: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))  # expands | reduces
    summary: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    diff: Mapped[str] = mapped_column(Text, default="")
    example: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    statement: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    status: Mapped[str] = mapped_column(String(20))
    notice_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    notice_completed_at: Mapped[datetime | None] = mapped_column(default=None)
    effective_at: Mapped[datetime | None] = mapped_column(default=None)
    applied_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AwsAccountEvent(Base):
    """One line of an AWS account's timeline: policy changes applied or failed, drift found
    and resolved."""

    __tablename__ = "aws_account_events"
    __table_args__ = (
        Index("ix_aws_account_events_account_created", "aws_account_ref", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    aws_account_ref: Mapped[str] = mapped_column(ForeignKey("aws_accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdentityProvider(Base):
    """An organization's OpenID Connect provider; the client secret is sealed, never shown."""

    __tablename__ = "identity_providers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(500))
    client_secret_sealed: Mapped[str] = mapped_column(Text)
    default_role: Mapped[str] = mapped_column(String(20))  # owner | member
    # The ID token claim listing the user's groups, and rules mapping groups to roles
    # (services.sso_roles): applied at every sign-in.
    groups_claim: Mapped[str] = mapped_column(String(100), default="groups")
    role_mapping: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    domains: Mapped[list[IdentityProviderDomain]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="IdentityProviderDomain.domain"
    )


class IdentityProviderDomain(Base):
    """An email domain an organization's provider claims. It routes sign-ins only once the
    DNS TXT record proves the organization controls it; several organizations may claim a
    domain, one at most verifies it (the partial unique index)."""

    __tablename__ = "identity_provider_domains"
    __table_args__ = (
        Index(
            "uq_identity_provider_domains_verified_domain",
            "domain",
            unique=True,
            sqlite_where=text("verified_at IS NOT NULL"),
            postgresql_where=text("verified_at IS NOT NULL"),
        ),
    )

    provider_id: Mapped[str] = mapped_column(
        ForeignKey("identity_providers.id", ondelete="CASCADE"), primary_key=True
    )
    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    # The value the Owner publishes; random, so another organization cannot predict it.
    verification_token: Mapped[str] = mapped_column(String(64))
    verified_at: Mapped[datetime | None] = mapped_column(default=None)


class SsoLogin(Base):
    """One sign-in in flight: ``state`` and ``nonce`` hashed, the PKCE verifier sealed."""

    __tablename__ = "sso_logins"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # An organization's provider, or none for a platform sign-in (``platform``).
    provider_id: Mapped[str | None] = mapped_column(
        ForeignKey("identity_providers.id", ondelete="CASCADE"), index=True, default=None
    )
    platform: Mapped[str | None] = mapped_column(String(20), default=None)  # github | google
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce_hash: Mapped[str] = mapped_column(String(64))
    code_verifier_sealed: Mapped[str] = mapped_column(Text)
    redirect_uri: Mapped[str] = mapped_column(String(1000))
    # Where the browser goes once signed in (a path on this site; e.g. a CLI login).
    return_to: Mapped[str | None] = mapped_column(String(2000), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class CliLoginCode(Base):
    """A browser sign-in handed to `flightdeck login` on its loopback redirect (RFC 8252):
    the code is stored hashed, used once, and only with the PKCE verifier of its challenge."""

    __tablename__ = "cli_login_codes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_challenge: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class AlertChannel(Base):
    """Where alerts go. ``target`` is what may be shown (an address, a URL without its
    secret part); ``secret_sealed`` holds the signing secret, the Slack URL or the PagerDuty
    routing key, sealed under FLIGHTDECK_SECRET_KEY."""

    __tablename__ = "alert_channels"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(2000))
    secret_sealed: Mapped[str | None] = deferred(mapped_column(Text, default=None))
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertRule(Base):
    """What to alert on (services/alerts/kinds.py), where (the organization, one workspace or
    one Deployment) and to which channels."""

    __tablename__ = "alert_rules"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))
    workspace_id: Mapped[str | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), default=None
    )
    deployment_id: Mapped[str | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), default=None
    )
    dag_glob: Mapped[str] = mapped_column(String(250), default="*")
    minutes: Mapped[int | None] = mapped_column(default=None)
    deadline: Mapped[str | None] = mapped_column(String(5), default=None)
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    channel_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertEvent(Base):
    """One thing a rule alerted on. ``(rule_id, event_key)`` is unique: the database, not a
    worker's memory, is what makes an event alert once across restarts and workers."""

    __tablename__ = "alert_events"
    __table_args__ = (UniqueConstraint("rule_id", "event_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    rule_id: Mapped[str] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    deployment_id: Mapped[str | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), default=None
    )
    event_key: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertWatch(Base):
    """A Deployment's place in the alert evaluator's rota, leased like the other workers'."""

    __tablename__ = "alert_watches"
    __table_args__ = (Index("ix_alert_watches_due", "next_check_at"),)

    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True
    )
    next_check_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    checked_at: Mapped[datetime | None] = mapped_column(default=None)
