"""The governance worker: account by account, publish policy versions, apply due changes
(``changes.py``) and detect drift (``drift.py``).

The pass compares the role with what it should be: trust policy, attached policies (exactly
``FlightdeckCrossAccountRole``), inline policies (none) and the managed policy's default
version (the version in force). Each distinct out-of-band change is reported once (a
timeline event and an Owner email), and again when it is undone.

A pass runs per account under a lease (``services/leases.py``), so several control-plane
processes never notify or install twice. The clock is injected (``now``) so tests can
travel 14 days.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.aws.policy_versions import PolicyCatalog, default_catalog
from flightdeck.aws.role_policy import RolePolicy, RolePolicyError, RoleSnapshot, role_policy_for
from flightdeck.aws.session import SessionFactory
from flightdeck.db.models import AwsAccount, AwsAccountPolicyState
from flightdeck.db.types import utcnow
from flightdeck.services import notifications, orgs
from flightdeck.services.governance.changes import PassReport, PolicyChanges
from flightdeck.services.governance.comparer import Comparer
from flightdeck.services.governance.drift import digest, drift_findings
from flightdeck.services.governance.mail import drift_mail
from flightdeck.services.governance.rules import UNREACHABLE_RETRY
from flightdeck.services.governance.timeline import Timeline
from flightdeck.services.leases import LeasedTable, LeasedWorker

log = logging.getLogger(__name__)

CHECK_INTERVAL = timedelta(minutes=10)
LEASE_SECONDS = 120

RolePolicyFactory = Callable[[AwsAccount, str], RolePolicy]


def role_policies(sessions: SessionFactory) -> RolePolicyFactory:
    """Each account's role policy through ``sessions``' cached role sessions."""

    def open_role_policy(account: AwsAccount, external_id: str) -> RolePolicy:
        return role_policy_for(account.role_arn, external_id, sessions=sessions)

    return open_role_policy


POLICY_STATES = LeasedTable(
    AwsAccountPolicyState,
    AwsAccountPolicyState.aws_account_ref,
    AwsAccountPolicyState.next_check_at,
)


class GovernanceWorker(LeasedWorker):
    """Publishes policy versions, applies due changes and detects drift, account by account."""

    table = POLICY_STATES
    noun = "AWS account's role policy"
    idle_seconds = 5.0

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        platform_account_id: Callable[[], str],
        *,
        now: Callable[[], datetime] = utcnow,
        catalog: PolicyCatalog | None = None,
        comparer: Comparer | None = None,
        role_policy: RolePolicyFactory,
        worker_id: str | None = None,
        check_interval: timedelta = CHECK_INTERVAL,
        lease_seconds: int = LEASE_SECONDS,
    ) -> None:
        super().__init__(session_factory, lease_seconds=lease_seconds, worker_id=worker_id, now=now)
        self.platform_account_id = platform_account_id
        self.catalog = catalog or default_catalog()
        self.role_policy = role_policy
        self.check_interval = check_interval
        self.timeline = Timeline(now)
        self.changes = PolicyChanges(self.catalog, self.timeline, now, comparer)

    # -- scheduling ---------------------------------------------------------------------------
    def before_claim(self) -> None:
        self.ensure_states()

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

    def candidates(self, now: datetime) -> Select[Any]:
        return (
            select(AwsAccountPolicyState.aws_account_ref)
            .join(AwsAccount, AwsAccount.id == AwsAccountPolicyState.aws_account_ref)
            .where(
                AwsAccount.status == "verified",
                AwsAccountPolicyState.next_check_at <= now,
                POLICY_STATES.free(now),
            )
            .order_by(AwsAccountPolicyState.next_check_at)
        )

    # -- one account --------------------------------------------------------------------------
    def work_on(self, key: str) -> PassReport | None:
        return self.check_account(key)

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
            self.changes.record_version(session, account, state, snapshot)
            drifted_policy = self.changes.policy_drifted(state, snapshot)
            self.changes.progress_notices(session, account, now)
            self.changes.publish(session, account, state, report, now)
            installed = self.changes.apply_due(
                session, account, state, role, drifted_policy, report, now
            )
            if installed:
                try:
                    snapshot = role.snapshot()
                except RolePolicyError as exc:
                    log.warning("re-reading the role after an install failed: %s", exc.message)
            self._detect_drift(session, account, state, snapshot, external_id, report)
            self._finish(
                state, now, self.changes.next_check(session, account_ref, now, self.check_interval)
            )
            session.commit()
        return report

    def _finish(self, state: AwsAccountPolicyState, now: datetime, next_at: datetime) -> None:
        state.checked_at = now
        state.next_check_at = next_at
        state.lease_owner = None
        state.lease_expires_at = None

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
            version_in_force=self.changes.version_in_force(state),
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
            self.timeline.event(
                session,
                account,
                "drift.detected",
                finding.message,
                {"key": finding.key, "digest": finding.digest},
            )
        for old in resolved:
            report.resolved.append(old["key"])
            self.timeline.event(
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
        state.drift_fingerprint = digest(sorted(current)) if findings else None
        state.last_error = None
