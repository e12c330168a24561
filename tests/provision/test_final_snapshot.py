"""Deleting a cluster keeps a final snapshot of its metadata database unless it was
requested without one (FLIGHTDECK_RDS_FINAL_SNAPSHOT=false)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from flightdeck.aws.emulator import RunningEmulator
from flightdeck.aws.provision import ClusterSpec, plan_cluster
from flightdeck.aws.provision.database import final_snapshot_identifier
from provision.conftest import CallLog, make_clients, remove_cluster, unique_spec
from provision.helpers import converge, delete_until_done


def _snapshots(clients: Any, spec: ClusterSpec) -> list[str]:
    """The account's snapshots of this cluster's database."""
    snapshots = clients.client("rds").describe_db_snapshots()["DBSnapshots"]
    return [s["DBSnapshotIdentifier"] for s in snapshots
            if s["DBSnapshotIdentifier"].startswith(f"flightdeck-{spec.cluster_id}")]


@pytest.fixture
def snapshot_clients(emulator: RunningEmulator) -> Iterator[tuple[ClusterSpec, Any]]:
    spec = unique_spec(emulator)
    yield spec, make_clients(emulator, spec.region, CallLog())
    remove_cluster(emulator, spec)


def test_delete_keeps_a_final_snapshot_by_default(
    snapshot_clients: tuple[ClusterSpec, Any],
) -> None:
    spec, clients = snapshot_clients
    assert spec.db_final_snapshot is True
    status: dict[str, Any] = {}
    converge(spec, status, clients)
    planned = [c for c in plan_cluster(spec, clients, deleting=True)
               if c.resource == "db-instance"]
    assert planned[0].detail == f"final snapshot {final_snapshot_identifier(spec.cluster_id)}"
    assert delete_until_done(spec, status, clients)[0].kind == "deleted"
    assert _snapshots(clients, spec) == [final_snapshot_identifier(spec.cluster_id)]


def test_without_the_setting_no_snapshot_is_kept(
    snapshot_clients: tuple[ClusterSpec, Any],
) -> None:
    spec, clients = snapshot_clients
    spec = dataclasses.replace(spec, db_final_snapshot=False)
    status: dict[str, Any] = {}
    converge(spec, status, clients)
    assert delete_until_done(spec, status, clients)[0].kind == "deleted"
    assert _snapshots(clients, spec) == []

