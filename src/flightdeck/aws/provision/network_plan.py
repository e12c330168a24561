"""CIDR arithmetic for a cluster VPC: pure, deterministic, no AWS.

Layout for a VPC of prefix ``p`` (16 <= p <= 19):

* private subnets take the first two quarters (prefix ``p+2``), one per AZ: pods on EKS
  take VPC addresses, so the private side is where addresses are needed;
* public subnets take the first two sixteenths of the third quarter (prefix ``p+4``):
  only NAT gateways and load balancers live there;
* the rest (one quarter plus fourteen sixteenths of the third) stays free for growth,
  e.g. a third AZ, without renumbering anything that exists.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

AZ_SUFFIXES = ("a", "b")


@dataclass(frozen=True)
class SubnetPlan:
    """One subnet to exist: ``key`` is its role tag (``public-a``), ``az_index`` 0 or 1."""

    key: str
    cidr: str
    public: bool
    az_index: int


@dataclass(frozen=True)
class NetworkPlan:
    """The four subnets of a cluster VPC, public first."""

    vpc_cidr: str
    subnets: tuple[SubnetPlan, ...]

    @property
    def public(self) -> tuple[SubnetPlan, ...]:
        return tuple(s for s in self.subnets if s.public)

    @property
    def private(self) -> tuple[SubnetPlan, ...]:
        return tuple(s for s in self.subnets if not s.public)


def plan_network(vpc_cidr: str) -> NetworkPlan:
    """Split ``vpc_cidr`` into 2 public + 2 private subnets across 2 AZs (private larger)."""
    vpc = ipaddress.ip_network(vpc_cidr, strict=True)
    if not isinstance(vpc, ipaddress.IPv4Network):
        raise ValueError("only IPv4 VPC CIDRs are supported")
    if not 16 <= vpc.prefixlen <= 19:
        raise ValueError(f"VPC prefix must be between /16 and /19, got /{vpc.prefixlen}")
    quarters = list(vpc.subnets(new_prefix=vpc.prefixlen + 2))
    public_pool = list(quarters[2].subnets(new_prefix=vpc.prefixlen + 4))
    subnets: list[SubnetPlan] = []
    for index, suffix in enumerate(AZ_SUFFIXES):
        subnets.append(SubnetPlan(f"public-{suffix}", str(public_pool[index]), True, index))
    for index, suffix in enumerate(AZ_SUFFIXES):
        subnets.append(SubnetPlan(f"private-{suffix}", str(quarters[index]), False, index))
    return NetworkPlan(vpc_cidr=str(vpc), subnets=tuple(subnets))
