"""Service-level fixtures: a real database (both backends) and the AWS emulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.aws import session as aws
from flightdeck.aws.emulator import RunningEmulator
from flightdeck.aws.role_setup import ensure_cross_account_role
from flightdeck.db.engine import make_engine, make_session_factory
from flightdeck.db.models import AwsAccount, Cluster, User
from flightdeck.services import auth, orgs
from flightdeck.services import secrets as password_secrets
from support.emulator import sessions_for


@pytest.fixture
def session_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


@dataclass
class Tenant:
    owner: User
    organization_id: str
    account: AwsAccount
    sessions: aws.SessionFactory  # the control plane's, acting as the platform


@pytest.fixture
def tenant(session_factory: sessionmaker[Session], emulator_env: RunningEmulator,
           customer_profile: str, monkeypatch: pytest.MonkeyPatch) -> Tenant:
    """An organization whose customer account has the real role, created by the customer
    with their own credentials, and registered as verified."""
    monkeypatch.setattr(password_secrets, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with session_factory() as session:
        result = auth.sign_up(session, email="owner@acme.example",
                              password="correct horse battery staple", organization_name="Acme")
        assert result.organization is not None
        org_id = result.organization.id
        external_id = orgs.external_id_for(session, org_id)
        role = ensure_cross_account_role(aws.customer_session(customer_profile),
                                         emulator_env.platform_account_id, external_id)
        account = AwsAccount(organization_id=org_id,
                             account_id=emulator_env.customer_account_id,
                             role_arn=role.role_arn, status="verified")
        session.add(account)
        session.commit()
        return Tenant(owner=result.user, organization_id=org_id, account=account,
                      sessions=sessions_for(emulator_env))


def add_cluster(session_factory: sessionmaker[Session], tenant: Tenant,
                name: str = "prod", vpc_cidr: str = "172.20.0.0/19") -> str:
    """A cluster row as an accepted request leaves it (preflight is tested on its own)."""
    with session_factory() as session:
        cluster = Cluster(
            organization_id=tenant.organization_id, aws_account_ref=tenant.account.id,
            name=name, region="us-east-1", phase="Pending",
            spec={"name": name, "account_id": tenant.account.account_id, "region": "us-east-1",
                  "node_instance_type": "m5.xlarge", "max_nodes": 20,
                  "db_instance_type": "db.m6g.large", "vpc_cidr": vpc_cidr},
        )
        session.add(cluster)
        session.commit()
        return cluster.id
