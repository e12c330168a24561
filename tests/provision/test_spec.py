"""The frozen cluster request refuses what AWS could never build."""

from __future__ import annotations

import dataclasses

import pytest

from flightdeck.aws.provision import ClusterSpec, InvalidClusterSpec


def make(**overrides: object) -> ClusterSpec:
    fields: dict[str, object] = {"cluster_id": "c-1", "name": "n", "account_id": "222222222222"}
    fields.update(overrides)
    return ClusterSpec(**fields)  # type: ignore[arg-type]


def test_defaults_follow_the_request_form() -> None:
    spec = make()
    assert (spec.region, spec.node_instance_type, spec.max_nodes) == ("us-east-1", "m5.xlarge", 20)


def test_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        make().max_nodes = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    "overrides",
    [
        {"cluster_id": "Upper"},
        {"cluster_id": "x" * 41},
        {"account_id": "12345"},
        {"region": "moon-1"},
        {"max_nodes": 0},
        {"nat_gateway_count": 3},
        {"vpc_cidr": "10.0.0.0/24"},
        {"vpc_cidr": "8.8.0.0/16"},
        {"vpc_cidr": "10.0.0.0/33"},
    ],
)
def test_rejects_impossible_requests(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidClusterSpec):
        make(**overrides)


def test_fingerprint_changes_with_any_field() -> None:
    assert make().fingerprint() == make().fingerprint()
    assert make().fingerprint() != make(max_nodes=21).fingerprint()
