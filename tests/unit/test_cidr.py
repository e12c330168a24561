from __future__ import annotations

import pytest

from flightdeck.policy.cidr import check_vpc_cidr


def codes(cidr: str, peers: tuple[str, ...] = ()) -> list[str]:
    return [problem.code for problem in check_vpc_cidr(cidr, peers)]


@pytest.mark.parametrize(
    "cidr", ["172.20.0.0/19", "10.0.0.0/8", "10.42.0.0/16", "192.168.0.0/19", " 172.16.0.0/12 "]
)
def test_private_and_large_enough_is_fine(cidr: str) -> None:
    assert check_vpc_cidr(cidr, []) == []


@pytest.mark.parametrize("cidr", ["", "banana", "172.20.0.0", "172.20.0.0/33", "300.1.1.1/16"])
def test_unparseable_yields_only_invalid(cidr: str) -> None:
    assert codes(cidr) == ["invalid"]


def test_ipv6_is_refused_as_invalid() -> None:
    [problem] = check_vpc_cidr("fd00::/48", [])
    assert problem.code == "invalid"
    assert "IPv6" in problem.message


def test_host_bits_set_names_the_network_address() -> None:
    [problem] = check_vpc_cidr("172.20.5.7/19", [])
    assert problem.code == "host_bits_set"
    assert "172.20.0.0/19" in problem.message
    assert problem.fix == "Use 172.20.0.0/19."


@pytest.mark.parametrize("cidr", ["8.8.0.0/16", "172.32.0.0/16", "100.64.0.0/16", "192.169.0.0/16"])
def test_public_or_shared_ranges_are_not_private(cidr: str) -> None:
    assert codes(cidr) == ["not_private"]


def test_range_straddling_a_private_block_is_not_private() -> None:
    # 172.0.0.0/10 contains 172.16.0.0/12 but is not inside it.
    assert codes("172.0.0.0/10") == ["not_private"]


def test_prefix_longer_than_19_is_too_small_and_suggests_the_enclosing_19() -> None:
    [problem] = check_vpc_cidr("10.1.32.0/20", [])
    assert problem.code == "too_small"
    assert "10.1.32.0/19" in problem.fix
    assert codes("172.20.0.0/19") == []


def test_each_overlapping_peer_is_named() -> None:
    problems = check_vpc_cidr("172.20.0.0/19", ["172.20.16.0/24", "10.0.0.0/16", "172.0.0.0/8"])
    assert [(p.code, p.peer) for p in problems] == [
        ("overlap", "172.20.16.0/24"),
        ("overlap", "172.0.0.0/8"),
    ]
    assert "172.20.16.0/24" in problems[0].message


def test_adjacent_peer_does_not_overlap() -> None:
    assert check_vpc_cidr("172.20.0.0/19", ["172.20.32.0/19", "172.19.255.0/24"]) == []


def test_invalid_peer_is_reported_and_others_still_checked() -> None:
    problems = check_vpc_cidr("172.20.0.0/19", ["nope", "172.20.0.0/16"])
    assert [(p.code, p.peer) for p in problems] == [
        ("invalid_peer", "nope"),
        ("overlap", "172.20.0.0/16"),
    ]


def test_problems_accumulate() -> None:
    assert codes("8.8.8.8/24", ("8.8.8.0/28",)) == [
        "host_bits_set",
        "not_private",
        "too_small",
        "overlap",
    ]
