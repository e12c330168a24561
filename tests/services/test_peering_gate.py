"""A peering is refused, with the date and the reason, until the policy version that grants
the peering actions is in force on the account; accepted once it is. The real catalog, the
governance worker, real SMTP and an injected clock travelling the 14 days."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from flightdeck.aws.permissions import PEERING_POLICY_VERSION
from flightdeck.aws.policy_versions import default_catalog, version_key
from flightdeck.db.models import Cluster, ClusterPeering, User
from flightdeck.services.clusters import peerings
from flightdeck.services.errors import Conflict
from flightdeck.services.governance.rules import NOTICE_PERIOD
from services import test_governance as governance
from services.test_governance import World, deliver

# The governance tests' fixtures: a verified account with the real role, and real SMTP.
world = governance.world
smtp = governance.smtp


def _previous_version() -> str:
    """The newest published version that does not grant peering yet."""
    older = [v.version for v in default_catalog().history()
             if version_key(v.version) < version_key(PEERING_POLICY_VERSION)]
    return older[-1]


def _request(world: World, name: str = "warehouse") -> ClusterPeering:
    with world.session_factory() as session:
        owner = _owner(session, world)
        return peerings.request_peering(
            session, owner, world.organization_id, "prod", name=name,
            peer_account_id="444455556666", peer_region="eu-west-1",
            peer_vpc_id="vpc-0a1b2c3d", peer_cidrs=["10.1.0.0/16"], now=world.clock())


def _owner(session: Session, world: World) -> User:
    return session.scalars(select(User).where(User.email == "owner@acme.example")).one()


def test_refused_with_the_date_until_the_peering_version_is_in_force(
    world: World, smtp: tuple[Any, Any, Any]
) -> None:
    sender, _inbox, controller = smtp
    world.install_as_customer(default_catalog().get(_previous_version()).document)
    with world.session_factory() as session:
        session.add(Cluster(organization_id=world.organization_id,
                            aws_account_ref=world.account_ref, name="prod", region="us-east-1",
                            phase="Active", spec={"vpc_cidr": "172.20.0.0/19"}))
        session.commit()

    # Before governance has read the role: not before 14 days from now, and why.
    with pytest.raises(Conflict) as unknown:
        _request(world)
    assert "not known yet" in str(unknown.value)
    assert f"{world.clock() + NOTICE_PERIOD:%Y-%m-%d}" in str(unknown.value)

    worker = world.worker(default_catalog())
    worker.run_once()  # records the old version, publishes the change, queues the notices
    with pytest.raises(Conflict) as noticed:
        _request(world)
    message = str(noticed.value)
    assert "\n" not in message
    assert f"holds version {_previous_version()}" in message
    assert f"from version {PEERING_POLICY_VERSION} on" in message
    assert "14 days after every Organization Owner received its notice" in message

    controller.start()
    world.later(timedelta(minutes=1))  # the notices are due
    assert deliver(world, sender) == 2
    delivered = world.clock()
    world.later(timedelta(minutes=11))
    worker.run_once()
    [change] = world.changes()
    assert change.status == "scheduled"
    effective = delivered + NOTICE_PERIOD
    with pytest.raises(Conflict) as scheduled:
        _request(world)
    assert f"possible from {effective:%Y-%m-%d %H:%M} UTC" in str(scheduled.value)

    # Day 13: still refused, with the same date.
    world.clock.at = delivered + timedelta(days=13)
    worker.run_once()
    with pytest.raises(Conflict, match=f"{effective:%Y-%m-%d %H:%M}"):
        _request(world)

    world.clock.at = effective
    worker.run_once()
    assert world.state().policy_version == PEERING_POLICY_VERSION
    peering = _request(world)
    assert peering.phase == "requested"
