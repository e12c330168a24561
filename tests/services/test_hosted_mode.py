"""Hosted mode: a platform-owned account from the pool, same role, same cluster path."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.aws.emulator import RunningEmulator
from flightdeck.aws.session import SessionFactory
from flightdeck.config import Settings
from flightdeck.db.models import User
from flightdeck.services import auth, onboarding
from flightdeck.services.clusters.engine import aws_engine
from flightdeck.services.clusters.worker import ReconcileWorker
from flightdeck.services.errors import Conflict, InvalidInput
from services.test_reconcile_worker import drive

HOSTED_ACCOUNT = "444444444444"


def _owner(factory: sessionmaker[Session], email: str, org: str) -> tuple[User, str]:
    with factory() as session:
        result = auth.sign_up(session, email=email, password="correct horse battery staple",
                              organization_name=org)
        assert result.organization is not None
        return result.user, result.organization.id


def test_hosted_account_is_set_up_verified_and_runs_a_cluster(
    session_factory: sessionmaker[Session], emulator_env: RunningEmulator,
    aws_sessions: SessionFactory,
) -> None:
    settings = Settings(hosted_mode=True, hosted_account_pool=HOSTED_ACCOUNT)
    owner, org_id = _owner(session_factory, "owner@acme.example", "Acme")
    with session_factory() as session:
        account, checks = onboarding.provision_hosted_account(
            session, owner, org_id, settings, aws_sessions
        )
        assert account.hosted and account.account_id == HOSTED_ACCOUNT
        assert account.status == "verified", [c for c in checks if c.status == "fail"]
        assert account.role_arn.endswith(":role/flightdeck-remote-management")
        again, _ = onboarding.provision_hosted_account(
            session, owner, org_id, settings, aws_sessions
        )
        assert again.id == account.id  # idempotent

        from flightdeck.services.clusters.requests import ClusterRequest, request_cluster

        cluster = request_cluster(session, owner, org_id,
                                  ClusterRequest(account=HOSTED_ACCOUNT, name="hosted"),
                                  aws_sessions)
    worker = ReconcileWorker(session_factory, aws_engine(aws_sessions))
    assert drive(worker, session_factory, cluster.id, ("Active", "Failed")) == "Active"

    other, other_org = _owner(session_factory, "second@beta.example", "Beta")
    with session_factory() as session, pytest.raises(Conflict, match="POOL"):
        onboarding.provision_hosted_account(session, other, other_org, settings, aws_sessions)


def test_hosted_mode_off_is_refused_with_the_alternative(
    session_factory: sessionmaker[Session], aws_sessions: SessionFactory
) -> None:
    owner, org_id = _owner(session_factory, "owner@acme.example", "Acme")
    with session_factory() as session, pytest.raises(InvalidInput, match="role create"):
        onboarding.provision_hosted_account(session, owner, org_id, Settings(), aws_sessions)
