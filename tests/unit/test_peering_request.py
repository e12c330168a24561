"""A peering request is refused, field by field, before anything is recorded or called."""

from __future__ import annotations

from typing import Any

import pytest

from flightdeck.aws.peering_request import InvalidPeering, validate

CLUSTER_CIDR = "172.20.0.0/19"


def _request(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "peer_account_id": "111122223333",
        "peer_region": "eu-west-1",
        "peer_vpc_id": "vpc-0a1b2c3d4e5f67890",
        "peer_cidrs": ["10.1.0.0/16"],
        "dns": [{"domain": "Corp.Example.Internal.", "resolver_ips": ["10.1.0.2"]}],
        "cluster_cidr": CLUSTER_CIDR,
    }
    values.update(overrides)
    return values


def test_a_good_request_is_normalised() -> None:
    request = validate(**_request(peer_account_id=" 111122223333 ", peer_vpc_id="vpc-1a2b3c4d"))
    assert request.peer_account_id == "111122223333"
    assert request.peer_vpc_id == "vpc-1a2b3c4d"
    assert request.peer_cidrs == ("10.1.0.0/16",)
    assert request.dns[0].domain == "corp.example.internal"
    assert request.as_dict()["dns"] == [
        {"domain": "corp.example.internal", "resolver_ips": ["10.1.0.2"]}
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"peer_account_id": "12345"}, "peer_account_id", "12-digit AWS account ID"),
        ({"peer_region": "mars-1"}, "peer_region", "choose one of us-east-1"),
        ({"peer_vpc_id": "vpc-xyz"}, "peer_vpc_id", "vpc- followed by 8 or 17"),
        ({"peer_vpc_id": "subnet-0a1b2c3d"}, "peer_vpc_id", "is not a VPC id"),
        ({"peer_cidrs": []}, "peer_cidrs", "no CIDR given"),
        ({"peer_cidrs": ["8.8.0.0/16"]}, "peer_cidrs", "RFC 1918"),
        ({"peer_cidrs": ["10.1.0.0"]}, "peer_cidrs", "address/prefix"),
        ({"peer_cidrs": ["10.1.0.1/16"]}, "peer_cidrs", "network address"),
        ({"peer_cidrs": ["10.1.0.0/16", "10.1.5.0/24"]}, "peer_cidrs", "same request"),
        ({"peer_cidrs": ["172.20.16.0/20"]}, "peer_cidrs", "cluster's VPC CIDR 172.20.0.0/19"),
        ({"peer_cidrs": ["172.16.0.0/12"]}, "peer_cidrs", "cluster's VPC CIDR"),
        ({"peer_cidrs": [f"10.{i}.0.0/16" for i in range(6)]}, "peer_cidrs", "at most 5"),
        ({"dns": [{"domain": "not a domain", "resolver_ips": ["10.1.0.2"]}]}, "dns.domain",
         "not a domain name"),
        ({"dns": [{"domain": "corp.internal", "resolver_ips": []}]}, "dns.resolver_ips",
         "at least one"),
        ({"dns": [{"domain": "corp.internal", "resolver_ips": ["10.1.0"]}]}, "dns.resolver_ips",
         "not an IPv4 address"),
        ({"dns": [{"domain": "corp.internal", "resolver_ips": ["8.8.8.8"]}]}, "dns.resolver_ips",
         "not a private address"),
        ({"dns": [{"domain": "a.internal", "resolver_ips": ["10.1.0.2"]},
                  {"domain": "A.internal", "resolver_ips": ["10.1.0.2"]}]}, "dns.domain",
         "given twice"),
    ],
)
def test_each_bad_field_gets_one_line_naming_it_and_the_fix(
    overrides: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidPeering) as caught:
        validate(**_request(**overrides))
    message = str(caught.value)
    assert caught.value.field == field
    assert message.startswith(f"{field}: ")
    assert words in message
    assert "\n" not in message and ";" in message  # the problem, then the fix


def test_overlap_with_another_peering_of_the_cluster_names_it() -> None:
    with pytest.raises(InvalidPeering, match=r"overlaps 10\.1\.0\.0/16 of the cluster's peering"):
        validate(**_request(peer_cidrs=["10.1.128.0/17"]),
                 other_peerings={"warehouse": ["10.1.0.0/16"]})
    # Disjoint from the other peering: accepted.
    assert validate(**_request(peer_cidrs=["10.2.0.0/16"]),
                    other_peerings={"warehouse": ["10.1.0.0/16"]}).peer_cidrs == ("10.2.0.0/16",)
