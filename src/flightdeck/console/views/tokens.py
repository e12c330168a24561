"""The signed-in person's API tokens: create (the value shown once, with Copy), list, revoke."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from flightdeck.console import data
from flightdeck.console.pages import DbDep, FormDep, UserDep, field, redirect, render

router = APIRouter(prefix="/account/tokens")


def _page(
    request: Request, user: data.User, session: DbDep, *, status: int = 200, **extra: Any
) -> Response:
    return render(
        request,
        "tokens.html",
        status=status,
        user=user,
        section="tokens",
        title="API tokens",
        tokens=data.auth.list_api_tokens(session, user),
        **extra,
    )


@router.get("")
def tokens(request: Request, user: UserDep, session: DbDep) -> Response:
    return _page(request, user, session)


@router.post("")
def create_token(request: Request, user: UserDep, session: DbDep, form: FormDep) -> Response:
    name = field(form, "name")
    days = field(form, "expires_in_days")
    try:
        expires = int(days) if days else None
    except ValueError:
        expires = 0  # refused below with the field named
    try:
        issued = data.auth.create_api_token(session, user, name, expires)
    except data.InvalidInput as exc:
        return _page(
            request,
            user,
            session,
            status=422,
            error=exc.message,
            values={"name": name, "expires_in_days": days},
        )
    return _page(request, user, session, new_token=issued.secret, new_token_name=name)


@router.post("/{token_id}/revoke")
def revoke_token(
    token_id: str, request: Request, user: UserDep, session: DbDep, form: FormDep
) -> Response:
    del form
    data.auth.revoke_api_token(session, user, token_id)
    return redirect(request, "/account/tokens")
