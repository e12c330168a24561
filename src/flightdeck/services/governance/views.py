"""What Owners and Admins read: the organization's policy changes and an account's
governance timeline."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from flightdeck.aws.policy_versions import PolicyCatalog, default_catalog
from flightdeck.db.models import (
    AwsAccount,
    AwsAccountEvent,
    AwsAccountPolicyState,
    RolePolicyChange,
    User,
)
from flightdeck.services.governance.access import require_owner_or_admin
from flightdeck.services.onboarding import get_account


@dataclass
class GovernanceView:
    latest_version: str
    accounts: list[tuple[AwsAccount, AwsAccountPolicyState | None]]
    changes: list[tuple[RolePolicyChange, str]]  # with the 12-digit account ID


def list_changes(
    session: Session,
    user: User,
    organization_id: str,
    *,
    catalog: PolicyCatalog | None = None,
    limit: int = 200,
) -> GovernanceView:
    """Pending and past policy changes of the organization's accounts, newest first."""
    require_owner_or_admin(session, user, organization_id)
    accounts = list(
        session.scalars(
            select(AwsAccount)
            .where(AwsAccount.organization_id == organization_id)
            .order_by(AwsAccount.created_at)
        )
    )
    rows = session.execute(
        select(RolePolicyChange, AwsAccount.account_id)
        .join(AwsAccount, AwsAccount.id == RolePolicyChange.aws_account_ref)
        .where(RolePolicyChange.organization_id == organization_id)
        .order_by(RolePolicyChange.created_at.desc())
        .limit(limit)
    ).all()
    return GovernanceView(
        latest_version=(catalog or default_catalog()).latest().version,
        accounts=[(a, session.get(AwsAccountPolicyState, a.id)) for a in accounts],
        changes=[(change, account_id) for change, account_id in rows],
    )


def account_events(
    session: Session, user: User, organization_id: str, ref: str, limit: int = 200
) -> tuple[AwsAccount, list[AwsAccountEvent]]:
    """An account's governance timeline, newest first."""
    require_owner_or_admin(session, user, organization_id)
    account = get_account(session, user, organization_id, ref)
    events = list(
        session.scalars(
            select(AwsAccountEvent)
            .where(AwsAccountEvent.aws_account_ref == account.id)
            .order_by(AwsAccountEvent.created_at.desc())
            .limit(limit)
        )
    )
    return account, events
