"""Provisioning engine benchmark against an in-process emulator (moto over HTTP on loopback).

Prints: AWS API calls and wall time for one cluster create; calls for a steady-state
reconcile of an Active cluster (goal <= 5); clusters reconciled per minute by one reconcile
loop over N Active clusters (goal >= 1,000). Figures, not assertions.

    .venv/bin/python bench/provision_bench.py --clusters 200
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import boto3
from botocore.config import Config

from flightdeck.aws.emulator import RunningEmulator, start_emulator
from flightdeck.aws.provision import CachedClients, ClusterSpec, reconcile

NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, **_: Any) -> None:
        self.calls += 1


def customer_clients(emulator: RunningEmulator, counter: Counter) -> CachedClients:
    platform = emulator.platform_credentials()
    sts = boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=emulator.endpoint_url,
        aws_access_key_id=platform.access_key_id,
        aws_secret_access_key=platform.secret_access_key,
    )
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{emulator.customer_account_id}:role/flightdeck-remote-management",
        RoleSessionName="flightdeck-bench",
        ExternalId="bench-external-id",
    )["Credentials"]
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-1",
    )

    def factory(service: str) -> Any:
        client = session.client(service, endpoint_url=emulator.endpoint_url, config=NO_RETRIES)
        client.meta.events.register("before-call.*.*", counter)
        return client

    return CachedClients(factory)


def spec_for(emulator: RunningEmulator, index: int) -> ClusterSpec:
    return ClusterSpec(
        cluster_id=f"bench-{index:04d}",
        name=f"bench {index}",
        account_id=emulator.customer_account_id,
        vpc_cidr=f"10.{index % 250}.0.0/16",
    )


def create(spec: ClusterSpec, status: dict[str, Any], clients: CachedClients) -> int:
    passes = 0
    while True:
        passes += 1
        if reconcile(spec, status, clients, None).kind != "requeue":
            return passes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clusters", type=int, default=200)
    args = parser.parse_args()
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    with start_emulator() as emulator:
        counter = Counter()
        clients = customer_clients(emulator, counter)
        clients.client("iam").list_roles()  # build the IAM backend before timing
        clients.client("ec2").describe_vpcs()  # and the EC2 backend
        counter.calls = 0

        statuses: list[tuple[ClusterSpec, dict[str, Any]]] = []
        spec = spec_for(emulator, 0)
        status: dict[str, Any] = {}
        started = time.perf_counter()
        passes = create(spec, status, clients)
        create_seconds = time.perf_counter() - started
        create_calls = counter.calls
        statuses.append((spec, status))
        print(f"one create: {create_calls} AWS calls, {create_seconds:.2f} s, {passes} pass(es)")

        counter.calls = 0
        reconcile(spec, status, clients, None)
        steady_calls = counter.calls
        print(
            f"steady-state reconcile of an Active cluster: {steady_calls} AWS calls "
            f"(goal <= 5: {'met' if steady_calls <= 5 else 'missed'})"
        )

        started = time.perf_counter()
        for index in range(1, args.clusters):
            spec_i = spec_for(emulator, index)
            status_i: dict[str, Any] = {}
            create(spec_i, status_i, clients)
            statuses.append((spec_i, status_i))
        print(f"created {args.clusters} Active clusters in {time.perf_counter() - started:.0f} s")

        counter.calls = 0
        started = time.perf_counter()
        for spec_i, status_i in statuses:
            outcome = reconcile(spec_i, status_i, clients, None)
            if outcome.kind != "active":
                print(f"  {spec_i.cluster_id}: {outcome}")
        loop_seconds = time.perf_counter() - started
        per_minute = len(statuses) / loop_seconds * 60
        print(
            f"steady-state loop over {len(statuses)} Active clusters: {loop_seconds:.2f} s, "
            f"{counter.calls} AWS calls ({counter.calls / len(statuses):.1f} per cluster), "
            f"{per_minute:,.0f} clusters/minute (goal >= 1,000: ratio {per_minute / 1000:.2f})"
        )


if __name__ == "__main__":
    main()
