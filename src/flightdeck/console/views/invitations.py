"""Invitations addressed to the signed-in person's email: list them and accept one.

Invitations are never applied by themselves, even for an address that already has an
account: its owner accepts here (or with `flightdeck user accept`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from flightdeck.console import data
from flightdeck.console.pages import DbDep, FormDep, UserDep, redirect, render

router = APIRouter(prefix="/account/invitations")


@router.get("")
def my_invitations(request: Request, user: UserDep, session: DbDep) -> Response:
    return render(
        request,
        "my_invitations.html",
        user=user,
        section="invitations",
        title="Invitations for you",
        invitations=data.orgs.list_my_invitations(session, user),
    )


@router.post("/{invitation_id}/accept")
def accept(
    invitation_id: str, request: Request, user: UserDep, session: DbDep, form: FormDep
) -> Response:
    del form  # checked: a cross-site page cannot make anyone join an organization
    membership = data.orgs.accept_my_invitation(session, user, invitation_id)
    return redirect(request, f"/o/{membership.organization_id}")
