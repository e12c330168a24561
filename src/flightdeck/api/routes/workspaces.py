"""Workspaces of an organization and their members."""

from __future__ import annotations

from fastapi import APIRouter, status

from flightdeck.api.deps import CurrentUser, SessionDep
from flightdeck.api.errors import error_responses
from flightdeck.api.schemas import (
    MemberOut,
    WorkspaceCreateIn,
    WorkspaceMemberIn,
    WorkspaceOut,
    WorkspaceRoleIn,
)
from flightdeck.services import workspaces

router = APIRouter(
    prefix="/organizations/{organization_id}/workspaces",
    tags=["workspaces"],
    responses=error_responses(401, 403, 404, 422),
)


@router.get("", response_model=list[WorkspaceOut])
def list_workspaces(
    organization_id: str, user: CurrentUser, session: SessionDep
) -> list[WorkspaceOut]:
    return [
        WorkspaceOut.model_validate(w)
        for w in workspaces.list_workspaces(session, user, organization_id)
    ]


@router.post(
    "",
    responses=error_responses(409),
    status_code=status.HTTP_201_CREATED,
    response_model=WorkspaceOut,
)
def create_workspace(
    organization_id: str, body: WorkspaceCreateIn, user: CurrentUser, session: SessionDep
) -> WorkspaceOut:
    return WorkspaceOut.model_validate(
        workspaces.create_workspace(session, user, organization_id, body.name)
    )


@router.get("/{workspace_id}", response_model=WorkspaceOut)
def show_workspace(
    organization_id: str, workspace_id: str, user: CurrentUser, session: SessionDep
) -> WorkspaceOut:
    return WorkspaceOut.model_validate(
        workspaces.get_workspace(session, user, organization_id, workspace_id)
    )


@router.delete(
    "/{workspace_id}", responses=error_responses(409), status_code=status.HTTP_204_NO_CONTENT
)
def delete_workspace(
    organization_id: str, workspace_id: str, user: CurrentUser, session: SessionDep
) -> None:
    workspaces.delete_workspace(session, user, organization_id, workspace_id)


@router.get("/{workspace_id}/members", response_model=list[MemberOut])
def list_workspace_members(
    organization_id: str, workspace_id: str, user: CurrentUser, session: SessionDep
) -> list[MemberOut]:
    return [
        MemberOut.from_membership(m)
        for m in workspaces.list_workspace_members(session, user, organization_id, workspace_id)
    ]


@router.post(
    "/{workspace_id}/members", status_code=status.HTTP_201_CREATED, response_model=MemberOut
)
def add_workspace_member(
    organization_id: str,
    workspace_id: str,
    body: WorkspaceMemberIn,
    user: CurrentUser,
    session: SessionDep,
) -> MemberOut:
    return MemberOut.from_membership(
        workspaces.set_workspace_member(
            session, user, organization_id, workspace_id, body.user_id, body.role
        )
    )


@router.patch("/{workspace_id}/members/{user_id}", response_model=MemberOut)
def change_workspace_role(
    organization_id: str,
    workspace_id: str,
    user_id: str,
    body: WorkspaceRoleIn,
    user: CurrentUser,
    session: SessionDep,
) -> MemberOut:
    return MemberOut.from_membership(
        workspaces.set_workspace_member(
            session, user, organization_id, workspace_id, user_id, body.role
        )
    )


@router.delete("/{workspace_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_workspace_member(
    organization_id: str, workspace_id: str, user_id: str, user: CurrentUser, session: SessionDep
) -> None:
    workspaces.remove_workspace_member(session, user, organization_id, workspace_id, user_id)
