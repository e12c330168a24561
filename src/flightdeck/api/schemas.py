"""Request and response bodies. Inputs and outputs are separate models, so a secret
field (password hash, token hash, external ID) can never slip into a response."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

OrgRole = Literal["owner", "member"]
WorkspaceRole = Literal["admin", "member"]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SignUpIn(Input):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    name: str = Field(default="", max_length=200)
    organization_name: str | None = Field(default=None, max_length=100)
    invitation_token: str | None = Field(default=None, max_length=200)


class LoginIn(Input):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    token_name: str | None = Field(
        default=None,
        max_length=100,
        description="Also issue an API token with this name (for the CLI); shown once.",
    )


class UserOut(Output):
    id: str
    email: str
    name: str
    created_at: datetime


class OrganizationOut(Output):
    id: str
    name: str
    created_at: datetime


class MyOrganizationOut(OrganizationOut):
    role: OrgRole


class SignUpOut(Output):
    user: UserOut
    organization: OrganizationOut | None


class LoginOut(Output):
    user: UserOut
    token: str | None = Field(default=None, description="Shown once; store it safely.")


class MeOut(Output):
    user: UserOut
    organizations: list[MyOrganizationOut]


class OrganizationCreateIn(Input):
    name: str = Field(max_length=100)


class ExternalIdOut(Output):
    organization_id: str
    external_id: str


class MemberOut(Output):
    user_id: str
    email: str
    name: str
    role: str
    created_at: datetime


class InviteIn(Input):
    email: str = Field(max_length=320)
    role: OrgRole = "member"
    workspace_id: str | None = None
    workspace_role: WorkspaceRole | None = None


class InvitationOut(Output):
    id: str
    email: str
    role: str
    expires_at: datetime


class InviteOut(Output):
    status: Literal["added", "invited"]
    member: MemberOut | None = None
    invitation: InvitationOut | None = None
    invitation_token: str | None = Field(
        default=None, description="Shown once: the invitee signs up with it."
    )


class RoleIn(Input):
    role: OrgRole


class WorkspaceCreateIn(Input):
    name: str = Field(max_length=100)


class WorkspaceOut(Output):
    id: str
    organization_id: str
    name: str
    created_at: datetime


class WorkspaceMemberIn(Input):
    user_id: str
    role: WorkspaceRole = "member"


class WorkspaceRoleIn(Input):
    role: WorkspaceRole


class TokenCreateIn(Input):
    name: str = Field(max_length=100)
    expires_in_days: int | None = None


class TokenOut(Output):
    id: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str = Field(description="Shown once; only its hash is stored.")


class AuditEventOut(Output):
    id: str
    action: str
    actor_user_id: str | None
    target: str
    created_at: datetime
