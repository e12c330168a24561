"""CIDR math of the cluster VPC: pure, deterministic, private side larger."""

from __future__ import annotations

import ipaddress
import itertools

import pytest

from flightdeck.aws.provision.network_plan import plan_network


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "172.16.0.0/17", "192.168.32.0/19", "10.1.0.0/18"])
def test_four_disjoint_subnets_inside_the_vpc_with_private_larger(cidr: str) -> None:
    plan = plan_network(cidr)
    vpc = ipaddress.ip_network(cidr)
    networks = {s.key: ipaddress.ip_network(s.cidr) for s in plan.subnets}

    assert sorted(networks) == ["private-a", "private-b", "public-a", "public-b"]
    assert all(n.subnet_of(vpc) for n in networks.values())  # type: ignore[arg-type]
    for a, b in itertools.combinations(networks.values(), 2):
        assert not a.overlaps(b)
    assert all(
        networks[p.key].num_addresses > networks[q.key].num_addresses
        for p in plan.private
        for q in plan.public
    )
    assert {s.az_index for s in plan.public} == {0, 1}
    assert {s.az_index for s in plan.private} == {0, 1}


def test_layout_of_a_slash_16() -> None:
    plan = plan_network("10.20.0.0/16")
    assert {s.key: s.cidr for s in plan.subnets} == {
        "public-a": "10.20.128.0/20",
        "public-b": "10.20.144.0/20",
        "private-a": "10.20.0.0/18",
        "private-b": "10.20.64.0/18",
    }


def test_same_input_same_plan() -> None:
    assert plan_network("10.9.0.0/17") == plan_network("10.9.0.0/17")


@pytest.mark.parametrize("cidr", ["10.0.0.0/20", "10.0.0.0/15", "10.0.0.1/16", "fd00::/56"])
def test_rejects_unusable_cidrs(cidr: str) -> None:
    with pytest.raises(ValueError):
        plan_network(cidr)
