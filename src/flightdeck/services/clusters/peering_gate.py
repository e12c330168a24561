"""Whether an account's role may make peerings yet, and if not, when and why.

The peering pass's actions are granted from policy version ``PEERING_POLICY_VERSION`` on.
That version expands the role, so it takes effect only 14 days after every Organization
Owner was told (docs/governance.md). Until it is in force on the account, a peering
request is refused with one line that gives the date it becomes possible and the reason,
rather than recorded and left to fail on AWS's AccessDenied.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from flightdeck.aws.permissions import PEERING_POLICY_VERSION
from flightdeck.aws.policy_versions import NOTICE_PERIOD, CatalogError, version_key
from flightdeck.db.models import AwsAccount, AwsAccountPolicyState, RolePolicyChange
from flightdeck.phases import ACTIVE_POLICY_CHANGE_STATUSES, PolicyChangeStatus


def _grants_peering(version: str | None) -> bool:
    if version is None:
        return False
    try:
        return version_key(version) >= version_key(PEERING_POLICY_VERSION)
    except CatalogError:
        return False


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they are stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _day(moment: datetime) -> str:
    return f"{_aware(moment):%Y-%m-%d %H:%M} UTC"


def peering_refusal(session: Session, account: AwsAccount, now: datetime) -> str | None:
    """``None`` when the version in force grants peering; otherwise the one-line refusal."""
    state = session.get(AwsAccountPolicyState, account.id)
    in_force = state.policy_version if state is not None else None
    if _grants_peering(in_force):
        return None
    change = next(
        (
            c
            for c in session.scalars(
                select(RolePolicyChange)
                .where(
                    RolePolicyChange.aws_account_ref == account.id,
                    RolePolicyChange.status.in_(ACTIVE_POLICY_CHANGE_STATUSES),
                )
                .order_by(RolePolicyChange.created_at.desc())
            )
            if _grants_peering(c.to_version)
        ),
        None,
    )
    if change is not None and change.status == PolicyChangeStatus.SCHEDULED:
        assert change.effective_at is not None
        if _aware(change.effective_at) > now:
            when = f"possible from {_day(change.effective_at)}"
        else:
            when = "possible within minutes: the version is due and being installed"
    elif change is not None and change.status == PolicyChangeStatus.FAILED:
        when = f"possible once version {change.to_version} is installed ({change.last_error})"
    else:
        # Pending notice, or governance has not read the role yet: 14 days from now at best.
        when = f"possible no sooner than {_day(now + NOTICE_PERIOD)}"
    held = f"it holds version {in_force}" if in_force else "its version is not known yet"
    return (
        f"peering on account {account.account_id} is {when}: the role's policy grants the "
        f"peering actions from version {PEERING_POLICY_VERSION} on and {held}; a version that "
        f"expands access takes effect {NOTICE_PERIOD.days} days after every Organization "
        "Owner received its notice (docs/governance.md)"
    )
