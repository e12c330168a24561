"""Governance of the cross-account role against the emulator, a real database and real SMTP:
14 days' notice for expanding versions, reductions at once, drift reported once."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from argon2 import PasswordHasher
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.aws import session as aws
from flightdeck.aws.emulator import RunningEmulator
from flightdeck.aws.permissions import ROLE_NAME, managed_policy_document
from flightdeck.aws.policy_versions import PolicyCatalog, default_catalog, load
from flightdeck.aws.role_setup import ensure_cross_account_role
from flightdeck.aws.role_template import trust_policy_document
from flightdeck.config import Settings
from flightdeck.db.models import (
    AwsAccount,
    AwsAccountEvent,
    AwsAccountPolicyState,
    Notification,
    OrganizationMembership,
    RolePolicyChange,
    User,
)
from flightdeck.db.types import utcnow
from flightdeck.notify.mail import SmtpSender
from flightdeck.services import auth, notifications, orgs
from flightdeck.services import secrets as password_secrets
from flightdeck.services.governance.comparer import default_comparer
from flightdeck.services.governance.rules import NOTICE_PERIOD
from flightdeck.services.governance.worker import GovernanceWorker, role_policies
from support.emulator import sessions_for
from support.smtp import Inbox, free_port

BASE, NEXT, SMALLER = "2030-01-01.1", "2030-01-01.2", "2030-01-01.3"
GAINED = "ec2:DescribeRegions"  # what BASE lacks and NEXT grants
DROPPED = "cloudformation:ListStacks"  # what SMALLER no longer grants


def without(document: dict[str, Any], action: str) -> dict[str, Any]:
    statements = []
    for statement in document["Statement"]:
        actions = [a for a in statement["Action"] if a != action]
        if actions:
            statements.append({**statement, "Action": actions})
    return {**document, "Statement": statements}


def write_catalog(directory: Path, versions: dict[str, dict[str, Any]]) -> PolicyCatalog:
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, document in versions.items():
        (directory / f"{name}.json").write_text(json.dumps(document, indent=2))
        entries.append(f"## {name}\n\nWhat changed: test version {name}.\n\n"
                       f"Why: because test {name} needs it.\n")
    (directory / "CHANGELOG.md").write_text("\n".join(entries))
    return load(directory)


@pytest.fixture
def documents() -> dict[str, dict[str, Any]]:
    declared = managed_policy_document()  # keeps the policy-version actions in every version
    return {BASE: without(declared, GAINED), NEXT: declared, SMALLER: without(declared, DROPPED)}


@pytest.fixture
def catalogs(tmp_path: Path, documents: dict[str, dict[str, Any]]) -> dict[str, PolicyCatalog]:
    return {
        "expanding": write_catalog(tmp_path / "a", {BASE: documents[BASE], NEXT: documents[NEXT]}),
        "all": write_catalog(tmp_path / "b", documents),
    }


class Clock:
    def __init__(self) -> None:
        self.at = utcnow()

    def __call__(self) -> datetime:
        return self.at


@dataclass
class World:
    session_factory: sessionmaker[Session]
    organization_id: str
    account_ref: str
    role_arn: str
    policy_arn: str
    customer: Any  # the customer's own boto3 session
    platform: str
    external_id: str
    clock: Clock
    sessions: aws.SessionFactory

    def worker(self, catalog: PolicyCatalog, worker_id: str = "w1") -> GovernanceWorker:
        return GovernanceWorker(self.session_factory, lambda: self.platform, now=self.clock,
                                role_policy=role_policies(self.sessions),
                                catalog=catalog, worker_id=worker_id)

    @property
    def iam(self) -> Any:
        return aws.client(self.customer, "iam")

    def install_as_customer(self, document: dict[str, Any]) -> None:
        self.iam.create_policy_version(PolicyArn=self.policy_arn,
                                       PolicyDocument=json.dumps(document), SetAsDefault=True)

    def default_document(self) -> dict[str, Any]:
        iam = self.iam
        default = iam.get_policy(PolicyArn=self.policy_arn)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=self.policy_arn, VersionId=default)[
            "PolicyVersion"]["Document"]
        return document if isinstance(document, dict) else json.loads(document)

    def version_count(self) -> int:
        return len(self.iam.list_policy_versions(PolicyArn=self.policy_arn)["Versions"])

    def rows(self, model: Any, **where: Any) -> list[Any]:
        with self.session_factory() as session:
            query = select(model)
            for name, value in where.items():
                query = query.where(getattr(model, name) == value)
            return list(session.scalars(query.order_by(model.created_at)))

    def state(self) -> AwsAccountPolicyState:
        with self.session_factory() as session:
            state = session.get(AwsAccountPolicyState, self.account_ref)
            assert state is not None
            return state

    def events(self, kind: str | None = None) -> list[AwsAccountEvent]:
        found = self.rows(AwsAccountEvent, aws_account_ref=self.account_ref)
        return [e for e in found if kind is None or e.kind == kind]

    def mails(self, kind: str) -> list[Notification]:
        return self.rows(Notification, kind=kind)

    def changes(self) -> list[RolePolicyChange]:
        return self.rows(RolePolicyChange, aws_account_ref=self.account_ref)

    def later(self, delta: timedelta) -> None:
        self.clock.at = self.clock.at + delta


@pytest.fixture
def world(session_factory: sessionmaker[Session], emulator_env: RunningEmulator,
          customer_profile: str, monkeypatch: pytest.MonkeyPatch) -> World:
    """Two Organization Owners; the role created by the customer with their own credentials
    and registered as verified."""
    monkeypatch.setattr(password_secrets, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with session_factory() as session:
        result = auth.sign_up(session, email="owner@acme.example",
                              password="correct horse battery staple", organization_name="Acme")
        assert result.organization is not None
        org_id = result.organization.id
        second = User(email="second-owner@acme.example", password_hash="x")
        session.add(second)
        session.flush()
        session.add(OrganizationMembership(organization_id=org_id, user_id=second.id,
                                           role="owner"))
        external_id = orgs.external_id_for(session, org_id)
        customer = aws.customer_session(customer_profile)
        role = ensure_cross_account_role(customer, emulator_env.platform_account_id, external_id)
        account = AwsAccount(organization_id=org_id, account_id=emulator_env.customer_account_id,
                             role_arn=role.role_arn, status="verified")
        session.add(account)
        session.commit()
        clock = Clock()
        # The outbox stamps deliveries with its own clock: the test's, so days can pass.
        monkeypatch.setattr(notifications, "utcnow", clock)
        return World(session_factory, org_id, account.id, role.role_arn, role.policy_arn,
                     customer, emulator_env.platform_account_id, external_id, clock,
                     sessions_for(emulator_env))


# -- SMTP ------------------------------------------------------------------------------------






@pytest.fixture
def smtp() -> Iterator[tuple[SmtpSender, Inbox, Controller]]:
    """A sender and a real SMTP server on loopback that is down until ``controller.start()``."""
    port = free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    yield SmtpSender(Settings(smtp_host="127.0.0.1", smtp_port=port)), inbox, controller
    with contextlib.suppress(AssertionError, RuntimeError):  # never started
        controller.stop()


def deliver(world: World, sender: SmtpSender, limit: int = 50) -> int:
    with world.session_factory() as session:
        return notifications.deliver_due(session, sender, limit=limit)


# -- the 14-day rule -------------------------------------------------------------------------


def test_an_expanding_version_applies_14_days_after_the_last_owner_got_the_notice(
    world: World, catalogs: dict[str, PolicyCatalog], documents: dict[str, dict[str, Any]],
    smtp: tuple[SmtpSender, Inbox, Controller],
) -> None:
    sender, inbox, controller = smtp
    world.install_as_customer(documents[BASE])  # the role holds the older version
    worker = world.worker(catalogs["expanding"])

    assert worker.run_once() == 1
    assert world.state().policy_version == BASE
    [change] = world.changes()
    assert (change.kind, change.status, change.from_version, change.to_version) == (
        "expands", "pending-notice", BASE, NEXT)
    assert change.effective_at is None
    assert f"Newly allowed: {GAINED} on *" in change.summary
    assert f'+        "{GAINED}",' in change.diff
    assert change.example is not None and GAINED in json.dumps(change.example)
    notices = world.mails("policy.notice")
    assert sorted(n.recipient for n in notices) == ["owner@acme.example",
                                                     "second-owner@acme.example"]
    body = notices[0].body
    assert GAINED in body and f"Why: because test {NEXT} needs it." in body
    assert "14 days after this notice reached every Owner" in body and change.diff in body
    assert world.external_id not in body

    # SMTP is down: nothing delivered, so the clock does not start, however long it takes.
    assert deliver(world, sender) == 0
    world.later(timedelta(days=20))
    worker.run_once()
    [change] = world.changes()
    assert change.status == "pending-notice" and change.effective_at is None
    assert world.default_document() == documents[BASE]

    controller.start()  # the retries are due by now (20 days later)
    assert deliver(world, sender, limit=1) == 1  # one Owner has it, the other not yet
    first_delivery = world.clock.at
    world.later(timedelta(hours=5))
    worker.run_once()
    assert world.changes()[0].status == "pending-notice"
    assert deliver(world, sender) == 1
    last_delivery = world.clock.at
    assert len(inbox.messages) == 2
    assert sorted(n.sent_at for n in world.mails("policy.notice")) == [first_delivery,
                                                                        last_delivery]

    world.clock.at = last_delivery + timedelta(days=13)
    worker.run_once()
    [change] = world.changes()
    assert change.status == "scheduled"
    assert change.notice_completed_at == last_delivery
    assert change.effective_at == last_delivery + NOTICE_PERIOD
    assert world.default_document() == documents[BASE]  # day 13: not yet

    world.clock.at = first_delivery + NOTICE_PERIOD  # 14 days after the first only
    worker.run_once()
    assert world.changes()[0].status == "scheduled"
    assert world.default_document() == documents[BASE]

    world.clock.at = last_delivery + NOTICE_PERIOD
    worker.run_once()
    [change] = world.changes()
    assert change.status == "applied" and change.applied_at == world.clock.at
    assert world.default_document() == documents[NEXT]
    assert world.version_count() <= 5
    assert world.state().policy_version == NEXT
    assert [e.kind for e in world.events()] == [
        "policy.recorded", "policy.notice", "policy.scheduled", "policy.applied"]
    assert world.events("drift.detected") == []  # the platform's own install is no drift


def test_a_reducing_version_applies_at_once_and_owners_are_told(
    world: World, catalogs: dict[str, PolicyCatalog], documents: dict[str, dict[str, Any]],
) -> None:
    worker = world.worker(catalogs["all"])  # the role holds NEXT (the declared document)
    worker.run_once()
    [change] = world.changes()
    assert (change.kind, change.status, change.from_version, change.to_version) == (
        "reduces", "applied", NEXT, SMALLER)
    assert f"No longer allowed: {DROPPED} on *" in change.summary
    assert world.default_document() == documents[SMALLER]
    assert world.state().policy_version == SMALLER
    assert world.mails("policy.notice") == []
    informed = world.mails("policy.reduced")
    assert sorted(n.recipient for n in informed) == ["owner@acme.example",
                                                      "second-owner@acme.example"]
    assert DROPPED in informed[0].body and "applied at once" in informed[0].body
    world.later(timedelta(minutes=11))
    worker.run_once()
    assert len(world.changes()) == 1 and world.events("drift.detected") == []


def test_a_newer_version_supersedes_a_pending_one_and_is_noticed_again(
    world: World, catalogs: dict[str, PolicyCatalog], documents: dict[str, dict[str, Any]],
) -> None:
    world.install_as_customer(documents[BASE])
    world.worker(catalogs["expanding"]).run_once()
    assert len(world.mails("policy.notice")) == 2
    world.later(timedelta(minutes=11))
    world.worker(catalogs["all"]).run_once()  # SMALLER published: still more than BASE
    first, second = world.changes()
    assert first.status == "superseded"
    assert (second.from_version, second.to_version, second.kind, second.status) == (
        BASE, SMALLER, "expands", "pending-notice")
    assert len(world.mails("policy.notice")) == 4
    assert world.default_document() == documents[BASE]


def test_a_failed_install_is_retried_with_backoff_and_visible(
    world: World, catalogs: dict[str, PolicyCatalog], documents: dict[str, dict[str, Any]],
    emulator_env: RunningEmulator,
) -> None:
    emulator_env.control.inject_faults(1.0, service="iam", action="CreatePolicyVersion",
                                       code="AccessDenied")
    worker = world.worker(catalogs["all"])
    worker.run_once()
    [change] = world.changes()
    assert change.status == "failed" and change.attempts == 1
    assert change.last_error and "AccessDenied" in change.last_error
    assert "flightdeck aws role create" in change.last_error
    assert change.next_attempt_at is not None and change.next_attempt_at > world.clock.at
    assert world.mails("policy.reduced") == []
    assert world.default_document() == documents[NEXT]

    emulator_env.control.clear_faults()
    world.later(timedelta(seconds=30))  # before the retry is due: nothing happens
    worker.claim_due()  # not due either
    assert world.changes()[0].attempts == 1
    world.clock.at = change.next_attempt_at
    worker.run_once()
    [change] = world.changes()
    assert change.status == "applied" and change.last_error is None
    assert world.default_document() == documents[SMALLER]
    assert len(world.mails("policy.reduced")) == 2
    assert [e.kind for e in world.events() if e.kind.startswith("policy.")] == [
        "policy.recorded", "policy.reduction", "policy.failed", "policy.applied"]


def test_the_customer_installing_the_latest_version_is_adopted(
    world: World, catalogs: dict[str, PolicyCatalog], documents: dict[str, dict[str, Any]],
) -> None:
    world.install_as_customer(documents[BASE])
    worker = world.worker(catalogs["expanding"])
    worker.run_once()
    ensure_cross_account_role(world.customer, world.platform, world.external_id)  # back to NEXT
    world.later(timedelta(minutes=11))
    worker.run_once()
    [change] = world.changes()
    assert change.status == "applied"
    assert world.state().policy_version == NEXT
    assert world.events("policy.adopted") and world.events("drift.detected") == []


# -- drift -----------------------------------------------------------------------------------


def test_out_of_band_changes_are_reported_once_each_and_when_undone(world: World) -> None:
    worker = world.worker(default_catalog())  # the real published versions
    worker.run_once()
    assert world.state().policy_version == default_catalog().latest().version
    assert world.state().drift == [] and world.events("drift.detected") == []

    iam = world.iam
    trust = trust_policy_document(world.platform, world.external_id)
    trust["Statement"].append({"Effect": "Allow", "Action": "sts:AssumeRole",
                               "Principal": {"AWS": "arn:aws:iam::999999999999:root"}})
    iam.update_assume_role_policy(RoleName=ROLE_NAME, PolicyDocument=json.dumps(trust))
    iam.attach_role_policy(RoleName=ROLE_NAME, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.put_role_policy(RoleName=ROLE_NAME, PolicyName="debugging", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    wider = managed_policy_document()
    wider["Statement"].append({"Sid": "Wider", "Effect": "Allow", "Action": "s3:GetObject",
                               "Resource": "*"})
    world.install_as_customer(wider)

    world.later(timedelta(minutes=11))
    worker.run_once()
    report = world.events("drift.detected")
    keys = sorted(e.detail["key"] for e in report)
    assert keys == ["attached:arn:aws:iam::aws:policy/ReadOnlyAccess", "inline:debugging",
                    "policy_document", "trust_policy"]
    messages = {e.detail["key"]: e.message for e in report}
    assert "999999999999" in messages["trust_policy"]
    assert "Newly allowed: s3:GetObject on *" in messages["policy_document"]
    [mail, other] = world.mails("role.drift")
    assert {mail.recipient, other.recipient} == {"owner@acme.example", "second-owner@acme.example"}
    for text in (mail.body, *messages.values(), json.dumps([e.detail for e in report])):
        assert world.external_id not in text
    assert "ReadOnlyAccess" in mail.body and "debugging" in mail.body
    assert "flightdeck aws role create" in mail.body

    world.later(timedelta(minutes=11))
    worker.run_once()  # the same drift: not reported again
    assert len(world.events("drift.detected")) == 4 and len(world.mails("role.drift")) == 2

    iam.delete_role_policy(RoleName=ROLE_NAME, PolicyName="debugging")
    iam.put_role_policy(RoleName=ROLE_NAME, PolicyName="debugging", PolicyDocument=json.dumps(
        {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}))
    world.later(timedelta(minutes=11))
    worker.run_once()  # a different change under the same name is a new drift
    assert len(world.events("drift.detected")) == 5
    assert world.events("drift.resolved") == []

    ensure_cross_account_role(world.customer, world.platform, world.external_id)
    world.later(timedelta(minutes=11))
    worker.run_once()
    resolved = sorted(e.detail["key"] for e in world.events("drift.resolved"))
    assert resolved == keys
    assert len(world.mails("role.drift_resolved")) == 2
    assert world.state().drift == [] and world.state().drift_fingerprint is None
    assert world.changes() == []  # drift never turns into a policy change


def test_a_due_change_waits_while_the_policy_itself_drifted(
    world: World, catalogs: dict[str, PolicyCatalog], documents: dict[str, dict[str, Any]],
) -> None:
    worker = world.worker(catalogs["expanding"])
    worker.run_once()  # the role holds NEXT, the latest: nothing to do
    world.install_as_customer(documents[BASE])  # the customer rolls the policy back by hand
    world.later(timedelta(minutes=11))
    worker.run_once()
    [event] = world.events("drift.detected")
    assert event.detail["key"] == "policy_document"
    assert f"it is the published version {BASE}" in event.message
    assert world.changes() == []  # nothing to publish: NEXT is still the version in force


def test_two_workers_never_check_the_same_account_at_once(
    world: World, catalogs: dict[str, PolicyCatalog],
) -> None:
    first, second = world.worker(catalogs["all"], "w1"), world.worker(catalogs["all"], "w2")
    assert first.ensure_states() == 1 and second.ensure_states() == 0
    assert first.claim_due() == [world.account_ref]
    assert second.claim_due() == []
    assert second.check_account(world.account_ref) is None  # not its lease: does nothing
    assert world.changes() == []
    report = first.check_account(world.account_ref)
    assert report is not None and report.applied
    assert world.state().lease_owner is None
    assert second.claim_due() == []  # not due again for the check interval


def test_unverified_accounts_are_left_alone(
    world: World, catalogs: dict[str, PolicyCatalog]
) -> None:
    with world.session_factory() as session:
        session.execute(update(AwsAccount).values(status="failed"))
        session.commit()
    assert world.worker(catalogs["all"]).run_once() == 0
    assert world.changes() == [] and world.events() == []


def test_the_published_version_5_expands_version_4() -> None:
    catalog = default_catalog()
    old, new = catalog.get("2026-11-21.4").document, catalog.get("2026-11-21.5").document
    comparer = default_comparer()
    delta = comparer(old, new)
    assert delta.expands and delta.example is not None
    assert delta.example["action"] in ("iam:ListPolicyVersions", "iam:CreatePolicyVersion",
                                       "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion")
    assert delta.example["resource"].endswith(":policy/FlightdeckCrossAccountRole")
    assert delta.statement is not None
    assert delta.statement == {"index": delta.statement["index"],
                               **new["Statement"][delta.statement["index"]]}
    assert not comparer(new, old).expands


def test_a_notice_the_outbox_gave_up_on_is_sent_again_and_new_owners_get_one(
    world: World, catalogs: dict[str, PolicyCatalog], documents: dict[str, dict[str, Any]],
) -> None:
    world.install_as_customer(documents[BASE])
    worker = world.worker(catalogs["expanding"])
    worker.run_once()
    with world.session_factory() as session:
        session.execute(update(Notification)
                        .where(Notification.recipient == "second-owner@acme.example")
                        .values(status="failed", attempts=notifications.MAX_ATTEMPTS))
        third = User(email="third-owner@acme.example", password_hash="x")
        session.add(third)
        session.flush()
        session.add(OrganizationMembership(organization_id=world.organization_id,
                                           user_id=third.id, role="owner"))
        session.commit()
    world.later(timedelta(minutes=11))
    worker.run_once()
    pending = [n.recipient for n in world.mails("policy.notice") if n.status == "pending"]
    assert sorted(pending) == ["owner@acme.example", "second-owner@acme.example",
                               "third-owner@acme.example"]
    [change] = world.changes()
    assert change.status == "pending-notice" and len(change.notice_ids) == 4
