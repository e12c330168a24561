"""Create, resume, converge under throttling, fail clearly, delete: against the emulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from flightdeck.aws.emulator import RunningEmulator
from flightdeck.aws.provision import STEP_NAMES, ClusterSpec, reconcile, tag_scan
from flightdeck.aws.provision.context import CLUSTER_TAG
from flightdeck.aws.provision.errors import ROLE_REMEDY
from provision.conftest import CallLog, make_clients, remove_cluster, unique_spec
from provision.helpers import Persisted, converge, delete_until_done
from provision.inventory import EMPTY, EXPECTED_ACTIVE, inventory


def test_create_reaches_active_with_every_resource_tagged(
    spec: ClusterSpec, clients: Any, emulator: RunningEmulator
) -> None:
    status: dict[str, Any] = {}
    outcome, _passes = converge(spec, status, clients)

    assert outcome.kind == "active"
    assert status["phase"] == "Active"
    assert {k: c["state"] for k, c in status["conditions"].items()} == dict.fromkeys(
        STEP_NAMES, "Ready"
    )
    json.dumps(status)  # the lead stores it as JSON
    assert inventory(clients, spec) == EXPECTED_ACTIVE
    ec2 = clients.client("ec2")
    vpc = ec2.describe_vpcs(VpcIds=[status["conditions"]["vpc"]["aws_id"]])["Vpcs"][0]
    assert {"Key": CLUSTER_TAG, "Value": spec.cluster_id} in vpc["Tags"]
    s3 = clients.client("s3")
    bucket = status["conditions"]["log_bucket"]["aws_id"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    # Runtimes connect Airflow's metadata database to the endpoint the database step records.
    rds = clients.client("rds")
    instance = rds.describe_db_instances()["DBInstances"][0]["Endpoint"]
    recorded = status["conditions"]["database"]["resources"]["db-endpoint"]
    assert recorded == f"{instance['Address']}:{instance['Port']}"


def test_progress_events_record_ids_as_they_appear(spec: ClusterSpec, clients: Any) -> None:
    persisted = Persisted()
    status: dict[str, Any] = {}
    while reconcile(spec, status, clients, persisted).kind == "requeue":
        pass
    created = [e for e in persisted.events if e["action"] == "created"]
    assert {e["step"] for e in created} == set(STEP_NAMES) - {"region"}
    assert all(e["aws_id"] for e in created)
    assert persisted.events[-1] == {
        "step": "cluster",
        "action": "ready",
        "resource": "cluster",
        "aws_id": None,
        "message": "cluster is Active",
    }
    assert persisted.status == status


def test_steady_state_reconcile_of_an_active_cluster_costs_at_most_five_calls(
    spec: ClusterSpec, clients: Any, call_log: CallLog
) -> None:
    status: dict[str, Any] = {}
    converge(spec, status, clients)
    before = json.dumps(status, sort_keys=True)
    call_log.clear()

    outcome = reconcile(spec, status, clients, None)

    assert outcome.kind == "active"
    assert call_log.count() <= 5
    assert all(c.operation.startswith("Describe") for c in call_log.calls)
    assert json.dumps(status, sort_keys=True) == before


def test_a_node_group_deleted_out_of_band_is_noticed_and_recreated(
    spec: ClusterSpec, clients: Any
) -> None:
    status: dict[str, Any] = {}
    converge(spec, status, clients)
    eks = clients.client("eks")
    eks.delete_nodegroup(clusterName=f"flightdeck-{spec.cluster_id}", nodegroupName="workers")

    outcome, passes = converge(spec, status, clients)

    assert outcome.kind == "active"
    assert passes >= 1
    assert inventory(clients, spec) == EXPECTED_ACTIVE


def test_periodic_full_pass_repairs_a_deleted_route(spec: ClusterSpec, clients: Any) -> None:
    status: dict[str, Any] = {}
    converge(spec, status, clients)
    ec2 = clients.client("ec2")
    table_id = status["conditions"]["route_tables"]["resources"]["private-a"]
    ec2.delete_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0")

    assert reconcile(spec, status, clients, None).kind == "active"  # trusted: not yet seen
    later = datetime.now(UTC) + timedelta(hours=7)
    outcome = reconcile(spec, status, clients, None, now=later)

    assert outcome.kind == "active"
    routes = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]["Routes"]
    default = [r for r in routes if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    assert default[0]["NatGatewayId"] == status["conditions"]["nat_gateways"]["resources"]["nat-a"]


def test_spec_change_updates_node_group_maximum(spec: ClusterSpec, clients: Any) -> None:
    status: dict[str, Any] = {}
    converge(spec, status, clients)
    bigger = ClusterSpec(**{**spec.__dict__, "max_nodes": 40})

    outcome, _ = converge(bigger, status, clients)

    assert outcome.kind == "active"
    nodegroup = clients.client("eks").describe_nodegroup(
        clusterName=f"flightdeck-{spec.cluster_id}", nodegroupName="workers"
    )["nodegroup"]
    assert nodegroup["scalingConfig"]["maxSize"] == 40
    assert inventory(clients, spec) == EXPECTED_ACTIVE


class KillWorker(BaseException):
    """The worker process dies: not an Exception, so nothing in the engine catches it."""


def run_until_killed(
    spec: ClusterSpec, clients: Any, should_die: Any, keep_last: bool
) -> dict[str, Any]:
    """Reconcile until ``should_die(event)``; return the status the database would hold.

    ``keep_last=False`` loses the fatal event's write: the crash falls between AWS
    answering a create and the status being persisted.
    """
    snapshots: list[dict[str, Any]] = [{}]

    def on_progress(status: dict[str, Any], event: dict[str, Any]) -> None:
        Persisted.__call__(persisted, status, event)
        snapshots.append(persisted.status)
        if should_die(event):
            raise KillWorker

    persisted = Persisted()
    status: dict[str, Any] = {}
    with pytest.raises(KillWorker):
        for _ in range(50):
            reconcile(spec, status, clients, on_progress)
    return snapshots[-1] if keep_last else snapshots[-2]


@pytest.mark.parametrize("resume_from", ["persisted", "empty"])
@pytest.mark.parametrize("step_index", range(len(STEP_NAMES)))
def test_killed_after_any_step_resumes_to_active_without_duplicates(
    spec: ClusterSpec, clients: Any, step_index: int, resume_from: str
) -> None:
    step = STEP_NAMES[step_index]
    saved = run_until_killed(
        spec,
        clients,
        lambda e: e["step"] == step and e["action"] == "ready",
        keep_last=True,
    )
    assert saved["conditions"][step]["state"] == "Ready"
    status = saved if resume_from == "persisted" else {}

    outcome, _ = converge(spec, status, clients)

    assert outcome.kind == "active"
    assert inventory(clients, spec) == EXPECTED_ACTIVE


# The first resource each step creates (the step's own id counts as the crash window).
FIRST_CREATES = [name for name in STEP_NAMES if name != "region"]


@pytest.mark.parametrize("step", FIRST_CREATES)
def test_killed_between_a_create_and_its_persisted_id_resumes_without_duplicates(
    spec: ClusterSpec, clients: Any, step: str
) -> None:
    saved = run_until_killed(
        spec,
        clients,
        lambda e: e["step"] == step and e["action"] == "created",
        keep_last=False,
    )
    recorded = saved.get("conditions", {}).get(step, {}).get("resources", {})
    assert recorded == {} or saved["conditions"][step]["state"] != "Ready"

    outcome, _ = converge(spec, saved, clients)

    assert outcome.kind == "active"
    assert inventory(clients, spec) == EXPECTED_ACTIVE


def test_converges_with_thirty_percent_of_calls_throttled(
    spec: ClusterSpec, clients: Any, emulator: RunningEmulator, call_log: CallLog
) -> None:
    emulator.control.inject_faults(0.3, seed=20261121)
    status: dict[str, Any] = {}

    outcome, passes = converge(spec, status, clients, max_passes=400)

    throttled = emulator.control.faults()[0]["injected"]
    emulator.control.clear_faults()
    assert outcome.kind == "active"
    assert throttled > 10
    assert passes > 1
    assert inventory(clients, spec) == EXPECTED_ACTIVE

    emulator.control.inject_faults(0.3, seed=7)
    deleted, _ = delete_until_done(spec, status, clients, max_passes=400)
    emulator.control.clear_faults()
    assert deleted.kind == "deleted"
    assert inventory(clients, spec) == EMPTY


def test_delete_leaves_nothing_and_proves_it_by_tag_scan(
    spec: ClusterSpec, clients: Any, emulator: RunningEmulator
) -> None:
    status: dict[str, Any] = {}
    converge(spec, status, clients)
    assert len(tag_scan(clients, spec)) == sum(EXPECTED_ACTIVE.values())

    outcome, passes = delete_until_done(spec, status, clients)

    assert outcome.kind == "deleted"
    assert status["phase"] == "Deleted"
    assert passes > 1  # EKS, node groups and RDS are waited for across passes
    assert tag_scan(clients, spec) == []
    assert inventory(clients, spec) == EMPTY
    # Deleting a deleted cluster is a no-op that succeeds.
    again, _ = delete_until_done(spec, {}, clients)
    assert again.kind == "deleted"


def test_delete_after_a_crash_with_empty_status_finds_everything_by_tag(
    spec: ClusterSpec, clients: Any
) -> None:
    converge(spec, {}, clients)
    outcome, _ = delete_until_done(spec, {}, clients)
    assert outcome.kind == "deleted"
    assert inventory(clients, spec) == EMPTY


def test_missing_permission_fails_with_aws_message_and_the_remedy(
    spec: ClusterSpec, clients: Any, emulator: RunningEmulator
) -> None:
    emulator.control.inject_faults(
        1.0, service="ec2", action="CreateVpc", code="UnauthorizedOperation"
    )
    status: dict[str, Any] = {}
    persisted = Persisted()

    outcome = reconcile(spec, status, clients, persisted)

    assert outcome.kind == "failed"
    assert outcome.step == "vpc"
    assert outcome.aws_code == "UnauthorizedOperation"
    assert outcome.remedy == ROLE_REMEDY
    assert status["phase"] == "Failed"
    assert status["last_error"]["remedy"] == ROLE_REMEDY
    assert "UnauthorizedOperation" in status["last_error"]["message"]
    assert persisted.events[-1]["action"] == "error"

    emulator.control.clear_faults()  # the customer re-ran `flightdeck aws role create`
    outcome, _ = converge(spec, status, clients)
    assert outcome.kind == "active"


def test_cidr_conflict_with_an_existing_vpc_is_permanent(spec: ClusterSpec, clients: Any) -> None:
    converge(spec, {}, clients)
    other = ClusterSpec(**{**spec.__dict__, "vpc_cidr": "10.30.0.0/16"})

    outcome, _ = converge(other, {}, clients)

    assert outcome.kind == "failed"
    assert outcome.step == "vpc"
    assert "cannot change" in outcome.remedy


OPT_IN = "af-south-1"


def test_disabled_opt_in_region_is_enabled_when_the_role_may(
    emulator: RunningEmulator, call_log: CallLog
) -> None:
    spec = unique_spec(emulator, region=OPT_IN)
    clients = make_clients(emulator, OPT_IN, call_log)
    emulator.control.set_region_transition_reads(2)
    status: dict[str, Any] = {}

    first = reconcile(spec, status, clients, None)
    assert first.kind == "requeue"
    assert first.step == "region"
    assert "ENABLING" in first.message
    assert [c.operation for c in call_log.calls] == ["GetRegionOptStatus", "EnableRegion"]

    outcome, _ = converge(spec, status, clients)
    assert outcome.kind == "active"
    remove_cluster(emulator, spec)


def test_disabled_opt_in_region_without_permission_fails_with_the_steps(
    emulator: RunningEmulator, call_log: CallLog
) -> None:
    spec = unique_spec(emulator, region=OPT_IN)
    clients = make_clients(emulator, OPT_IN, call_log)
    emulator.control.inject_faults(1.0, action="EnableRegion", code="AccessDeniedException")

    outcome = reconcile(spec, {}, clients, None)

    assert outcome.kind == "failed"
    assert outcome.step == "region"
    assert "AWS Regions" in outcome.remedy
    assert f"aws account enable-region --region-name {OPT_IN}" in outcome.remedy
    assert not any(c.service == "ec2" for c in call_log.calls)
