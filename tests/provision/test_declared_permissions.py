"""Every AWS action the engine performs is declared for its step, and nothing more.

A full create, a spec update, drift repair, an opt-in region, a plan and a delete run
against the emulator while every call is recorded with the step that made it; each call
is mapped to its IAM actions (``iam_actions_for_call``) and must be declared under that
step in ``PERMISSIONS_BY_STEP``. Declared actions no run exercised fail the test too,
except the few listed with the reason the emulator cannot reach them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flightdeck.aws.emulator import RunningEmulator
from flightdeck.aws.permissions import PERMISSIONS_BY_STEP, iam_actions_for_call
from flightdeck.aws.provision import STEP_NAMES, ClusterSpec, plan_cluster, reconcile, tag_scan
from flightdeck.aws.provision.reconciler import running
from provision.conftest import CallLog, make_clients, remove_cluster, unique_spec
from provision.helpers import converge, delete_until_done

ENGINE_STEPS = (*STEP_NAMES, "tag_scan")

# Declared, but only reachable through states the emulator cannot produce.
UNREACHABLE = {
    # A gateway endpoint that lost a route table: moto cannot remove one out of band.
    ("vpc_endpoints", "ec2:ModifyVpcEndpoint"),
}


def actions_by_step(log: CallLog) -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for call in log.calls:
        assert call.step is not None, f"{call.service}:{call.operation} ran outside any step"
        for action in iam_actions_for_call(call.service, call.operation, call.params):
            used.setdefault(call.step, set()).add(action)
    return used


def test_engine_steps_are_the_declared_step_names() -> None:
    assert set(ENGINE_STEPS) <= set(PERMISSIONS_BY_STEP)


def test_no_wildcards_are_declared() -> None:
    for actions in PERMISSIONS_BY_STEP.values():
        for action in actions:
            assert "*" not in action
            assert action.count(":") == 1


def test_every_call_is_declared_for_its_step_and_every_declaration_is_used(
    emulator: RunningEmulator, call_log: CallLog
) -> None:
    spec = unique_spec(emulator)
    clients = make_clients(emulator, spec.region, call_log)
    try:
        assert plan_cluster(spec, clients)
        status: dict[str, Any] = {}
        assert converge(spec, status, clients)[0].kind == "active"
        # A spec update: node group maximum and database class.
        changed = ClusterSpec(
            **{**spec.__dict__, "max_nodes": 30, "db_instance_type": "db.m6g.large"}
        )
        assert plan_cluster(changed, clients)
        assert converge(changed, status, clients)[0].kind == "active"
        # Drift the periodic full pass repairs: a default route pointing elsewhere.
        ec2 = make_clients(emulator, spec.region, CallLog()).client("ec2")  # not recorded
        conditions = status["conditions"]
        ec2.replace_route(
            RouteTableId=conditions["route_tables"]["resources"]["private-b"],
            DestinationCidrBlock="0.0.0.0/0",
            GatewayId=conditions["internet_gateway"]["resources"]["igw"],
        )
        later = datetime.now(UTC) + timedelta(hours=7)
        assert reconcile(changed, status, clients, None, now=later).kind == "active"
        assert plan_cluster(changed, clients, deleting=True)
        with running("tag_scan"):
            assert tag_scan(clients, changed)  # everything still there
        outside = make_clients(emulator, spec.region, CallLog())
        outside.client("s3").put_object(
            Bucket=conditions["log_bucket"]["aws_id"], Key="dag/task/1.log", Body=b"log"
        )
        assert delete_until_done(changed, status, clients)[0].kind == "deleted"
        with running("tag_scan"):
            assert tag_scan(clients, changed) == []
        # An opt-in region the role may enable.
        opt_in = unique_spec(emulator, region="af-south-1")
        opt_clients = make_clients(emulator, opt_in.region, call_log)
        assert reconcile(opt_in, {}, opt_clients, None).step == "region"
        remove_cluster(emulator, opt_in)
    finally:
        remove_cluster(emulator, spec)

    used = actions_by_step(call_log)
    undeclared = sorted(
        f"{step}: {action}"
        for step, actions in used.items()
        for action in actions
        if action not in PERMISSIONS_BY_STEP.get(step, ())
    )
    assert not undeclared, "calls not declared in PERMISSIONS_BY_STEP: " + ", ".join(undeclared)
    unused = sorted(
        f"{step}: {action}"
        for step in ENGINE_STEPS
        for action in PERMISSIONS_BY_STEP[step]
        if action not in used.get(step, set()) and (step, action) not in UNREACHABLE
    )
    assert not unused, "declared but never called: " + ", ".join(unused)


def test_plan_makes_only_read_calls(emulator: RunningEmulator, call_log: CallLog) -> None:
    spec = unique_spec(emulator)
    clients = make_clients(emulator, spec.region, call_log)
    try:
        changes = plan_cluster(spec, clients)
        assert {c.step for c in changes} == set(STEP_NAMES) - {"region"}
        assert all(c.action == "create" for c in changes)
        assert len(changes) == 30
        converge(spec, {}, clients)
        assert plan_cluster(spec, clients) == []
        bigger = ClusterSpec(**{**spec.__dict__, "max_nodes": 50})
        update = plan_cluster(bigger, clients)
        assert [(c.step, c.action, c.resource) for c in update] == [
            ("node_groups", "update", "workers")
        ]
        deletion = plan_cluster(spec, clients, deleting=True)
        assert len(deletion) >= 30
        assert all(c.action == "delete" for c in deletion)
        call_log.clear()
        plan_cluster(spec, clients)
        plan_cluster(spec, clients, deleting=True)
        operations = {c.operation for c in call_log.calls}
        assert operations
        mutating = [o for o in operations if not o.startswith(("Describe", "Get", "List", "Head"))]
        assert mutating == []
    finally:
        remove_cluster(emulator, spec)
