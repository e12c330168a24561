"""Clients into the customer account of the shared emulator, with every AWS call recorded.

The engine receives clients built from assumed-role credentials (platform account →
``flightdeck-remote-management`` in the customer account), as in production. botocore's
own retries are switched off so throttling reaches the engine's classification instead
of being absorbed by botocore.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.config import Config

from flightdeck.aws.emulator import RunningEmulator
from flightdeck.aws.provision import CachedClients, ClusterSpec
from flightdeck.aws.provision.reconciler import current_step

NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})


@dataclass
class RecordedCall:
    service: str
    operation: str
    params: dict[str, Any]
    step: str | None


@dataclass
class CallLog:
    """Every API call the engine made, in order, with the step that made it."""

    calls: list[RecordedCall] = field(default_factory=list)

    def clear(self) -> None:
        self.calls.clear()

    def count(self) -> int:
        return len(self.calls)


def assumed_role_session(emulator: RunningEmulator, region: str) -> boto3.Session:
    platform = emulator.platform_credentials()
    sts = boto3.client(
        "sts",
        region_name=region,
        endpoint_url=emulator.endpoint_url,
        aws_access_key_id=platform.access_key_id,
        aws_secret_access_key=platform.secret_access_key,
    )
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{emulator.customer_account_id}:role/flightdeck-remote-management",
        RoleSessionName="flightdeck-provision-tests",
        ExternalId="test-external-id",
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def make_clients(
    emulator: RunningEmulator,
    region: str,
    log: CallLog,
    hooks: list[Callable[..., Any]] | None = None,
) -> CachedClients:
    session = assumed_role_session(emulator, region)

    def factory(service: str) -> Any:
        client = session.client(service, endpoint_url=emulator.endpoint_url, config=NO_RETRIES)

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            log.calls.append(RecordedCall(service, model.name, dict(params), current_step.get()))

        client.meta.events.register("provide-client-params.*.*", record)
        for hook in hooks or []:
            client.meta.events.register("before-call.*.*", hook)
        return client

    return CachedClients(factory)


@pytest.fixture
def call_log() -> CallLog:
    return CallLog()


@pytest.fixture(scope="session")
def provision_emulator(aws_emulator: RunningEmulator) -> Iterator[RunningEmulator]:
    """The shared emulator, with AWS managed IAM policies loaded, shared by these tests.

    Why not ``emulator_env``: it resets moto after every test, and rebuilding the IAM
    backend with AWS managed policies (which the EKS roles attach; moto loads them only when
    ``MOTO_IAM_LOAD_MANAGED_POLICIES`` is set as the backend is built, so in this process)
    plus the EC2 backend costs 3-10 s per test. Isolation comes instead from a unique
    cluster id and VPC CIDR per test; counts are per cluster (see ``inventory``).
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        aws_emulator.control.reset(moto=True)
        yield aws_emulator
    aws_emulator.control.reset(moto=True)


@pytest.fixture
def emulator(provision_emulator: RunningEmulator) -> Iterator[RunningEmulator]:
    """The emulator for one test; faults and region overrides are cleared afterwards."""
    yield provision_emulator
    provision_emulator.control.reset(moto=False)


_serial = itertools.count(1)


def unique_spec(emulator: RunningEmulator, **overrides: Any) -> ClusterSpec:
    """A cluster no other test shares: its own id and its own VPC CIDR."""
    number = next(_serial)
    fields: dict[str, Any] = {
        "cluster_id": f"c{number:03d}-{uuid.uuid4().hex[:6]}",
        "name": "analytics",
        "account_id": emulator.customer_account_id,
        "region": "us-east-1",
        "node_instance_type": "m5.xlarge",
        "max_nodes": 20,
        "db_instance_type": "db.t4g.medium",
        "vpc_cidr": f"10.{number % 250}.0.0/16",
    }
    fields.update(overrides)
    return ClusterSpec(**fields)


@pytest.fixture
def spec(emulator: RunningEmulator) -> ClusterSpec:
    return unique_spec(emulator)


def remove_cluster(emulator: RunningEmulator, spec: ClusterSpec) -> None:
    """Delete what a test left (found by tag), so the shared account stays small and fast."""
    from flightdeck.aws.provision import delete_cluster

    emulator.control.reset(moto=False)
    clients = make_clients(emulator, spec.region, CallLog())
    for _ in range(20):
        if delete_cluster(spec, {}, clients, None).kind == "deleted":
            return


@pytest.fixture
def clients(
    emulator: RunningEmulator, spec: ClusterSpec, call_log: CallLog
) -> Iterator[CachedClients]:
    yield make_clients(emulator, spec.region, call_log)
    remove_cluster(emulator, spec)
