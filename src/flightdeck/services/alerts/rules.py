"""Alert rules of an organization, a workspace or one Deployment.

Who may change a rule follows what it watches: Organization Owners for organization-wide
rules, the workspace's Admins (and Owners) for a workspace's or a Deployment's. Members see
the organization's rules and those of the workspaces they belong to; a rule of a workspace
they cannot see is "not found", like the workspace itself.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flightdeck.db.models import AlertRule, Deployment, User, Workspace
from flightdeck.services import audit, lookup
from flightdeck.services.access import org_membership, require_owner, require_workspace
from flightdeck.services.alerts import checks
from flightdeck.services.alerts.channels import find_channel
from flightdeck.services.alerts.kinds import AlertKind, RuleInput, Scope
from flightdeck.services.errors import Conflict, InvalidInput, NotFound
from flightdeck.services.validation import check_name

LIST_COMMAND = "flightdeck alert list"


def scope_of(rule: AlertRule) -> Scope:
    if rule.deployment_id:
        return Scope.DEPLOYMENT
    if rule.workspace_id:
        return Scope.WORKSPACE
    return Scope.ORGANIZATION


def rules_for(session: Session, deployment: Deployment) -> list[AlertRule]:
    """Every rule that watches ``deployment``: its organization's, its workspace's, its own."""
    return list(
        session.scalars(
            select(AlertRule)
            .where(
                AlertRule.organization_id == deployment.organization_id,
                or_(
                    (AlertRule.workspace_id.is_(None)) & (AlertRule.deployment_id.is_(None)),
                    AlertRule.workspace_id == deployment.workspace_id,
                    AlertRule.deployment_id == deployment.id,
                ),
            )
            .order_by(AlertRule.created_at)
        )
    )


def _require_manage(session: Session, user: User, organization_id: str, rule: AlertRule) -> None:
    if rule.workspace_id is None:
        require_owner(session, user, organization_id)
    else:
        require_workspace(session, user, organization_id, rule.workspace_id, admin=True)


def _scope(
    session: Session, user: User, organization_id: str, given: RuleInput
) -> tuple[str | None, str | None]:
    """The (workspace, Deployment) ids the rule is for; checks the user may manage them."""
    if given.deployment:
        deployment = lookup.by_id_or_name(
            session,
            Deployment,
            organization_id,
            given.deployment,
            kind="Deployment",
            list_command="flightdeck deployment list",
            live=Deployment.phase != "Deleted",
        )
        require_visible(session, user, organization_id, deployment.workspace_id, given.deployment)
        require_workspace(session, user, organization_id, deployment.workspace_id, admin=True)
        return deployment.workspace_id, deployment.id
    if given.workspace:
        workspace = lookup.by_id_or_name(
            session,
            Workspace,
            organization_id,
            given.workspace,
            kind="workspace",
            list_command="flightdeck workspace list",
            ignore_case=True,
        )
        require_visible(session, user, organization_id, workspace.id, given.workspace)
        require_workspace(session, user, organization_id, workspace.id, admin=True)
        return workspace.id, None
    require_owner(session, user, organization_id)
    return None, None


def require_visible(
    session: Session, user: User, organization_id: str, workspace_id: str, ref: str
) -> None:
    try:
        require_workspace(session, user, organization_id, workspace_id)
    except NotFound:
        raise lookup.not_found(
            "workspace or Deployment", ref, "flightdeck deployment list"
        ) from None


def create_rule(session: Session, user: User, organization_id: str, given: RuleInput) -> AlertRule:
    org_membership(session, user, organization_id)
    name = check_name(given.name, "name")
    kind = checks.check_kind(given.kind)
    workspace_id, deployment_id = _scope(session, user, organization_id, given)
    glob = checks.check_glob(given.dag_glob or "*")
    minutes = checks.check_minutes(given.minutes) if kind is AlertKind.TASK_DURATION else None
    deadline = timezone = None
    if kind is AlertKind.DAG_DEADLINE:
        deadline = checks.check_deadline(given.deadline)
        timezone = checks.check_timezone(given.timezone or "UTC")
    if not given.channels:
        raise InvalidInput(
            "channels: name at least one channel (see `flightdeck alert channel list`)",
            field="channels",
        )
    channel_ids = list(
        dict.fromkeys(find_channel(session, organization_id, ref).id for ref in given.channels)
    )
    rule = AlertRule(
        organization_id=organization_id,
        name=name,
        kind=kind,
        workspace_id=workspace_id,
        deployment_id=deployment_id,
        dag_glob=glob,
        minutes=minutes,
        deadline=deadline,
        timezone=timezone,
        channel_ids=channel_ids,
        created_by=user.id,
    )
    session.add(rule)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"name: a rule {name!r} already exists; pick another name") from None
    audit.record(
        session,
        action="alert_rule.create",
        actor=user,
        organization_id=organization_id,
        target=rule.id,
        detail={"name": name, "kind": str(kind), "scope": str(scope_of(rule))},
    )
    session.commit()
    return rule


def list_rules(session: Session, user: User, organization_id: str) -> list[AlertRule]:
    membership = org_membership(session, user, organization_id)
    rules = session.scalars(
        select(AlertRule)
        .where(AlertRule.organization_id == organization_id)
        .order_by(AlertRule.name)
    )
    if membership.role == "owner":
        return list(rules)
    visible: list[AlertRule] = []
    for rule in rules:
        if rule.workspace_id is None or _can_see(session, user, organization_id, rule):
            visible.append(rule)
    return visible


def _can_see(session: Session, user: User, organization_id: str, rule: AlertRule) -> bool:
    try:
        require_workspace(session, user, organization_id, rule.workspace_id or "")
    except NotFound:
        return False
    return True


def get_rule(session: Session, user: User, organization_id: str, ref: str) -> AlertRule:
    org_membership(session, user, organization_id)
    rule = lookup.by_id_or_name(
        session, AlertRule, organization_id, ref, kind="rule", list_command=LIST_COMMAND
    )
    if rule.workspace_id is not None and not _can_see(session, user, organization_id, rule):
        raise lookup.not_found("rule", ref, LIST_COMMAND)
    return rule


def get_manageable_rule(session: Session, user: User, organization_id: str, ref: str) -> AlertRule:
    rule = get_rule(session, user, organization_id, ref)
    _require_manage(session, user, organization_id, rule)
    return rule


def delete_rule(session: Session, user: User, organization_id: str, ref: str) -> None:
    rule = get_manageable_rule(session, user, organization_id, ref)
    audit.record(
        session,
        action="alert_rule.delete",
        actor=user,
        organization_id=organization_id,
        target=rule.id,
        detail={"name": rule.name},
    )
    session.delete(rule)
    session.commit()
