"""Claim-to-role mapping: the provider's groups claim decides a user's roles at each sign-in.

A rule maps one group either to an Organization role (owner, member) or to a role in one
workspace of the organization (admin, member). Rules are applied at just-in-time
provisioning and again at every sign-in, so a change in the identity provider reaches
flightdeck the next time the user signs in. Memberships no rule mentions are left alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flightdeck.db.models import (
    IdentityProvider,
    OrganizationMembership,
    User,
    Workspace,
    WorkspaceMembership,
)
from flightdeck.services import access, audit
from flightdeck.services.errors import InvalidInput

MAX_RULES = 100
_RANK = {"member": 0, "owner": 1, "admin": 1}


@dataclass(frozen=True)
class RoleRule:
    group: str
    organization_role: str | None = None  # owner | member
    workspace: str | None = None  # a workspace's name in the organization
    workspace_role: str | None = None  # admin | member


def parse_rules(raw: list[dict[str, Any]]) -> list[RoleRule]:
    """Checked rules, or InvalidInput naming ``role_mapping`` and the fix."""
    if len(raw) > MAX_RULES:
        raise InvalidInput(f"role_mapping: at most {MAX_RULES} rules", field="role_mapping")
    rules = []
    for index, item in enumerate(raw):
        where = f"role_mapping[{index}]"
        group = str(item.get("group") or "").strip()
        org_role = item.get("organization_role")
        workspace = (item.get("workspace") or "").strip() or None
        ws_role = item.get("workspace_role")
        if not group or len(group) > 200:
            raise InvalidInput(
                f"{where}: give the group's name (1-200 characters)", field="role_mapping"
            )
        if (org_role is None) == (workspace is None):
            raise InvalidInput(
                f"{where}: map the group either to an organization_role or to a workspace "
                "with a workspace_role",
                field="role_mapping",
            )
        if org_role is not None and org_role not in access.ORG_ROLES:
            raise InvalidInput(
                f"{where}: organization_role must be one of {', '.join(access.ORG_ROLES)}",
                field="role_mapping",
            )
        if workspace is not None and ws_role not in access.WORKSPACE_ROLES:
            raise InvalidInput(
                f"{where}: workspace_role must be one of {', '.join(access.WORKSPACE_ROLES)}",
                field="role_mapping",
            )
        rules.append(RoleRule(group, org_role, workspace, ws_role if workspace else None))
    return rules


RULE_SYNTAX = "GROUP=owner, GROUP=member or GROUP=workspace:NAME:admin|member"


def rule_from_text(text: str) -> dict[str, str]:
    """One rule written as the CLI's ``--map`` and the console take it: ``GROUP=owner`` or
    ``GROUP=workspace:NAME:ROLE``; the last ``=`` splits, so a group may itself hold one (an
    LDAP DN). The roles themselves are checked by :func:`parse_rules`."""
    group, _, target = text.strip().rpartition("=")
    parts = target.split(":")
    if group and len(parts) == 1 and parts[0]:
        return {"group": group, "organization_role": parts[0]}
    if group and len(parts) == 3 and parts[0] == "workspace" and parts[1] and parts[2]:
        return {"group": group, "workspace": parts[1], "workspace_role": parts[2]}
    raise InvalidInput(f"role_mapping: {text!r} is not {RULE_SYNTAX}", field="role_mapping")


def rule_text(rule: dict[str, Any]) -> str:
    """A stored rule written back in :func:`rule_from_text`'s form."""
    if rule.get("workspace"):
        return f"{rule['group']}=workspace:{rule['workspace']}:{rule['workspace_role']}"
    return f"{rule['group']}={rule['organization_role']}"


def dump_rules(rules: list[RoleRule]) -> list[dict[str, Any]]:
    return [asdict(rule) for rule in rules]


def groups_of(claims: dict[str, Any], claim: str) -> set[str]:
    value = claims.get(claim)
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {item for item in value if isinstance(item, str)}
    return set()


def _highest(roles: list[str]) -> str | None:
    return max(roles, key=_RANK.__getitem__) if roles else None


def organization_role(provider: IdentityProvider, groups: set[str]) -> str | None:
    """The role the mapping gives, None when no organization rule exists (the membership
    then keeps its role, or a new user gets the provider's default role)."""
    rules = [r for r in parse_rules(provider.role_mapping) if r.organization_role]
    if not rules:
        return None
    matched = [r.organization_role for r in rules if r.group in groups and r.organization_role]
    return _highest(matched) or provider.default_role


def apply(
    session: Session,
    provider: IdentityProvider,
    user: User,
    membership: OrganizationMembership,
    groups: set[str],
) -> None:
    """Bring the user's organization and workspace roles in line with the mapping (audited)."""
    organization_id = provider.organization_id
    wanted = organization_role(provider, groups)
    if wanted is not None and wanted != membership.role:
        if membership.role == "owner" and _owners(session, organization_id) <= 1:
            # The last Owner stays one, as when an Owner changes roles by hand.
            wanted = "owner"
        else:
            audit.record(
                session,
                action="sso.role.map",
                actor=user,
                organization_id=organization_id,
                target=user.id,
                detail={"provider": provider.id, "from": membership.role, "to": wanted},
            )
            membership.role = wanted
    by_workspace: dict[str, list[str]] = {}
    for rule in parse_rules(provider.role_mapping):
        if rule.workspace and rule.workspace_role and rule.group in groups:
            by_workspace.setdefault(rule.workspace, []).append(rule.workspace_role)
    for name, roles in sorted(by_workspace.items()):
        role = _highest(roles)
        workspace = session.scalar(
            select(Workspace).where(
                Workspace.organization_id == organization_id, Workspace.name == name
            )
        )
        if workspace is None or role is None:
            continue  # named in the mapping, not created yet
        existing = access.find_workspace_membership(session, workspace.id, user.id)
        if existing is not None and existing.role == role:
            continue
        before = existing.role if existing else None
        if existing is None:
            session.add(WorkspaceMembership(workspace_id=workspace.id, user_id=user.id, role=role))
        else:
            existing.role = role
        audit.record(
            session,
            action="sso.workspace_role.map",
            actor=user,
            organization_id=organization_id,
            target=user.id,
            detail={"provider": provider.id, "workspace": workspace.id, "from": before, "to": role},
        )


def _owners(session: Session, organization_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(OrganizationMembership)
            .where(
                OrganizationMembership.organization_id == organization_id,
                OrganizationMembership.role == "owner",
            )
        )
        or 0
    )
