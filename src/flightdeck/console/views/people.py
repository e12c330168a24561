"""Workspaces and people: create and delete workspaces, invite (the link shown once),
list and revoke pending invitations, change roles, remove members; the last-Owner rule
explained where it blocks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from flightdeck.console import data
from flightdeck.console.pages import (
    DbDep,
    FormDep,
    UserDep,
    field,
    org_context,
    redirect,
    render,
)

router = APIRouter(prefix="/o/{organization_id}")

LAST_OWNER_RULE = (
    "An organization always keeps at least one Owner, so the last Owner cannot be removed "
    "or made a Member. Make another member an Owner first."
)


def _workspaces_page(
    request: Request,
    user: data.User,
    session: DbDep,
    organization_id: str,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    ctx = org_context(session, user, organization_id)
    return render(
        request,
        "workspaces.html",
        status=status,
        user=user,
        ctx=ctx,
        section="workspaces",
        title="Workspaces",
        workspaces=data.workspaces.list_workspaces(session, user, organization_id),
        **extra,
    )


@router.get("/workspaces")
def workspaces(organization_id: str, request: Request, user: UserDep, session: DbDep) -> Response:
    return _workspaces_page(request, user, session, organization_id)


@router.post("/workspaces")
def create_workspace(
    organization_id: str, request: Request, user: UserDep, session: DbDep, form: FormDep
) -> Response:
    name = field(form, "name")
    try:
        workspace = data.workspaces.create_workspace(session, user, organization_id, name)
    except (data.InvalidInput, data.Conflict) as exc:
        return _workspaces_page(
            request,
            user,
            session,
            organization_id,
            status=422,
            error=exc.message,
            values={"name": name},
        )
    return redirect(request, f"/o/{organization_id}/workspaces/{workspace.id}")


def _workspace_page(
    request: Request,
    user: data.User,
    session: DbDep,
    organization_id: str,
    workspace_id: str,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    ctx = org_context(session, user, organization_id)
    workspace = data.workspaces.get_workspace(session, user, organization_id, workspace_id)
    members = data.workspaces.list_workspace_members(session, user, organization_id, workspace_id)
    org_members = data.orgs.list_members(session, user, organization_id)
    in_workspace = {m.user_id for m in members}
    return render(
        request,
        "workspace.html",
        status=status,
        user=user,
        ctx=ctx,
        section="workspaces",
        title=f"Workspace {workspace.name}",
        workspace=workspace,
        members=members,
        candidates=[m for m in org_members if m.user_id not in in_workspace],
        **extra,
    )


@router.get("/workspaces/{workspace_id}")
def workspace_page(
    organization_id: str, workspace_id: str, request: Request, user: UserDep, session: DbDep
) -> Response:
    return _workspace_page(request, user, session, organization_id, workspace_id)


@router.post("/workspaces/{workspace_id}/members")
def set_workspace_member(
    organization_id: str,
    workspace_id: str,
    request: Request,
    user: UserDep,
    session: DbDep,
    form: FormDep,
) -> Response:
    try:
        data.workspaces.set_workspace_member(
            session,
            user,
            organization_id,
            workspace_id,
            field(form, "user_id"),
            field(form, "role", "member"),
        )
    except data.InvalidInput as exc:
        return _workspace_page(
            request, user, session, organization_id, workspace_id, status=422, error=exc.message
        )
    return redirect(request, f"/o/{organization_id}/workspaces/{workspace_id}")


@router.post("/workspaces/{workspace_id}/members/{user_id}/remove")
def remove_workspace_member(
    organization_id: str,
    workspace_id: str,
    user_id: str,
    request: Request,
    user: UserDep,
    session: DbDep,
    form: FormDep,
) -> Response:
    del form
    data.workspaces.remove_workspace_member(session, user, organization_id, workspace_id, user_id)
    return redirect(request, f"/o/{organization_id}/workspaces/{workspace_id}")


@router.post("/workspaces/{workspace_id}/delete")
def delete_workspace(
    organization_id: str,
    workspace_id: str,
    request: Request,
    user: UserDep,
    session: DbDep,
    form: FormDep,
) -> Response:
    del form
    try:
        data.workspaces.delete_workspace(session, user, organization_id, workspace_id)
    except data.Conflict as exc:
        return _workspace_page(
            request, user, session, organization_id, workspace_id, status=409, error=exc.message
        )
    return redirect(request, f"/o/{organization_id}/workspaces")


def _people_page(
    request: Request,
    user: data.User,
    session: DbDep,
    organization_id: str,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    ctx = org_context(session, user, organization_id)
    members = data.orgs.list_members(session, user, organization_id)
    owners = sum(1 for m in members if m.role == "owner")
    workspace_list = (
        data.workspaces.list_workspaces(session, user, organization_id) if ctx.is_owner else []
    )
    return render(
        request,
        "people.html",
        status=status,
        user=user,
        ctx=ctx,
        section="people",
        title="People",
        members=members,
        owner_count=owners,
        last_owner_rule=LAST_OWNER_RULE,
        workspaces=workspace_list,
        invitations=data.orgs.list_invitations(session, user, organization_id)
        if ctx.is_owner
        else [],
        **extra,
    )


@router.get("/people")
def people(organization_id: str, request: Request, user: UserDep, session: DbDep) -> Response:
    return _people_page(request, user, session, organization_id)


@router.post("/people/invite")
def invite(
    organization_id: str, request: Request, user: UserDep, session: DbDep, form: FormDep
) -> Response:
    email = field(form, "email")
    workspace_id = field(form, "workspace_id") or None
    try:
        result = data.orgs.invite(
            session,
            user,
            organization_id,
            email=email,
            role=field(form, "role", "member"),
            workspace_id=workspace_id,
            workspace_role=field(form, "workspace_role", "member") if workspace_id else None,
        )
    except (data.InvalidInput, data.Conflict) as exc:
        return _people_page(
            request,
            user,
            session,
            organization_id,
            status=422,
            error=exc.message,
            values={"email": email},
        )
    link = None
    if result.invitation_token is not None:
        link = str(request.url_for("signup_page")) + "?invitation=" + result.invitation_token
    return _people_page(
        request,
        user,
        session,
        organization_id,
        invited_email=email,
        invitation_link=link,
        added=result.membership is not None,
    )


@router.post("/people/invitations/{invitation_id}/revoke")
def revoke_invitation(
    organization_id: str,
    invitation_id: str,
    request: Request,
    user: UserDep,
    session: DbDep,
    form: FormDep,
) -> Response:
    del form
    data.orgs.revoke_invitation(session, user, organization_id, invitation_id)
    return redirect(request, f"/o/{organization_id}/people")


@router.post("/people/{user_id}/role")
def change_role(
    organization_id: str,
    user_id: str,
    request: Request,
    user: UserDep,
    session: DbDep,
    form: FormDep,
) -> Response:
    try:
        data.orgs.set_member_role(session, user, organization_id, user_id, field(form, "role"))
    except (data.InvalidInput, data.Conflict) as exc:
        return _people_page(request, user, session, organization_id, status=409, error=exc.message)
    return redirect(request, f"/o/{organization_id}/people")


@router.post("/people/{user_id}/remove")
def remove(
    organization_id: str,
    user_id: str,
    request: Request,
    user: UserDep,
    session: DbDep,
    form: FormDep,
) -> Response:
    del form
    try:
        data.orgs.remove_member(session, user, organization_id, user_id)
    except data.Conflict as exc:
        return _people_page(request, user, session, organization_id, status=409, error=exc.message)
    if user_id == user.id:
        return redirect(request, "/")
    return redirect(request, f"/o/{organization_id}/people")
