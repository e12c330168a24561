"""Workspaces and people: create and delete workspaces, invite (the link shown once),
list and revoke pending invitations, change roles, remove members; the last-Owner rule
explained where it blocks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from flightdeck.console import data
from flightdeck.console.pages import FormDep, OrgDep, OrgPage, field, redirect

router = APIRouter(prefix="/o/{organization_id}")

LAST_OWNER_RULE = (
    "An organization always keeps at least one Owner, so the last Owner cannot be removed "
    "or made a Member. Make another member an Owner first."
)


def _workspaces_page(page: OrgPage, **extra: Any) -> Response:
    return page.render(
        "workspaces.html",
        section="workspaces",
        title="Workspaces",
        workspaces=data.workspaces.list_workspaces(page.session, page.user, page.org_id),
        **extra,
    )


@router.get("/workspaces")
def workspaces(page: OrgDep) -> Response:
    return _workspaces_page(page)


@router.post("/workspaces")
def create_workspace(page: OrgDep, form: FormDep) -> Response:
    name = field(form, "name")

    def create() -> str:
        workspace = data.workspaces.create_workspace(page.session, page.user, page.org_id, name)
        return f"/workspaces/{workspace.id}"

    return page.submit(
        create, lambda **refused: _workspaces_page(page, values={"name": name}, **refused)
    )


def _workspace_page(page: OrgPage, workspace_id: str, **extra: Any) -> Response:
    session, user, org_id = page.session, page.user, page.org_id
    workspace = data.workspaces.get_workspace(session, user, org_id, workspace_id)
    members = data.workspaces.list_workspace_members(session, user, org_id, workspace_id)
    org_members = data.orgs.list_members(session, user, org_id)
    in_workspace = {m.user_id for m in members}
    return page.render(
        "workspace.html",
        section="workspaces",
        title=f"Workspace {workspace.name}",
        workspace=workspace,
        members=members,
        candidates=[m for m in org_members if m.user_id not in in_workspace],
        **extra,
    )


@router.get("/workspaces/{workspace_id}")
def workspace_page(workspace_id: str, page: OrgDep) -> Response:
    return _workspace_page(page, workspace_id)


@router.post("/workspaces/{workspace_id}/members")
def set_workspace_member(workspace_id: str, page: OrgDep, form: FormDep) -> Response:
    def add() -> str:
        data.workspaces.set_workspace_member(
            page.session,
            page.user,
            page.org_id,
            workspace_id,
            field(form, "user_id"),
            field(form, "role", "member"),
        )
        return f"/workspaces/{workspace_id}"

    return page.submit(add, lambda **refused: _workspace_page(page, workspace_id, **refused))


@router.post("/workspaces/{workspace_id}/members/{user_id}/remove")
def remove_workspace_member(
    workspace_id: str, user_id: str, page: OrgDep, form: FormDep
) -> Response:
    del form
    data.workspaces.remove_workspace_member(
        page.session, page.user, page.org_id, workspace_id, user_id
    )
    return page.redirect(f"/workspaces/{workspace_id}")


@router.post("/workspaces/{workspace_id}/delete")
def delete_workspace(workspace_id: str, page: OrgDep, form: FormDep) -> Response:
    del form

    def delete() -> str:
        data.workspaces.delete_workspace(page.session, page.user, page.org_id, workspace_id)
        return "/workspaces"

    return page.submit(delete, lambda **refused: _workspace_page(page, workspace_id, **refused))


def _people_page(page: OrgPage, **extra: Any) -> Response:
    session, user, org_id, owner = page.session, page.user, page.org_id, page.ctx.is_owner
    members = data.orgs.list_members(session, user, org_id)
    return page.render(
        "people.html",
        section="people",
        title="People",
        members=members,
        owner_count=sum(1 for m in members if m.role == "owner"),
        last_owner_rule=LAST_OWNER_RULE,
        workspaces=data.workspaces.list_workspaces(session, user, org_id) if owner else [],
        invitations=data.orgs.list_invitations(session, user, org_id) if owner else [],
        **extra,
    )


@router.get("/people")
def people(page: OrgDep) -> Response:
    return _people_page(page)


@router.post("/people/invite")
def invite(page: OrgDep, form: FormDep) -> Response:
    email = field(form, "email")
    workspace_id = field(form, "workspace_id") or None
    try:
        result = data.orgs.invite(
            page.session,
            page.user,
            page.org_id,
            email=email,
            role=field(form, "role", "member"),
            workspace_id=workspace_id,
            workspace_role=field(form, "workspace_role", "member") if workspace_id else None,
        )
    except (data.InvalidInput, data.Conflict) as exc:
        return _people_page(page, status=422, error=exc.message, values={"email": email})
    link = None
    if result.invitation_token is not None:
        signup = str(page.request.url_for("signup_page"))
        link = signup + "?invitation=" + result.invitation_token
    # The link is shown on this answer only (no redirect): it is never stored to show again.
    return _people_page(
        page, invited_email=email, invitation_link=link, added=result.membership is not None
    )


@router.post("/people/invitations/{invitation_id}/revoke")
def revoke_invitation(invitation_id: str, page: OrgDep, form: FormDep) -> Response:
    del form
    data.orgs.revoke_invitation(page.session, page.user, page.org_id, invitation_id)
    return page.redirect("/people")


@router.post("/people/{user_id}/role")
def change_role(user_id: str, page: OrgDep, form: FormDep) -> Response:
    def change() -> str:
        data.orgs.set_member_role(
            page.session, page.user, page.org_id, user_id, field(form, "role")
        )
        return "/people"

    return page.submit(change, lambda **refused: _people_page(page, **refused))


@router.post("/people/{user_id}/remove")
def remove(user_id: str, page: OrgDep, form: FormDep) -> Response:
    del form
    try:
        data.orgs.remove_member(page.session, page.user, page.org_id, user_id)
    except data.Conflict as exc:
        return _people_page(page, status=409, error=exc.message)
    if user_id == page.user.id:
        return redirect(page.request, "/")
    return page.redirect("/people")
