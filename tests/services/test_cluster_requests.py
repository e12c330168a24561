"""Cluster requests: validated against the reference table and gated on preflight."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.aws import session as aws
from flightdeck.services.clusters.requests import ClusterRequest, PreflightFailed, request_cluster
from flightdeck.services.errors import Conflict, InvalidInput
from services.conftest import Tenant


def _request(factory: sessionmaker[Session], tenant: Tenant, **fields: object) -> str:
    with factory() as session:
        request = ClusterRequest(**{"account": tenant.account.account_id, "name": "prod",
                                    **fields})  # type: ignore[arg-type]
        return request_cluster(
            session, tenant.owner, tenant.organization_id, request, tenant.sessions
        ).id


@pytest.mark.parametrize(("fields", "field"), [
    ({"region": "mars-north-1"}, "region"),
    ({"node_instance_type": "t2.nano"}, "node_instance_type"),
    ({"db_instance_type": "db.x1.huge"}, "db_instance_type"),
    ({"max_nodes": 0}, "max_nodes"),
    ({"name": "bad name!"}, "name"),
])
def test_unsupported_values_are_refused_naming_the_field(
    session_factory: sessionmaker[Session], tenant: Tenant, fields: dict[str, object],
    field: str,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        _request(session_factory, tenant, **fields)
    assert refused.value.field == field


def test_preflight_failure_and_warnings_gate_the_request(
    session_factory: sessionmaker[Session], tenant: Tenant, customer_profile: str
) -> None:
    with pytest.raises(PreflightFailed, match="vpc_cidr") as failed:
        _request(session_factory, tenant, vpc_cidr="8.8.0.0/19")
    assert any(c["status"] == "fail" for c in failed.value.details["checks"])  # type: ignore[index]

    # Someone else's workload in the account: a warning, accepted only with force.
    ec2 = aws.client(aws.customer_session(customer_profile), "ec2", "us-east-1")
    ec2.create_vpc(CidrBlock="10.99.0.0/16")
    with pytest.raises(PreflightFailed, match="--force"):
        _request(session_factory, tenant)
    cluster_id = _request(session_factory, tenant, force=True)
    assert cluster_id
    with pytest.raises(Conflict):
        _request(session_factory, tenant, force=True)
