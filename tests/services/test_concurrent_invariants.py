"""Rules over several rows hold under concurrent requests, on SQLite and PostgreSQL: an
organization keeps an Owner, a workspace keeps its Admin, one Deployment per name."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.config import Settings
from flightdeck.db.engine import make_engine, make_session_factory
from flightdeck.db.models import (
    AwsAccount,
    Cluster,
    Deployment,
    OrganizationMembership,
    User,
    WorkspaceMembership,
)
from flightdeck.services import auth, orgs, workspaces
from flightdeck.services import secrets as password_secrets
from flightdeck.services.deployments import requests as deployments
from flightdeck.services.errors import Conflict, DomainError

PAIRS = 20
PASSWORD = "correct horse battery staple"


@pytest.fixture
def factory(database_url: str, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[sessionmaker[Session]]:
    monkeypatch.setattr(password_secrets, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def _user(session: Session, email: str, org: str) -> tuple[User, str]:
    result = auth.sign_up(session, email=email, password=PASSWORD, organization_name=org)
    assert result.organization is not None
    return result.user, result.organization.id


def _run_in_pairs(calls: list[tuple[Callable[[], Any], Callable[[], Any]]]) -> list[Any]:
    """Run each pair's two calls at the same instant (a barrier per pair), all pairs at
    once; return what each call returned or raised."""

    def attempt(call: Callable[[], Any], barrier: threading.Barrier) -> Any:
        barrier.wait(timeout=60)
        try:
            return call()
        except Exception as exc:  # returned, so the test can tell expected refusals
            return exc

    with ThreadPoolExecutor(max_workers=2 * len(calls)) as pool:
        futures = []
        for first, second in calls:
            barrier = threading.Barrier(2)
            futures.append(pool.submit(attempt, first, barrier))
            futures.append(pool.submit(attempt, second, barrier))
        return [future.result(timeout=120) for future in futures]


def _expected_refusals(results: list[Any]) -> None:
    """Every failure is a domain refusal (Conflict/Forbidden), never a database error."""
    unexpected = [r for r in results if isinstance(r, Exception)
                  and not isinstance(r, DomainError)]
    assert unexpected == [], unexpected


def test_twenty_concurrent_demotion_pairs_leave_every_organization_an_owner(
    factory: sessionmaker[Session],
) -> None:
    worlds = []
    with factory() as session:
        for n in range(PAIRS):
            alice, org_id = _user(session, f"alice{n}@acme.example", f"Org {n}")
            bob, _ = _user(session, f"bob{n}@acme.example", f"Bob own {n}")
            session.add(OrganizationMembership(organization_id=org_id, user_id=bob.id,
                                               role="owner"))
            session.commit()
            worlds.append((org_id, alice.id, bob.id))

    def demote(org_id: str, actor_id: str, target_id: str) -> Callable[[], Any]:
        def call() -> Any:
            with factory() as session:
                actor = session.get(User, actor_id)
                assert actor is not None
                return orgs.set_member_role(session, actor, org_id, target_id, "member").role
        return call

    results = _run_in_pairs([(demote(org, a, b), demote(org, b, a)) for org, a, b in worlds])
    _expected_refusals(results)
    with factory() as session:
        for org_id, _, _ in worlds:
            owners = session.scalar(select(func.count()).where(
                OrganizationMembership.organization_id == org_id,
                OrganizationMembership.role == "owner"))
            assert owners == 1, f"organization {org_id} has {owners} Owners"
    # Exactly one demotion of each pair went through; the other was refused.
    assert sum(1 for r in results if r == "member") == PAIRS


def test_concurrent_removals_of_two_owners_keep_one(factory: sessionmaker[Session]) -> None:
    worlds = []
    with factory() as session:
        for n in range(PAIRS // 2):
            alice, org_id = _user(session, f"alice{n}@acme.example", f"Org {n}")
            bob, _ = _user(session, f"bob{n}@acme.example", f"Bob own {n}")
            session.add(OrganizationMembership(organization_id=org_id, user_id=bob.id,
                                               role="owner"))
            session.commit()
            worlds.append((org_id, alice.id, bob.id))

    def remove(org_id: str, actor_id: str, target_id: str) -> Callable[[], Any]:
        def call() -> Any:
            with factory() as session:
                actor = session.get(User, actor_id)
                assert actor is not None
                orgs.remove_member(session, actor, org_id, target_id)
                return "removed"
        return call

    results = _run_in_pairs([(remove(org, a, b), remove(org, b, a)) for org, a, b in worlds])
    _expected_refusals(results)
    with factory() as session:
        for org_id, _, _ in worlds:
            owners = session.scalar(select(func.count()).where(
                OrganizationMembership.organization_id == org_id,
                OrganizationMembership.role == "owner"))
            assert owners == 1


def test_concurrent_demotions_of_two_workspace_admins_keep_one(
    factory: sessionmaker[Session],
) -> None:
    worlds = []
    with factory() as session:
        for n in range(PAIRS // 2):
            owner, org_id = _user(session, f"owner{n}@acme.example", f"Org {n}")
            workspace = workspaces.create_workspace(session, owner, org_id, "data")
            admins = []
            for who in ("ann", "ben"):
                user, _ = _user(session, f"{who}{n}@acme.example", f"{who} {n}")
                session.add(OrganizationMembership(organization_id=org_id, user_id=user.id,
                                                   role="member"))
                session.add(WorkspaceMembership(workspace_id=workspace.id, user_id=user.id,
                                                role="admin"))
                admins.append(user.id)
            session.commit()
            worlds.append((org_id, workspace.id, admins[0], admins[1]))

    def demote(org_id: str, ws_id: str, actor_id: str, target_id: str) -> Callable[[], Any]:
        def call() -> Any:
            with factory() as session:
                actor = session.get(User, actor_id)
                assert actor is not None
                return workspaces.set_workspace_member(
                    session, actor, org_id, ws_id, target_id, "member").role
        return call

    results = _run_in_pairs([(demote(o, w, a, b), demote(o, w, b, a))
                             for o, w, a, b in worlds])
    _expected_refusals(results)
    with factory() as session:
        for _, ws_id, _, _ in worlds:
            admins = session.scalar(select(func.count()).where(
                WorkspaceMembership.workspace_id == ws_id, WorkspaceMembership.role == "admin"))
            assert admins == 1


def test_concurrent_creates_of_one_name_make_one_deployment(
    factory: sessionmaker[Session], tmp_path: Any
) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="k" * 40)
    worlds = []
    with factory() as session:
        for n in range(PAIRS // 2):
            owner, org_id = _user(session, f"owner{n}@acme.example", f"Org {n}")
            workspace = workspaces.create_workspace(session, owner, org_id, "data")
            account = AwsAccount(organization_id=org_id, account_id="222222222222",
                                 role_arn="arn:aws:iam::222222222222:role/r", status="verified")
            session.add(account)
            session.flush()
            session.add(Cluster(organization_id=org_id, aws_account_ref=account.id,
                                name="prod", region="us-east-1", phase="Active",
                                spec={"account_id": "222222222222"}))
            session.commit()
            worlds.append((org_id, workspace.id, owner.id))

    def create(org_id: str, ws_id: str, owner_id: str) -> Callable[[], Any]:
        def call() -> Any:
            with factory() as session:
                owner = session.get(User, owner_id)
                assert owner is not None
                request = deployments.DeploymentRequest(
                    name="analytics", workspace=ws_id, cluster="prod", airflow_version="3.1.0")
                return deployments.create_deployment(session, owner, org_id, request,
                                                     settings).id
        return call

    results = _run_in_pairs([(create(*world), create(*world)) for world in worlds])
    _expected_refusals(results)
    assert sum(1 for r in results if isinstance(r, Conflict)) == len(worlds)
    with factory() as session:
        for org_id, _, _ in worlds:
            count = session.scalar(select(func.count()).where(
                Deployment.organization_id == org_id, Deployment.name == "analytics"))
            assert count == 1
