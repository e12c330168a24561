"""API tokens of the signed-in user: created (shown once), listed, revoked."""

from __future__ import annotations

from fastapi import APIRouter, status

from flightdeck.api.deps import CurrentUser, SessionDep
from flightdeck.api.errors import error_responses
from flightdeck.api.schemas import TokenCreatedOut, TokenCreateIn, TokenOut
from flightdeck.services import auth

router = APIRouter(
    prefix="/tokens",
    tags=["tokens"],
    responses=error_responses(401),
)


@router.get("", response_model=list[TokenOut])
def list_tokens(user: CurrentUser, session: SessionDep) -> list[TokenOut]:
    return [TokenOut.model_validate(t) for t in auth.list_api_tokens(session, user)]


@router.post(
    "",
    responses=error_responses(422),
    status_code=status.HTTP_201_CREATED,
    response_model=TokenCreatedOut,
)
def create_token(body: TokenCreateIn, user: CurrentUser, session: SessionDep) -> TokenCreatedOut:
    issued = auth.create_api_token(session, user, body.name, body.expires_in_days)
    return TokenCreatedOut(
        **TokenOut.model_validate(issued.record).model_dump(), token=issued.secret
    )


@router.delete("/{token_id}", responses=error_responses(404, 422), response_model=TokenOut)
def revoke_token(token_id: str, user: CurrentUser, session: SessionDep) -> TokenOut:
    return TokenOut.model_validate(auth.revoke_api_token(session, user, token_id))
