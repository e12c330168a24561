"""Preflight's passing output reads as a sentence for the user: flightdeck's own clusters in
the region are listed apart (they are no "other workload"), and the emulator's missing
policy simulator shows as what was done instead, not as its raw "NotImplemented" text."""

from __future__ import annotations

from typing import Any

from aws.test_preflight import REGION, by_name, customer, role_session  # noqa: F401
from flightdeck.aws.permissions import RESOURCE_PREFIX
from flightdeck.aws.preflight import run_preflight
from flightdeck.aws.session import client


def test_flightdeck_s_own_cluster_is_listed_apart_and_the_check_passes(
    role_session: Any,  # noqa: F811
    customer: Any,  # noqa: F811
) -> None:
    clean = by_name(run_preflight(role_session, region=REGION))["account_clean"]
    assert clean.status == "pass"
    assert clean.message == f"The account runs no other workload in {REGION}."

    own = f"{RESOURCE_PREFIX}prod-1a2b3c"
    client(customer, "eks", REGION).create_cluster(
        name=own, roleArn="arn:aws:iam::222222222222:role/x", resourcesVpcConfig={"subnetIds": []}
    )
    checks = by_name(run_preflight(role_session, region=REGION))
    clean = checks["account_clean"]
    assert clean.status == "pass"
    assert clean.message == (
        f"Nothing but flightdeck's own clusters runs in {REGION}. flightdeck's own resources "
        f"there: EKS cluster {own}."
    )
    assert clean.details["flightdeck"]["eks_clusters"] == [own]
    assert clean.details["found"]["eks_clusters"] == []

    installer = checks["installer_permissions"]
    assert installer.status == "pass"
    assert "NotImplemented" not in installer.message
    assert installer.message.endswith(
        "(IAM's policy simulator did not answer, so the role's policy documents were read)."
    )
    assert "NotImplemented" in installer.details["simulation_error"]  # kept for support


def test_a_foreign_workload_is_named_beside_flightdeck_s_own(
    role_session: Any,  # noqa: F811
    customer: Any,  # noqa: F811
) -> None:
    eks = client(customer, "eks", REGION)
    for name in ("legacy-eks", f"{RESOURCE_PREFIX}prod-1a2b3c"):
        eks.create_cluster(
            name=name,
            roleArn="arn:aws:iam::222222222222:role/x",
            resourcesVpcConfig={"subnetIds": []},
        )
    clean = by_name(run_preflight(role_session, region=REGION))["account_clean"]
    assert clean.status == "warn"
    assert clean.message == (
        f"The account is not dedicated to flightdeck: {REGION} holds EKS cluster legacy-eks. "
        f"flightdeck's own resources there: EKS cluster {RESOURCE_PREFIX}prod-1a2b3c."
    )
