"""Onboarding a customer AWS account: register its role, verify it, run preflight checks.

The control plane only ever reaches the account through the organization's
cross-account role, assumed with the organization's external ID.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from flightdeck.aws import reference
from flightdeck.aws.checks import CheckResult, overall
from flightdeck.aws.permissions import ROLE_NAME
from flightdeck.aws.session import RoleClients, SessionFactory
from flightdeck.config import Settings
from flightdeck.db.models import AwsAccount, User
from flightdeck.db.types import utcnow
from flightdeck.services import audit, orgs
from flightdeck.services.access import require_member, require_owner
from flightdeck.services.errors import Conflict, InvalidInput, NotFound
from flightdeck.services.platform import platform_account_id

_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$")


def check_account_id(account_id: str, field: str = "account_id") -> str:
    try:
        return reference.check_account_id(account_id, field)
    except reference.InvalidAccountId as exc:
        raise InvalidInput(str(exc), field=exc.field) from None


def default_role_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{ROLE_NAME}"


def check_role_arn(role_arn: str, account_id: str) -> str:
    role_arn = role_arn.strip()
    match = _ROLE_ARN.match(role_arn)
    if match is None:
        raise InvalidInput(
            f"role_arn: must be an IAM role ARN such as {default_role_arn(account_id)}",
            field="role_arn",
        )
    if match.group(1) != account_id:
        raise InvalidInput(
            f"role_arn: the role is in account {match.group(1)}, not {account_id}; "
            "register the account the role lives in",
            field="role_arn",
        )
    return role_arn


def register_account(
    session: Session,
    user: User,
    organization_id: str,
    *,
    account_id: str,
    role_arn: str | None = None,
    hosted: bool = False,
) -> AwsAccount:
    require_owner(session, user, organization_id)
    account_id = check_account_id(account_id)
    role_arn = check_role_arn(role_arn or default_role_arn(account_id), account_id)
    existing = session.scalar(
        select(AwsAccount).where(
            AwsAccount.organization_id == organization_id, AwsAccount.account_id == account_id
        )
    )
    if existing is not None:
        if existing.role_arn == role_arn:
            return existing
        raise Conflict(
            f"account_id: account {account_id} is already registered with another role; "
            "remove it first",
            field="account_id",
        )
    return _add_account(session, user, organization_id, account_id, role_arn, hosted=hosted)


def _add_account(
    session: Session,
    user: User,
    organization_id: str,
    account_id: str,
    role_arn: str,
    *,
    hosted: bool,
) -> AwsAccount:
    account = AwsAccount(
        organization_id=organization_id,
        account_id=account_id,
        role_arn=role_arn,
        hosted=hosted,
        created_by=user.id,
    )
    session.add(account)
    session.flush()
    audit.record(
        session,
        action="aws_account.hosted" if hosted else "aws_account.register",
        actor=user,
        organization_id=organization_id,
        target=account_id,
    )
    session.commit()
    return account


def list_accounts(session: Session, user: User, organization_id: str) -> list[AwsAccount]:
    require_member(session, user, organization_id)
    return list(
        session.scalars(
            select(AwsAccount)
            .where(AwsAccount.organization_id == organization_id)
            .order_by(AwsAccount.created_at)
        )
    )


def get_account(
    session: Session, user: User, organization_id: str, ref: str, field: str = "account"
) -> AwsAccount:
    """An account of the organization by its id or its 12-digit AWS account ID; anything
    else is refused as such before it is looked up."""
    try:
        ref = reference.check_account_ref(ref, field)
    except reference.InvalidAccountId as exc:
        raise InvalidInput(str(exc), field=exc.field) from None
    require_member(session, user, organization_id)
    account = session.scalar(
        select(AwsAccount).where(
            AwsAccount.organization_id == organization_id,
            (AwsAccount.id == ref) | (AwsAccount.account_id == ref),
        )
    )
    if account is None:
        raise NotFound(
            f"no AWS account {ref} is registered with this organization; register it with "
            "`flightdeck aws account add` (see `flightdeck aws account list`)"
        )
    return account


def verify_account(
    session: Session,
    user: User,
    organization_id: str,
    ref: str,
    settings: Settings,
    sessions: SessionFactory,
    *,
    max_wait_seconds: float = 30,
) -> tuple[AwsAccount, list[CheckResult]]:
    require_owner(session, user, organization_id)
    account = get_account(session, user, organization_id, ref)
    from flightdeck.aws.verification import verify_role

    results = verify_role(
        account_id=account.account_id,
        role_arn=account.role_arn,
        external_id=orgs.external_id_for(session, organization_id),
        platform_account_id=platform_account_id(settings, sessions),
        base_session=sessions.platform_session(),
        max_wait_seconds=max_wait_seconds,
    )
    account.status = "failed" if overall(results) == "fail" else "verified"
    account.checks = [result.to_dict() for result in results]
    account.verified_at = utcnow() if account.status == "verified" else None
    audit.record(
        session,
        action="aws_account.verify",
        actor=user,
        organization_id=organization_id,
        target=account.account_id,
        detail={"status": account.status},
    )
    session.commit()
    return account, results


def role_clients_for(
    session: Session,
    account: AwsAccount,
    purpose: str,
    sessions: SessionFactory,
    region: str | None = None,
) -> RoleClients:
    """Cached clients in the customer account through the organization's role."""
    return sessions.role_clients(
        account.role_arn,
        orgs.external_id_for(session, account.organization_id),
        f"flightdeck-{purpose}",
        region,
    )


def run_preflight(
    session: Session,
    user: User,
    organization_id: str,
    ref: str,
    *,
    region: str,
    sessions: SessionFactory,
    vpc_cidr: str = reference.DEFAULT_VPC_CIDR,
    peer_cidrs: Sequence[str] = (),
) -> list[CheckResult]:
    require_owner(session, user, organization_id)
    account = get_account(session, user, organization_id, ref)
    try:
        reference.check_region(region)
    except reference.UnsupportedValue as exc:
        raise InvalidInput(str(exc), field=exc.field) from None
    if account.status != "verified":
        raise InvalidInput(
            f"account: {account.account_id} is not verified; run "
            f"`flightdeck aws account verify {account.account_id}` first",
            field="account",
        )
    from flightdeck.aws.preflight import run_preflight as run_checks

    return run_checks(
        role_clients_for(session, account, "preflight", sessions).session,
        region=region,
        vpc_cidr=vpc_cidr,
        peer_cidrs=list(peer_cidrs),
        role_arn=account.role_arn,
    )


def provision_hosted_account(
    session: Session,
    user: User,
    organization_id: str,
    settings: Settings,
    sessions: SessionFactory,
) -> tuple[AwsAccount, list[CheckResult]]:
    """Hosted mode: give the organization a platform-owned account from the pool.

    The platform assumes its administrative role in that account, creates the
    organization's cross-account role there with the same code the customer's CLI runs,
    registers and verifies it. From then on clusters take exactly the customer path.
    """
    require_owner(session, user, organization_id)
    if not settings.hosted_mode:
        raise InvalidInput(
            "hosted: hosted mode is off on this control plane; create the role "
            "in your own account with `flightdeck aws role create`",
            field="hosted",
        )
    existing = session.scalar(
        select(AwsAccount).where(
            AwsAccount.organization_id == organization_id, AwsAccount.hosted.is_(True)
        )
    )
    if existing is not None:
        return existing, []
    pool = [a.strip() for a in settings.hosted_account_pool.split(",") if a.strip()]
    taken = set(session.scalars(select(AwsAccount.account_id).where(AwsAccount.hosted.is_(True))))
    free = [account_id for account_id in pool if account_id not in taken]
    if not free:
        raise Conflict(
            "hosted: no platform-owned AWS account is free; the operator must add "
            "accounts to FLIGHTDECK_HOSTED_ACCOUNT_POOL",
            field="hosted",
        )
    account_id = check_account_id(free[0])
    from flightdeck.aws.role_setup import ensure_cross_account_role

    admin = sessions.assumed_role_session(
        f"arn:aws:iam::{account_id}:role/{settings.hosted_admin_role_name}",
        None,
        "flightdeck-hosted-setup",
    )
    result = ensure_cross_account_role(
        admin,
        platform_account_id(settings, sessions),
        orgs.external_id_for(session, organization_id),
    )
    account = _add_account(session, user, organization_id, account_id, result.role_arn, hosted=True)
    return verify_account(session, user, organization_id, account.id, settings, sessions)
