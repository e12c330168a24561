"""Governance of the cross-account role: policy versions, 14 days' notice, drift detection.

What the platform may do in a customer account is the managed policy on the customer's role,
so changing it follows one rule (F18): a published version that grants anything new takes
effect no sooner than 14 days after the notice reached every Organization Owner; one that
only removes access is installed at once and Owners are told. Notices go through the
outbox, so the 14 days start at the last delivery, not when the mail was queued: while SMTP
is down the clock does not run.

The governance pass also compares the role with what it should be (B4): trust policy,
attached policies (exactly ``FlightdeckCrossAccountRole``), inline policies (none) and the
managed policy's default version (the version in force). Each distinct out-of-band change is
reported once (a timeline event and an Owner email), and again when it is undone.

A pass runs per account under a lease, like the cluster worker's, so several control-plane
processes never notify or install twice. The clock is injected (``now``) so tests can
travel 14 days.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.aws.iam_documents import canonical
from flightdeck.aws.permissions import MANAGED_POLICY_NAME, ROLE_NAME
from flightdeck.aws.policy_versions import PolicyCatalog, PolicyVersion, default_catalog
from flightdeck.aws.policy_versions.diff import grant_changes, unified_diff
from flightdeck.aws.role_policy import RolePolicy, RolePolicyError, RoleSnapshot, role_policy_for
from flightdeck.aws.role_template import trust_policy_document
from flightdeck.aws.session import SessionFactory
from flightdeck.db.models import (
    AwsAccount,
    AwsAccountEvent,
    AwsAccountPolicyState,
    Notification,
    Organization,
    OrganizationMembership,
    RolePolicyChange,
    User,
    Workspace,
    WorkspaceMembership,
)
from flightdeck.db.types import utcnow
from flightdeck.policy.document import InvalidPolicyError
from flightdeck.policy.trust import check_trust_policy
from flightdeck.services import notifications, orgs
from flightdeck.services.access import org_membership, require_member
from flightdeck.services.errors import Forbidden
from flightdeck.services.leases import LeasedTable
from flightdeck.services.reconcile import worker_identity

log = logging.getLogger(__name__)

NOTICE_PERIOD = timedelta(days=14)
CHECK_INTERVAL = timedelta(minutes=10)
LEASE_SECONDS = 120
MAX_RETRY_DELAY = timedelta(hours=1)
UNREACHABLE_RETRY = timedelta(minutes=5)
ACTIVE_STATUSES = ("pending-notice", "scheduled", "failed")
POLICY_FINDINGS = frozenset({"policy_document", "policy_missing", "policy_unknown"})
ROLE_CREATE = "flightdeck aws role create"
CHANGES_COMMAND = "flightdeck aws policy changes"


# -- comparison ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyDelta:
    """Whether ``new`` grants anything ``old`` does not, with a request that shows it."""

    expands: bool
    example: dict[str, Any] | None = None
    statement: dict[str, Any] | None = None
    reason: str = ""


Comparer = Callable[[dict[str, Any], dict[str, Any]], PolicyDelta]


def default_comparer() -> Comparer:
    """The exact comparison (``flightdeck.policy.compare``): "expands" comes with a request
    the new version allows and the old one denies, "no new access" is a proof."""
    from flightdeck.policy.compare import compare

    def comparer(old: dict[str, Any], new: dict[str, Any]) -> PolicyDelta:
        outcome = compare(old, new)
        statement: dict[str, Any] | None = None
        if outcome.statement is not None:
            statements = new.get("Statement", [])
            if isinstance(statements, dict):
                statements = [statements]
            if 0 <= outcome.statement < len(statements):
                statement = {"index": outcome.statement, **statements[outcome.statement]}
        return PolicyDelta(
            expands=outcome.result == "expands",
            example=outcome.example.as_dict() if outcome.example else None,
            statement=statement,
            reason=outcome.reason,
        )

    return comparer


# -- drift findings --------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One way the role differs from what it should be. ``key`` names what differs and
    ``digest`` how, so the same difference is reported once and a new one again."""

    key: str
    digest: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "digest": self.digest, "message": self.message}


def _digest(value: Any) -> str:
    text = json.dumps(canonical(value), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def drift_findings(
    snapshot: RoleSnapshot,
    *,
    platform_account_id: str,
    external_id: str,
    version_in_force: PolicyVersion | None,
    catalog: PolicyCatalog,
) -> list[Finding]:
    """Compare the role with what it should be. Messages never contain the external ID
    (the trust policy holds it in clear), only what differs and how to put it back."""
    findings: list[Finding] = []
    expected_trust = trust_policy_document(platform_account_id, external_id)
    if canonical(snapshot.trust_policy) != canonical(expected_trust):
        try:
            report = check_trust_policy(snapshot.trust_policy, platform_account_id, external_id)
            verdict = (
                "it still lets only the platform in, with your external ID"
                if report.ok
                else " ".join(problem.message for problem in report.problems)
            )
        except InvalidPolicyError as exc:
            verdict = f"it is not a valid trust policy ({exc})"
        findings.append(
            Finding(
                "trust_policy",
                _digest(snapshot.trust_policy),
                f"The role's trust policy was changed: {verdict}",
            )
        )
    for arn in snapshot.attached_policy_arns:
        if arn != snapshot.policy_arn:
            findings.append(
                Finding(
                    f"attached:{arn}",
                    _digest(arn),
                    f"The policy {arn} is attached to the role, which should hold only "
                    f"{MANAGED_POLICY_NAME}.",
                )
            )
    if snapshot.policy_arn not in snapshot.attached_policy_arns:
        findings.append(
            Finding(
                "detached",
                _digest(snapshot.policy_arn),
                f"{MANAGED_POLICY_NAME} is no longer attached to the role.",
            )
        )
    for name, document in sorted(snapshot.inline_policies.items()):
        findings.append(
            Finding(
                f"inline:{name}",
                _digest(document),
                f"The inline policy {name} was put on the role, which should have none.",
            )
        )
    if not snapshot.policy_exists or snapshot.default_document is None:
        findings.append(
            Finding("policy_missing", _digest(None), f"The policy {MANAGED_POLICY_NAME} is gone.")
        )
    elif version_in_force is None:
        matched = catalog.match(snapshot.default_document)
        findings.append(
            Finding(
                "policy_unknown",
                _digest(snapshot.default_document),
                f"The default version {snapshot.default_version_id} of {MANAGED_POLICY_NAME} "
                + (
                    f"is the published version {matched.version}, but not one flightdeck installed."
                    if matched
                    else "matches no published policy version."
                ),
            )
        )
    elif canonical(snapshot.default_document) != canonical(
        version_in_force.document
    ):
        matched = catalog.match(snapshot.default_document)
        changes = grant_changes(version_in_force.document, snapshot.default_document)
        what = "; ".join(changes.lines()) or "only statement names or ordering differ"
        as_published = f" (it is the published version {matched.version})" if matched else ""
        findings.append(
            Finding(
                "policy_document",
                _digest(snapshot.default_document),
                f"The default version {snapshot.default_version_id} of {MANAGED_POLICY_NAME} "
                f"is not policy version {version_in_force.version}{as_published}: {what}.",
            )
        )
    return findings


# -- access ----------------------------------------------------------------------------------


def require_owner_or_admin(session: Session, user: User, organization_id: str) -> Organization:
    """Organization Owners, and Workspace Admins of any of the organization's workspaces."""
    org = require_member(session, user, organization_id)
    if org_membership(session, user, organization_id).role == "owner":
        return org
    admin = session.scalar(
        select(WorkspaceMembership.id)
        .join(Workspace, Workspace.id == WorkspaceMembership.workspace_id)
        .where(
            Workspace.organization_id == organization_id,
            WorkspaceMembership.user_id == user.id,
            WorkspaceMembership.role == "admin",
        )
        .limit(1)
    )
    if admin is None:
        raise Forbidden("only Organization Owners and Workspace Admins can see policy changes")
    return org


@dataclass
class GovernanceView:
    latest_version: str
    accounts: list[tuple[AwsAccount, AwsAccountPolicyState | None]]
    changes: list[tuple[RolePolicyChange, str]]  # with the 12-digit account ID


def list_changes(
    session: Session,
    user: User,
    organization_id: str,
    *,
    catalog: PolicyCatalog | None = None,
    limit: int = 200,
) -> GovernanceView:
    """Pending and past policy changes of the organization's accounts, newest first."""
    require_owner_or_admin(session, user, organization_id)
    accounts = list(
        session.scalars(
            select(AwsAccount)
            .where(AwsAccount.organization_id == organization_id)
            .order_by(AwsAccount.created_at)
        )
    )
    rows = session.execute(
        select(RolePolicyChange, AwsAccount.account_id)
        .join(AwsAccount, AwsAccount.id == RolePolicyChange.aws_account_ref)
        .where(RolePolicyChange.organization_id == organization_id)
        .order_by(RolePolicyChange.created_at.desc())
        .limit(limit)
    ).all()
    return GovernanceView(
        latest_version=(catalog or default_catalog()).latest().version,
        accounts=[(a, session.get(AwsAccountPolicyState, a.id)) for a in accounts],
        changes=[(change, account_id) for change, account_id in rows],
    )


def account_events(
    session: Session, user: User, organization_id: str, ref: str, limit: int = 200
) -> tuple[AwsAccount, list[AwsAccountEvent]]:
    """An account's governance timeline, newest first."""
    require_owner_or_admin(session, user, organization_id)
    from flightdeck.services.onboarding import get_account

    account = get_account(session, user, organization_id, ref)
    events = list(
        session.scalars(
            select(AwsAccountEvent)
            .where(AwsAccountEvent.aws_account_ref == account.id)
            .order_by(AwsAccountEvent.created_at.desc())
            .limit(limit)
        )
    )
    return account, events


# -- the pass --------------------------------------------------------------------------------

RolePolicyFactory = Callable[[AwsAccount, str], RolePolicy]


def role_policies(sessions: SessionFactory) -> RolePolicyFactory:
    """Each account's role policy through ``sessions``' cached role sessions."""

    def open_role_policy(account: AwsAccount, external_id: str) -> RolePolicy:
        return role_policy_for(account.role_arn, external_id, sessions=sessions)

    return open_role_policy


@dataclass
class PassReport:
    """What one account's pass did; for logs and tests."""

    account_ref: str
    error: str | None = None
    created: list[str] = field(default_factory=list)  # change ids
    applied: list[str] = field(default_factory=list)
    detected: list[str] = field(default_factory=list)  # finding keys
    resolved: list[str] = field(default_factory=list)


def retry_delay(attempts: int) -> timedelta:
    return min(MAX_RETRY_DELAY, timedelta(seconds=60 * 2 ** max(0, attempts - 1)))


POLICY_STATES = LeasedTable(
    AwsAccountPolicyState,
    AwsAccountPolicyState.aws_account_ref,
    AwsAccountPolicyState.next_check_at,
)


class GovernanceWorker:
    """Publishes policy versions, applies due changes and detects drift, account by account."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        platform_account_id: Callable[[], str],
        *,
        now: Callable[[], datetime] = utcnow,
        catalog: PolicyCatalog | None = None,
        comparer: Comparer | None = None,
        role_policy: RolePolicyFactory | None = None,
        sessions: SessionFactory | None = None,
        worker_id: str | None = None,
        check_interval: timedelta = CHECK_INTERVAL,
        lease_seconds: int = LEASE_SECONDS,
    ) -> None:
        self.session_factory = session_factory
        self.platform_account_id = platform_account_id
        self.now = now
        self.catalog = catalog or default_catalog()
        self._comparer = comparer
        if role_policy is None:
            if sessions is None:
                raise ValueError("governance needs a session factory to reach the roles")
            role_policy = role_policies(sessions)
        self.role_policy = role_policy
        self.worker_id = worker_id or worker_identity()
        self.check_interval = check_interval
        self.lease_seconds = lease_seconds
        self._last_stamp: datetime | None = None

    @property
    def comparer(self) -> Comparer:
        if self._comparer is None:
            self._comparer = default_comparer()
        return self._comparer

    # -- scheduling ---------------------------------------------------------------------------
    def ensure_states(self) -> int:
        """Give every verified account a governance state, due now; returns how many."""
        added = 0
        with self.session_factory() as session:
            missing = list(
                session.scalars(
                    select(AwsAccount.id)
                    .outerjoin(
                        AwsAccountPolicyState,
                        AwsAccountPolicyState.aws_account_ref == AwsAccount.id,
                    )
                    .where(
                        AwsAccount.status == "verified",
                        AwsAccountPolicyState.aws_account_ref.is_(None),
                    )
                )
            )
            for account_ref in missing:
                session.add(
                    AwsAccountPolicyState(aws_account_ref=account_ref, next_check_at=self.now())
                )
                try:
                    session.commit()
                    added += 1
                except IntegrityError:  # another worker created it first
                    session.rollback()
        return added

    def claim_due(self, limit: int = 10) -> list[str]:
        """Claim up to ``limit`` due accounts by compare-and-set on their lease."""
        with self.session_factory() as session:
            now = self.now()
            candidates = (
                select(AwsAccountPolicyState.aws_account_ref)
                .join(AwsAccount, AwsAccount.id == AwsAccountPolicyState.aws_account_ref)
                .where(
                    AwsAccount.status == "verified",
                    AwsAccountPolicyState.next_check_at <= now,
                    POLICY_STATES.free(now),
                )
                .order_by(AwsAccountPolicyState.next_check_at)
                .limit(limit)
            )
            return POLICY_STATES.claim(session, candidates, self.worker_id, self.lease_seconds, now)

    def run_once(self, limit: int = 10) -> int:
        """One governance pass over the accounts due now; returns how many were checked."""
        self.ensure_states()
        claimed = self.claim_due(limit)
        for account_ref in claimed:
            try:
                self.check_account(account_ref)
            except Exception:  # one broken account must not stop the others
                log.exception("governance pass of account %s crashed", account_ref)
                self._release(account_ref, retry=timedelta(minutes=1))
        return len(claimed)

    def run_forever(self, stop: threading.Event, idle_seconds: float = 5.0) -> None:
        while not stop.is_set():
            try:
                worked = self.run_once()
            except Exception:
                log.exception("governance loop error; continuing")
                worked = 0
            if not worked:
                stop.wait(idle_seconds)

    def _release(self, account_ref: str, retry: timedelta) -> None:
        POLICY_STATES.release(self.session_factory, account_ref, self.worker_id, self.now() + retry)

    # -- one account --------------------------------------------------------------------------
    def check_account(self, account_ref: str) -> PassReport | None:
        """The whole pass for one account this worker holds the lease on."""
        report = PassReport(account_ref)
        with self.session_factory() as session:
            state = session.get(AwsAccountPolicyState, account_ref)
            account = session.get(AwsAccount, account_ref)
            if state is None or account is None or state.lease_owner != self.worker_id:
                return None
            now = self.now()
            if account.status != "verified":
                self._finish(state, now, now + self.check_interval)
                session.commit()
                return report
            external_id = orgs.external_id_for(session, account.organization_id)
            try:
                role = self.role_policy(account, external_id)
                snapshot = role.snapshot()
            except RolePolicyError as exc:
                # Unreachable role: retried; the verification check tells the Owner why.
                report.error = state.last_error = f"reading the role failed: {exc.message}"
                self._finish(state, now, now + UNREACHABLE_RETRY)
                session.commit()
                return report
            self._record_version(session, account, state, snapshot)
            drifted_policy = self._policy_drifted(state, snapshot)
            self._progress_notices(session, account, now)
            self._publish(session, account, state, report, now)
            installed = self._apply_due(session, account, state, role, drifted_policy, report, now)
            if installed:
                try:
                    snapshot = role.snapshot()
                except RolePolicyError as exc:
                    log.warning("re-reading the role after an install failed: %s", exc.message)
            self._detect_drift(session, account, state, snapshot, external_id, report)
            self._finish(state, now, self._next_check(session, account_ref, now))
            session.commit()
        return report

    def _finish(self, state: AwsAccountPolicyState, now: datetime, next_at: datetime) -> None:
        state.checked_at = now
        state.next_check_at = next_at
        state.lease_owner = None
        state.lease_expires_at = None

    def _next_check(self, session: Session, account_ref: str, now: datetime) -> datetime:
        """The regular interval, sooner when a change falls due or is retried before it."""
        due = now + self.check_interval
        for change in self._active(session, account_ref):
            for moment in (change.effective_at, change.next_attempt_at):
                if moment is not None and now < moment < due:
                    due = moment
        return due

    def _active(self, session: Session, account_ref: str) -> list[RolePolicyChange]:
        return list(
            session.scalars(
                select(RolePolicyChange)
                .where(
                    RolePolicyChange.aws_account_ref == account_ref,
                    RolePolicyChange.status.in_(ACTIVE_STATUSES),
                )
                .order_by(RolePolicyChange.created_at)
            )
        )

    def _event(
        self,
        session: Session,
        account: AwsAccount,
        kind: str,
        message: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        session.add(
            AwsAccountEvent(
                organization_id=account.organization_id,
                aws_account_ref=account.id,
                kind=kind,
                message=message,
                detail=detail or {},
                created_at=self._stamp(),
            )
        )

    def _stamp(self) -> datetime:
        """Event times strictly increasing, so a timeline keeps the order things happened in
        even when several events share one instant of the (injected) clock."""
        stamp = self.now()
        if self._last_stamp is not None and stamp <= self._last_stamp:
            stamp = self._last_stamp + timedelta(microseconds=1)
        self._last_stamp = stamp
        return stamp

    # -- the version in force -----------------------------------------------------------------
    def _record_version(
        self,
        session: Session,
        account: AwsAccount,
        state: AwsAccountPolicyState,
        snapshot: RoleSnapshot,
    ) -> None:
        """Learn the version in force from what the role holds: on the first pass, and when
        the role now holds the latest version (the customer re-ran `aws role create`)."""
        if snapshot.default_document is None:
            return
        matched = self.catalog.match(snapshot.default_document)
        if matched is None or matched.version == state.policy_version:
            return
        latest = self.catalog.latest()
        if state.policy_version is None:
            state.policy_version = matched.version
            self._event(
                session,
                account,
                "policy.recorded",
                f"The role holds policy version {matched.version}.",
                {"version": matched.version},
            )
        elif matched.version == latest.version:
            previous = state.policy_version
            state.policy_version = matched.version
            for change in self._active(session, account.id):
                if change.to_version == matched.version:
                    change.status = "applied"
                    change.applied_at = self.now()
                    change.last_error = None
                else:
                    change.status = "superseded"
            self._event(
                session,
                account,
                "policy.adopted",
                f"The role now holds policy version {matched.version} (it had {previous}); it "
                f"was installed outside flightdeck, for example by `{ROLE_CREATE}`.",
                {"from_version": previous, "to_version": matched.version},
            )

    def _version_in_force(self, state: AwsAccountPolicyState) -> PolicyVersion | None:
        if state.policy_version is None:
            return None
        try:
            return self.catalog.get(state.policy_version)
        except Exception:
            return None

    def _policy_drifted(self, state: AwsAccountPolicyState, snapshot: RoleSnapshot) -> bool:
        in_force = self._version_in_force(state)
        return (
            in_force is None
            or snapshot.default_document is None
            or canonical(snapshot.default_document)
            != canonical(in_force.document)
        )

    # -- publishing ---------------------------------------------------------------------------
    def _publish(
        self,
        session: Session,
        account: AwsAccount,
        state: AwsAccountPolicyState,
        report: PassReport,
        now: datetime,
    ) -> None:
        """Turn "the latest version differs from the one in force" into a change."""
        latest = self.catalog.latest()
        in_force = self._version_in_force(state)
        if in_force is None or in_force.version == latest.version:
            return
        active = self._active(session, account.id)
        if any(change.to_version == latest.version for change in active):
            return
        for change in active:
            change.status = "superseded"
            self._event(
                session,
                account,
                "policy.superseded",
                f"The change to policy version {change.to_version} was replaced by version "
                f"{latest.version}.",
                {"change_id": change.id, "to_version": change.to_version},
            )
        delta = self.comparer(in_force.document, latest.document)
        words = grant_changes(in_force.document, latest.document)
        change = RolePolicyChange(
            organization_id=account.organization_id,
            aws_account_ref=account.id,
            from_version=in_force.version,
            to_version=latest.version,
            kind="expands" if delta.expands else "reduces",
            summary=words.summary(),
            reason=latest.why,
            diff=unified_diff(
                in_force.document,
                latest.document,
                f"{MANAGED_POLICY_NAME} {in_force.version}",
                f"{MANAGED_POLICY_NAME} {latest.version}",
            ),
            example=delta.example,
            statement=delta.statement,
            status="pending-notice" if delta.expands else "scheduled",
            effective_at=None if delta.expands else now,
            created_at=now,
            updated_at=now,
        )
        session.add(change)
        session.flush()
        report.created.append(change.id)
        if delta.expands:
            change.notice_ids = [n.id for n in self._send_notices(session, account, change)]
            self._event(
                session,
                account,
                "policy.notice",
                f"Policy version {latest.version} grants new access: Owners were notified; it "
                f"takes effect {NOTICE_PERIOD.days} days after the last notice is delivered.",
                {"change_id": change.id, "to_version": latest.version},
            )
        else:
            self._event(
                session,
                account,
                "policy.reduction",
                f"Policy version {latest.version} only removes access: it is installed now.",
                {"change_id": change.id, "to_version": latest.version},
            )

    def _owner_emails(self, session: Session, organization_id: str) -> list[str]:
        return list(
            session.scalars(
                select(User.email)
                .join(OrganizationMembership, OrganizationMembership.user_id == User.id)
                .where(
                    OrganizationMembership.organization_id == organization_id,
                    OrganizationMembership.role == "owner",
                )
                .order_by(User.email)
            )
        )

    def _send_notices(
        self,
        session: Session,
        account: AwsAccount,
        change: RolePolicyChange,
        recipients: list[str] | None = None,
    ) -> list[Notification]:
        subject, body = notice_mail(account, change)
        emails = (
            recipients
            if recipients is not None
            else self._owner_emails(session, account.organization_id)
        )
        queued = [
            Notification(
                organization_id=account.organization_id,
                recipient=email,
                subject=subject,
                body=body,
                kind="policy.notice",
            )
            for email in emails
        ]
        session.add_all(queued)
        session.flush()
        return queued

    def _progress_notices(self, session: Session, account: AwsAccount, now: datetime) -> None:
        """Start the 14 days once every current Owner's notice was delivered; re-send a
        notice the outbox gave up on, and send one to an Owner added meanwhile."""
        for change in self._active(session, account.id):
            if change.status != "pending-notice":
                continue
            notices = list(
                session.scalars(
                    select(Notification).where(Notification.id.in_(list(change.notice_ids)))
                )
            )
            owners = set(self._owner_emails(session, account.organization_id))
            delivered: dict[str, datetime] = {}
            waiting: set[str] = set()
            for notice in notices:
                if notice.status == "sent" and notice.sent_at is not None:
                    earlier = delivered.get(notice.recipient)
                    delivered[notice.recipient] = min(notice.sent_at, earlier or notice.sent_at)
                elif notice.status == "pending":
                    waiting.add(notice.recipient)
            resend = sorted(owners - set(delivered) - waiting)
            if resend:
                again = self._send_notices(session, account, change, resend)
                change.notice_ids = [*change.notice_ids, *(n.id for n in again)]
                continue
            if not owners or owners - set(delivered):
                continue
            last = max(delivered[email] for email in owners)
            change.notice_completed_at = last
            change.effective_at = last + NOTICE_PERIOD
            change.status = "scheduled"
            self._event(
                session,
                account,
                "policy.scheduled",
                f"Every Owner received the notice of policy version {change.to_version}; it "
                f"takes effect on {change.effective_at:%Y-%m-%d %H:%M} UTC.",
                {"change_id": change.id, "effective_at": change.effective_at.isoformat()},
            )

    # -- applying -----------------------------------------------------------------------------
    def _apply_due(
        self,
        session: Session,
        account: AwsAccount,
        state: AwsAccountPolicyState,
        role: RolePolicy,
        drifted_policy: bool,
        report: PassReport,
        now: datetime,
    ) -> bool:
        installed = False
        for change in self._active(session, account.id):
            if change.status == "pending-notice" or change.effective_at is None:
                continue
            if change.effective_at > now:
                continue
            if change.next_attempt_at is not None and change.next_attempt_at > now:
                continue
            if drifted_policy:
                change.last_error = (
                    f"held: the default version of {MANAGED_POLICY_NAME} was changed outside "
                    f"flightdeck; run `{ROLE_CREATE}` to restore it, then this change applies"
                )
                continue
            target = self.catalog.get(change.to_version)
            try:
                result = role.install(target.document)
            except RolePolicyError as exc:
                change.attempts += 1
                change.status = "failed"
                change.next_attempt_at = now + retry_delay(change.attempts)
                hint = (
                    f"; the role may not yet be allowed to update its own policy: run "
                    f"`{ROLE_CREATE}` once with your own credentials"
                    if exc.permanent
                    else ""
                )
                change.last_error = f"installing version {change.to_version} failed: {exc}{hint}"
                self._event(
                    session,
                    account,
                    "policy.failed",
                    change.last_error,
                    {"change_id": change.id, "attempts": change.attempts},
                )
                continue
            installed = True
            change.status = "applied"
            change.applied_at = now
            change.attempts += 1
            change.last_error = None
            change.next_attempt_at = None
            state.policy_version = change.to_version
            report.applied.append(change.id)
            self._event(
                session,
                account,
                "policy.applied",
                f"Policy version {change.to_version} is in force (IAM version "
                f"{result.version_id} of {MANAGED_POLICY_NAME}).",
                {
                    "change_id": change.id,
                    "from_version": change.from_version,
                    "to_version": change.to_version,
                    "iam_version_id": result.version_id,
                    "deleted_iam_version_id": result.deleted_version_id,
                },
            )
            if change.kind == "reduces":
                subject, body = reduction_mail(account, change)
                notifications.notify_owners(
                    session,
                    account.organization_id,
                    kind="policy.reduced",
                    subject=subject,
                    body=body,
                )
            drifted_policy = False
        return installed

    # -- drift --------------------------------------------------------------------------------
    def _detect_drift(
        self,
        session: Session,
        account: AwsAccount,
        state: AwsAccountPolicyState,
        snapshot: RoleSnapshot,
        external_id: str,
        report: PassReport,
    ) -> None:
        findings = drift_findings(
            snapshot,
            platform_account_id=self.platform_account_id(),
            external_id=external_id,
            version_in_force=self._version_in_force(state),
            catalog=self.catalog,
        )
        previous = {(f["key"], f["digest"]): f for f in state.drift or []}
        current = {(f.key, f.digest): f for f in findings}
        new = [f for pair, f in current.items() if pair not in previous]
        gone = [f for pair, f in previous.items() if pair not in current]
        current_keys = {f.key for f in findings}
        resolved = [f for f in gone if f["key"] not in current_keys]
        for finding in new:
            report.detected.append(finding.key)
            self._event(
                session,
                account,
                "drift.detected",
                finding.message,
                {"key": finding.key, "digest": finding.digest},
            )
        for old in resolved:
            report.resolved.append(old["key"])
            self._event(
                session,
                account,
                "drift.resolved",
                f"Back as it should be: {old['message']}",
                {"key": old["key"], "digest": old["digest"]},
            )
        if new or resolved:
            subject, body = drift_mail(account, new, [r["message"] for r in resolved], findings)
            notifications.notify_owners(
                session,
                account.organization_id,
                kind="role.drift" if new else "role.drift_resolved",
                subject=subject,
                body=body,
            )
        state.drift = [f.as_dict() for f in findings]
        state.drift_fingerprint = _digest(sorted(current)) if findings else None
        state.last_error = None


# -- mail ------------------------------------------------------------------------------------


def _example_text(example: dict[str, Any] | None) -> str:
    if not example:
        return ""
    action = example.get("action") or example.get("Action")
    resource = example.get("resource") or example.get("Resource")
    if action and resource:
        text = f"{action} on {resource}"
        context = example.get("context") or example.get("conditions")
        if context:
            text += f" with {json.dumps(context, sort_keys=True)}"
        return text
    return json.dumps(example, sort_keys=True)


def notice_mail(account: AwsAccount, change: RolePolicyChange) -> tuple[str, str]:
    subject = (
        f"flightdeck: the role in AWS account {account.account_id} will be allowed more "
        f"(policy {change.to_version}) in {NOTICE_PERIOD.days} days"
    )
    example = _example_text(change.example)
    body = "\n".join(
        [
            f"flightdeck will update {MANAGED_POLICY_NAME}, the managed policy of the role "
            f"{ROLE_NAME} in your AWS account {account.account_id}, from version "
            f"{change.from_version} to version {change.to_version}.",
            "This version lets flightdeck do things in your account it cannot do today.",
            "",
            f"When: no sooner than {NOTICE_PERIOD.days} days after this notice reached every "
            "Owner of your organization. Nothing changes before then. The exact date is "
            f"shown by `{CHANGES_COMMAND}` once every notice was delivered.",
            "",
            "What is new:",
            *(f"  {line}" for line in change.summary.splitlines()),
            *(["", f"For example, this request is newly allowed: {example}"] if example else []),
            "",
            f"Why: {change.reason}",
            "",
            "The exact change to the policy document:",
            "",
            change.diff,
            "If you do not agree, reply to your flightdeck operator before that date. "
            "Every change to the policy is also visible in your CloudTrail.",
        ]
    )
    return subject, body


def reduction_mail(account: AwsAccount, change: RolePolicyChange) -> tuple[str, str]:
    subject = (
        f"flightdeck: the role in AWS account {account.account_id} now allows less "
        f"(policy {change.to_version})"
    )
    body = "\n".join(
        [
            f"flightdeck installed version {change.to_version} of {MANAGED_POLICY_NAME} on the "
            f"role {ROLE_NAME} in your AWS account {account.account_id} (it had "
            f"{change.from_version}). It only removes access, so it applied at once.",
            "",
            "What changed:",
            *(f"  {line}" for line in change.summary.splitlines()),
            "",
            f"Why: {change.reason}",
            "",
            "The exact change to the policy document:",
            "",
            change.diff,
        ]
    )
    return subject, body


def drift_mail(
    account: AwsAccount, new: list[Finding], resolved: list[str], current: list[Finding]
) -> tuple[str, str]:
    if new:
        subject = (
            f"flightdeck: the role {ROLE_NAME} in AWS account {account.account_id} was changed "
            "outside flightdeck"
        )
    else:
        subject = (
            f"flightdeck: the role {ROLE_NAME} in AWS account {account.account_id} is back as "
            "it should be"
        )
    lines: list[str] = []
    if new:
        lines += ["Changed outside flightdeck:", *(f"  - {f.message}" for f in new), ""]
    if resolved:
        lines += ["Back as it should be:", *(f"  - {message}" for message in resolved), ""]
    if current:
        lines += [
            "If you did not make these changes, someone with IAM access to your account did: "
            "check CloudTrail. To put the role back as flightdeck declares it, run "
            f"`{ROLE_CREATE}` with your own credentials.",
        ]
    else:
        lines += ["The role is now exactly as flightdeck declares it."]
    return subject, "\n".join(lines) + "\n"
