"""Hostile bundles through the deployment worker on a real database: each deploy ends
rejected (never ``checking``) with a reason of at most 1 KB, its bytes are dropped, and
deploy retention is tested in test_deploy_retention.py."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from flightdeck.config import Settings
from flightdeck.db.models import Deploy, User
from flightdeck.runtime.base import (
    MAX_MESSAGE_CHARS,
    ClusterOutputs,
    CodeBundle,
    DeploymentSpec,
    RuntimeStatus,
)
from flightdeck.runtime.bundle import CONTENTS, safe_extract
from flightdeck.services.deployments import requests as deployments
from flightdeck.services.deployments.worker import DeploymentWorker
from services import test_deployments as base
from services.test_deployments import Org, _create, _get, _pass
from support import bundles

# The database, organization and settings fixtures of the deployment tests.
factory = base.factory
org = base.org
settings = base.settings


class UnpackingRuntime:
    """A healthy runtime whose deploys unpack the bundle as the local runtime does."""

    name = "unpacking"

    def apply(self, spec: DeploymentSpec, cluster: ClusterOutputs) -> RuntimeStatus:
        return RuntimeStatus("healthy")

    def status(self, spec: DeploymentSpec) -> RuntimeStatus:
        return RuntimeStatus("healthy")

    def deploy_code(self, spec: DeploymentSpec, bundle: CodeBundle) -> RuntimeStatus:
        with tempfile.TemporaryDirectory() as scratch:
            safe_extract(bundle.archive, Path(scratch) / "b", allowed=CONTENTS[bundle.kind])
        return RuntimeStatus("healthy", deploy_id=bundle.deploy_id)

    def delete(self, spec: DeploymentSpec) -> None:
        return None


def _submit(factory: sessionmaker[Session], org: Org, settings: Settings, data: bytes) -> str:
    with factory() as session:
        owner = session.get(User, org.owner.id)
        assert owner is not None
        return deployments.submit_deploy(
            session, owner, org.org_id, "analytics", data, kind="dags", description="",
            settings=settings,
        ).id


def _bundle_bytes(factory: sessionmaker[Session], deploy_id: str) -> bytes | None:
    with factory() as session:
        row = session.get(Deploy, deploy_id)
        assert row is not None
        return row.bundle


@pytest.mark.parametrize(
    ("chunks", "reason"),
    [
        (lambda: bundles.long_name(30 * 1024 * 1024, "gnu"), "extended header, over the limit"),
        (lambda: bundles.long_name(30 * 1024 * 1024, "pax"), "extended header, over the limit"),
        (lambda: bundles.pax_records(130_000), "extended header, over the limit"),
        (lambda: bundles.directories(200_000), "more than 20000 entries"),
        (lambda: bundles.directory_then_link(False), "is a link where the bundle already has"),
    ],
    ids=["gnu-long-name", "pax-long-name", "pax-records", "200k-directories", "dir-then-link"],
)
def test_a_hostile_bundle_ends_rejected_with_a_short_reason_and_is_dropped(
    factory: sessionmaker[Session],
    org: Org,
    settings: Settings,
    tmp_path: Path,
    chunks: object,
    reason: str,
) -> None:
    deployment_id = _create(factory, org, settings)
    data = bundles.write(tmp_path / "b.tar.gz", chunks()).read_bytes()  # type: ignore[operator]
    deploy_id = _submit(factory, org, settings, data)
    worker = DeploymentWorker(factory, settings, runtime_factory=lambda _s, _d: UnpackingRuntime())
    _pass(worker, factory, deployment_id)
    row = _get(factory, Deploy, deploy_id)
    assert row.status == "rejected" and reason in row.message
    assert len(row.message) <= MAX_MESSAGE_CHARS and "\n" not in row.message
    assert _bundle_bytes(factory, deploy_id) is None
    assert row.size_bytes == len(data)  # what was uploaded stays on record
