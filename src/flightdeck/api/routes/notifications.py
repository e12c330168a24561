"""The organization's notification outbox (Organization Owners)."""

from __future__ import annotations

from fastapi import APIRouter

from flightdeck.api.deps import CurrentUser, SessionDep
from flightdeck.api.errors import error_responses
from flightdeck.api.schemas import NotificationOut
from flightdeck.services import notifications

router = APIRouter(
    prefix="/organizations/{organization_id}/notifications",
    tags=["notifications"],
    responses=error_responses(401, 403, 404, 422),
)


@router.get("", response_model=list[NotificationOut])
def list_notifications(
    organization_id: str, user: CurrentUser, session: SessionDep
) -> list[NotificationOut]:
    return [
        NotificationOut.model_validate(n)
        for n in notifications.list_notifications(session, user, organization_id)
    ]
