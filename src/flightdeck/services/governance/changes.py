"""The publish → notice → apply state machine of an account's role policy.

What the platform may do in a customer account is the managed policy on the customer's role,
so changing it follows one rule: a published version that grants anything new takes effect
no sooner than 14 days after the notice reached every Organization Owner; one that only
removes access is installed at once and Owners are told. Notices go through the outbox, so
the 14 days start at the last delivery, not when the mail was queued: while SMTP is down
the clock does not run. A change moves pending-notice → scheduled → applied (or failed and
retried with backoff; superseded when a newer version replaces it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from flightdeck.aws.iam_documents import canonical
from flightdeck.aws.permissions import MANAGED_POLICY_NAME
from flightdeck.aws.policy_versions import PolicyCatalog, PolicyVersion
from flightdeck.aws.policy_versions.diff import grant_changes, unified_diff
from flightdeck.aws.role_policy import RolePolicy, RolePolicyError, RoleSnapshot
from flightdeck.db.models import AwsAccount, AwsAccountPolicyState, Notification, RolePolicyChange
from flightdeck.phases import ACTIVE_POLICY_CHANGE_STATUSES, PolicyChangeStatus
from flightdeck.services import notifications
from flightdeck.services.governance.comparer import Comparer, default_comparer
from flightdeck.services.governance.mail import notice_mail, reduction_mail
from flightdeck.services.governance.rules import (
    MAX_RETRY_DELAY,
    NOTICE_PERIOD,
    ROLE_CREATE,
)
from flightdeck.services.governance.timeline import Timeline


def retry_delay(attempts: int) -> timedelta:
    """After a failed install: one minute, doubling, at most an hour."""
    return min(MAX_RETRY_DELAY, timedelta(seconds=60 * 2 ** max(0, attempts - 1)))


@dataclass
class PassReport:
    """What one account's pass did; for logs and tests."""

    account_ref: str
    error: str | None = None
    created: list[str] = field(default_factory=list)  # change ids
    applied: list[str] = field(default_factory=list)
    detected: list[str] = field(default_factory=list)  # finding keys
    resolved: list[str] = field(default_factory=list)


class PolicyChanges:
    """The changes of the accounts one worker governs, against one catalog of versions."""

    def __init__(
        self,
        catalog: PolicyCatalog,
        timeline: Timeline,
        now: Callable[[], datetime],
        comparer: Comparer | None = None,
    ) -> None:
        self.catalog = catalog
        self.timeline = timeline
        self.now = now
        self._comparer = comparer

    @property
    def comparer(self) -> Comparer:
        if self._comparer is None:
            self._comparer = default_comparer()
        return self._comparer

    def next_check(
        self, session: Session, account_ref: str, now: datetime, interval: timedelta
    ) -> datetime:
        """The regular interval, sooner when a change falls due or is retried before it."""
        due = now + interval
        for change in self.active(session, account_ref):
            for moment in (change.effective_at, change.next_attempt_at):
                if moment is not None and now < moment < due:
                    due = moment
        return due

    def active(self, session: Session, account_ref: str) -> list[RolePolicyChange]:
        return list(
            session.scalars(
                select(RolePolicyChange)
                .where(
                    RolePolicyChange.aws_account_ref == account_ref,
                    RolePolicyChange.status.in_(ACTIVE_POLICY_CHANGE_STATUSES),
                )
                .order_by(RolePolicyChange.created_at)
            )
        )

    # -- the version in force -----------------------------------------------------------------
    def record_version(
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
            self.timeline.event(
                session,
                account,
                "policy.recorded",
                f"The role holds policy version {matched.version}.",
                {"version": matched.version},
            )
        elif matched.version == latest.version:
            previous = state.policy_version
            state.policy_version = matched.version
            for change in self.active(session, account.id):
                if change.to_version == matched.version:
                    change.status = PolicyChangeStatus.APPLIED
                    change.applied_at = self.now()
                    change.last_error = None
                else:
                    change.status = PolicyChangeStatus.SUPERSEDED
            self.timeline.event(
                session,
                account,
                "policy.adopted",
                f"The role now holds policy version {matched.version} (it had {previous}); it "
                f"was installed outside flightdeck, for example by `{ROLE_CREATE}`.",
                {"from_version": previous, "to_version": matched.version},
            )

    def version_in_force(self, state: AwsAccountPolicyState) -> PolicyVersion | None:
        if state.policy_version is None:
            return None
        try:
            return self.catalog.get(state.policy_version)
        except Exception:
            return None

    def policy_drifted(self, state: AwsAccountPolicyState, snapshot: RoleSnapshot) -> bool:
        in_force = self.version_in_force(state)
        return (
            in_force is None
            or snapshot.default_document is None
            or canonical(snapshot.default_document) != canonical(in_force.document)
        )

    # -- publishing ---------------------------------------------------------------------------
    def publish(
        self,
        session: Session,
        account: AwsAccount,
        state: AwsAccountPolicyState,
        report: PassReport,
        now: datetime,
    ) -> None:
        """Turn "the latest version differs from the one in force" into a change."""
        latest = self.catalog.latest()
        in_force = self.version_in_force(state)
        if in_force is None or in_force.version == latest.version:
            return
        active = self.active(session, account.id)
        if any(change.to_version == latest.version for change in active):
            return
        for change in active:
            change.status = PolicyChangeStatus.SUPERSEDED
            self.timeline.event(
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
            status=PolicyChangeStatus.PENDING_NOTICE
            if delta.expands
            else PolicyChangeStatus.SCHEDULED,
            effective_at=None if delta.expands else now,
            created_at=now,
            updated_at=now,
        )
        session.add(change)
        session.flush()
        report.created.append(change.id)
        if delta.expands:
            change.notice_ids = [n.id for n in self.send_notices(session, account, change)]
            self.timeline.event(
                session,
                account,
                "policy.notice",
                f"Policy version {latest.version} grants new access: Owners were notified; it "
                f"takes effect {NOTICE_PERIOD.days} days after the last notice is delivered.",
                {"change_id": change.id, "to_version": latest.version},
            )
        else:
            self.timeline.event(
                session,
                account,
                "policy.reduction",
                f"Policy version {latest.version} only removes access: it is installed now.",
                {"change_id": change.id, "to_version": latest.version},
            )

    def send_notices(
        self,
        session: Session,
        account: AwsAccount,
        change: RolePolicyChange,
        recipients: list[str] | None = None,
    ) -> list[Notification]:
        """Queue the notice for every Owner (or only ``recipients``); flushed for their ids."""
        subject, body = notice_mail(account, change)
        queued = notifications.notify_owners(
            session,
            account.organization_id,
            kind="policy.notice",
            subject=subject,
            body=body,
            only=recipients,
        )
        session.flush()
        return queued

    def progress_notices(self, session: Session, account: AwsAccount, now: datetime) -> None:
        """Start the 14 days once every current Owner's notice was delivered; re-send a
        notice the outbox gave up on, and send one to an Owner added meanwhile."""
        for change in self.active(session, account.id):
            if change.status != PolicyChangeStatus.PENDING_NOTICE:
                continue
            notices = list(
                session.scalars(
                    select(Notification).where(Notification.id.in_(list(change.notice_ids)))
                )
            )
            owners = set(notifications.owner_emails(session, account.organization_id))
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
                again = self.send_notices(session, account, change, resend)
                change.notice_ids = [*change.notice_ids, *(n.id for n in again)]
                continue
            if not owners or owners - set(delivered):
                continue
            last = max(delivered[email] for email in owners)
            change.notice_completed_at = last
            change.effective_at = last + NOTICE_PERIOD
            change.status = PolicyChangeStatus.SCHEDULED
            self.timeline.event(
                session,
                account,
                "policy.scheduled",
                f"Every Owner received the notice of policy version {change.to_version}; it "
                f"takes effect on {change.effective_at:%Y-%m-%d %H:%M} UTC.",
                {"change_id": change.id, "effective_at": change.effective_at.isoformat()},
            )

    # -- applying -----------------------------------------------------------------------------
    def apply_due(
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
        for change in self.active(session, account.id):
            if change.status == PolicyChangeStatus.PENDING_NOTICE or change.effective_at is None:
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
                change.status = PolicyChangeStatus.FAILED
                change.next_attempt_at = now + retry_delay(change.attempts)
                hint = (
                    f"; the role may not yet be allowed to update its own policy: run "
                    f"`{ROLE_CREATE}` once with your own credentials"
                    if exc.permanent
                    else ""
                )
                change.last_error = f"installing version {change.to_version} failed: {exc}{hint}"
                self.timeline.event(
                    session,
                    account,
                    "policy.failed",
                    change.last_error,
                    {"change_id": change.id, "attempts": change.attempts},
                )
                continue
            installed = True
            change.status = PolicyChangeStatus.APPLIED
            change.applied_at = now
            change.attempts += 1
            change.last_error = None
            change.next_attempt_at = None
            state.policy_version = change.to_version
            report.applied.append(change.id)
            self.timeline.event(
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
