"""Governance of the cross-account role: policy changes and each account's timeline
(Organization Owners and Workspace Admins)."""

from __future__ import annotations

from fastapi import APIRouter

from flightdeck.api.deps import CurrentUser, SessionDep
from flightdeck.api.errors import error_responses
from flightdeck.api.schemas import (
    AccountEventOut,
    AccountPolicyOut,
    PolicyChangeOut,
    PolicyChangesOut,
    RoleDriftOut,
)
from flightdeck.db.models import RolePolicyChange
from flightdeck.services.governance import views as governance

router = APIRouter(
    prefix="/organizations/{organization_id}/aws",
    tags=["aws"],
    responses=error_responses(401, 403, 404, 422),
)


@router.get("/policy-changes", response_model=PolicyChangesOut)
def policy_changes(
    organization_id: str, user: CurrentUser, session: SessionDep
) -> PolicyChangesOut:
    """Pending and past changes of the role policy, newest first, and each account's
    version in force and current drift."""
    view = governance.list_changes(session, user, organization_id)
    return PolicyChangesOut(
        latest_version=view.latest_version,
        accounts=[
            AccountPolicyOut(
                id=account.id,
                account_id=account.account_id,
                policy_version=state.policy_version if state else None,
                checked_at=state.checked_at if state else None,
                drift=[
                    RoleDriftOut(key=str(f["key"]), message=str(f["message"]))
                    for f in (state.drift if state else [])
                ],
                last_error=state.last_error if state else None,
            )
            for account, state in view.accounts
        ],
        changes=[_change_out(change, account_id) for change, account_id in view.changes],
    )


@router.get("/accounts/{account}/events", response_model=list[AccountEventOut])
def account_events(
    organization_id: str, account: str, user: CurrentUser, session: SessionDep
) -> list[AccountEventOut]:
    """The account's governance timeline: versions recorded, noticed, applied; drift."""
    _, events = governance.account_events(session, user, organization_id, account)
    return [AccountEventOut.model_validate(event) for event in events]


def _change_out(change: RolePolicyChange, account_id: str) -> PolicyChangeOut:
    fields = {
        name: getattr(change, name) for name in PolicyChangeOut.model_fields if name != "account_id"
    }
    return PolicyChangeOut.model_validate({**fields, "account_id": account_id})
