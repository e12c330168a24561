"""Decide whether a cluster VPC CIDR can be peered later: private, large enough, no overlap.

A cluster's VPC CIDR cannot change after creation, and AWS refuses to peer VPCs whose
ranges overlap, so a bad choice surfaces only months later when the customer tries to
reach their own network. Checking it up front is cheap. Each way the CIDR is wrong is a
:class:`CidrProblem` with a stable ``code``, one sentence saying what is wrong and one
saying what to use instead.

Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "MAX_PREFIX_LENGTH",
    "PRIVATE_RANGES",
    "CidrProblem",
    "check_vpc_cidr",
]

# The cluster's subnets (public, private, database, in three zones) need at least a /19.
MAX_PREFIX_LENGTH = 19
PRIVATE_RANGES: tuple[ipaddress.IPv4Network, ...] = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
)
_PRIVATE_TEXT = "10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"


@dataclass(frozen=True)
class CidrProblem:
    code: str  # invalid | host_bits_set | not_private | too_small | invalid_peer | overlap
    message: str
    fix: str
    peer: str | None = None  # the peer CIDR concerned, for invalid_peer and overlap

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "fix": self.fix, "peer": self.peer}


def check_vpc_cidr(cidr: str, peer_cidrs: Sequence[str] = ()) -> list[CidrProblem]:
    """Every problem with ``cidr`` as a cluster VPC that must be peerable with ``peer_cidrs``.

    An empty list means the CIDR is fine. A CIDR that does not parse yields one problem and
    nothing else, since nothing further can be said about it.
    """
    network, problem = _parse(cidr)
    if network is None:
        assert problem is not None
        return [problem]
    problems: list[CidrProblem] = []
    if problem is not None:
        problems.append(problem)  # host bits set: checked further as its network address
    if not any(network.subnet_of(private) for private in PRIVATE_RANGES):
        problems.append(
            CidrProblem(
                "not_private",
                f"{cidr} is not inside the private (RFC 1918) ranges {_PRIVATE_TEXT}.",
                f"Choose a CIDR inside {_PRIVATE_TEXT}, for example 172.20.0.0/19.",
            )
        )
    if network.prefixlen > MAX_PREFIX_LENGTH:
        problems.append(
            CidrProblem(
                "too_small",
                f"{cidr} has {network.num_addresses} addresses, fewer than a "
                f"/{MAX_PREFIX_LENGTH} the cluster's subnets need.",
                f"Use a prefix length of /{MAX_PREFIX_LENGTH} or shorter, for example "
                f"{network.supernet(new_prefix=MAX_PREFIX_LENGTH)}.",
            )
        )
    for peer in peer_cidrs:
        try:
            peer_network = ipaddress.ip_network(peer.strip(), strict=False)
        except ValueError:
            problems.append(
                CidrProblem(
                    "invalid_peer",
                    f"The peer CIDR {peer!r} is not an IPv4 or IPv6 CIDR.",
                    "Give each peer VPC's CIDR as address/prefix, for example 10.0.0.0/16.",
                    peer=peer,
                )
            )
            continue
        if peer_network.version == network.version and network.overlaps(peer_network):
            problems.append(
                CidrProblem(
                    "overlap",
                    f"{cidr} overlaps the peer VPC CIDR {peer}, so the two VPCs cannot be peered.",
                    f"Choose a CIDR that shares no addresses with {peer}.",
                    peer=peer,
                )
            )
    return problems


def _parse(cidr: str) -> tuple[ipaddress.IPv4Network | None, CidrProblem | None]:
    text = (cidr or "").strip()
    if "/" not in text:
        return None, CidrProblem(
            "invalid",
            f"{cidr!r} is not a CIDR; it needs an address and a prefix length.",
            "Write the range as address/prefix, for example 172.20.0.0/19.",
        )
    try:
        address = ipaddress.ip_interface(text)
    except ValueError:
        return None, CidrProblem(
            "invalid",
            f"{cidr!r} is not a valid IPv4 CIDR.",
            "Write the range as address/prefix, for example 172.20.0.0/19.",
        )
    if not isinstance(address, ipaddress.IPv4Interface):
        return None, CidrProblem(
            "invalid",
            f"{cidr} is an IPv6 range; a cluster VPC's primary CIDR is IPv4.",
            "Choose an IPv4 private range, for example 172.20.0.0/19.",
        )
    network = address.network
    if address.ip != network.network_address:
        return network, CidrProblem(
            "host_bits_set",
            f"{cidr} has host bits set; its network address is {network}.",
            f"Use {network}.",
        )
    return network, None
