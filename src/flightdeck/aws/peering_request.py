"""Validate a VPC peering request before anything is recorded or any AWS call is made.

AWS refuses to peer VPCs whose ranges overlap, and the emulator does not, so the product
checks: the peer account, region and VPC id, RFC 1918 peer CIDRs that overlap neither the
cluster's VPC nor another peering of the cluster, and well-formed DNS forwarding entries.
Each refusal is one :class:`InvalidPeering` naming the field and the fix.

Pure: no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from flightdeck.aws import reference
from flightdeck.policy.cidr import PRIVATE_RANGES

__all__ = [
    "MAX_PEER_CIDRS",
    "DnsForward",
    "IngressTarget",
    "InvalidPeering",
    "PeerIngress",
    "PeeringRequest",
    "customer_commands",
    "parse_dns",
    "parse_ingress",
    "validate",
]

MAX_PEER_CIDRS = 5  # AWS allows five IPv4 CIDRs per VPC; a peering routes at most those.
MAX_DNS_FORWARDS = 10
MAX_INGRESS = 10  # each is one rule per peer CIDR; a security group holds 60 by default
_VPC_ID = re.compile(r"^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class InvalidPeering(ValueError):
    """One bad field of a peering request: ``field: what is wrong; how to fix it``."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        super().__init__(f"{field}: {problem}; {fix}")
        self.field = field


@dataclass(frozen=True)
class DnsForward:
    """Queries for ``domain`` (and its subdomains) are sent to ``resolver_ips``."""

    domain: str
    resolver_ips: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"domain": self.domain, "resolver_ips": list(self.resolver_ips)}


class IngressTarget(StrEnum):
    """Which of the cluster's security groups lets the peer CIDRs in."""

    NODES = "nodes"  # the EKS cluster security group, shared by the nodes
    DATABASE = "database"  # the Airflow metadata database


@dataclass(frozen=True)
class PeerIngress:
    """The peer CIDRs may reach ``target`` on TCP ``port``."""

    target: IngressTarget
    port: int

    def as_dict(self) -> dict[str, Any]:
        return {"target": str(self.target), "port": self.port}

    def __str__(self) -> str:
        return f"{self.target}:{self.port}"


@dataclass(frozen=True)
class PeeringRequest:
    peer_account_id: str
    peer_region: str
    peer_vpc_id: str
    peer_cidrs: tuple[str, ...]
    dns: tuple[DnsForward, ...] = field(default=())
    ingress: tuple[PeerIngress, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "peer_account_id": self.peer_account_id,
            "peer_region": self.peer_region,
            "peer_vpc_id": self.peer_vpc_id,
            "peer_cidrs": list(self.peer_cidrs),
            "dns": [d.as_dict() for d in self.dns],
            "ingress": [i.as_dict() for i in self.ingress],
        }


def validate(
    *,
    peer_account_id: str,
    peer_region: str,
    peer_vpc_id: str,
    peer_cidrs: Sequence[str],
    dns: Iterable[Mapping[str, Any]] = (),
    ingress: Iterable[Mapping[str, Any]] = (),
    cluster_cidr: str,
    other_peerings: Mapping[str, Sequence[str]] | None = None,
) -> PeeringRequest:
    """The normalised request, or :class:`InvalidPeering` for its first bad field.

    ``other_peerings`` maps each live peering of the cluster (by its name or id, for the
    message) to its peer CIDRs.
    """
    try:
        account = reference.check_account_id(peer_account_id, "peer_account_id")
    except reference.InvalidAccountId as exc:
        raise InvalidPeering("peer_account_id", exc.problem, "give the peer VPC's owner") from None
    region = peer_region.strip()
    if region not in reference.REGIONS:
        raise InvalidPeering(
            "peer_region",
            f"{region!r} is not a supported region",
            f"choose one of {', '.join(reference.REGIONS)}",
        )
    vpc_id = peer_vpc_id.strip()
    if not _VPC_ID.match(vpc_id):
        raise InvalidPeering(
            "peer_vpc_id",
            f"{vpc_id!r} is not a VPC id",
            "give it as vpc- followed by 8 or 17 hexadecimal digits, e.g. vpc-0a1b2c3d4e5f67890",
        )
    networks = _peer_networks(peer_cidrs)
    cluster = ipaddress.IPv4Network(cluster_cidr, strict=False)
    for network in networks:
        if network.overlaps(cluster):
            raise InvalidPeering(
                "peer_cidrs",
                f"{network} overlaps the cluster's VPC CIDR {cluster}, which AWS cannot route",
                "peer a range that shares no addresses with the cluster's VPC",
            )
    for name, cidrs in (other_peerings or {}).items():
        for other in cidrs:
            other_network = ipaddress.IPv4Network(other, strict=False)
            for network in networks:
                if network.overlaps(other_network):
                    raise InvalidPeering(
                        "peer_cidrs",
                        f"{network} overlaps {other_network} of the cluster's peering {name}",
                        "peer a range no other peering of this cluster routes, or delete that "
                        "peering first",
                    )
    return PeeringRequest(
        peer_account_id=account,
        peer_region=region,
        peer_vpc_id=vpc_id,
        peer_cidrs=tuple(str(n) for n in networks),
        dns=_dns_forwards(dns),
        ingress=_ingress(ingress),
    )


def _ingress(entries: Iterable[Mapping[str, Any]]) -> tuple[PeerIngress, ...]:
    rules: list[PeerIngress] = []
    targets = ", ".join(t.value for t in IngressTarget)
    for entry in entries:
        raw_target = str(entry.get("target", "")).strip().lower()
        try:
            target = IngressTarget(raw_target)
        except ValueError:
            raise InvalidPeering(
                "ingress.target",
                f"{entry.get('target', '')!r} is not a security group of the cluster",
                f"choose one of {targets}",
            ) from None
        raw_port = entry.get("port")
        port = raw_port if isinstance(raw_port, int) and not isinstance(raw_port, bool) else None
        if isinstance(raw_port, str) and raw_port.strip().isdigit():
            port = int(raw_port.strip())
        if port is None or not 1 <= port <= 65535:
            raise InvalidPeering(
                "ingress.port",
                f"{raw_port!r} is not a TCP port",
                "give a number from 1 to 65535, e.g. 5432",
            )
        rule = PeerIngress(target, port)
        if rule in rules:
            raise InvalidPeering("ingress", f"{rule} is given twice", "give each rule once")
        rules.append(rule)
    if len(rules) > MAX_INGRESS:
        raise InvalidPeering("ingress", f"{len(rules)} rules given", f"give at most {MAX_INGRESS}")
    return tuple(rules)


def _peer_networks(peer_cidrs: Sequence[str]) -> list[ipaddress.IPv4Network]:
    if not peer_cidrs:
        raise InvalidPeering(
            "peer_cidrs", "no CIDR given", "give the peer VPC's CIDR, e.g. 10.1.0.0/16"
        )
    if len(peer_cidrs) > MAX_PEER_CIDRS:
        raise InvalidPeering(
            "peer_cidrs",
            f"{len(peer_cidrs)} CIDRs given",
            f"give at most {MAX_PEER_CIDRS}, the IPv4 CIDRs one VPC can have",
        )
    networks: list[ipaddress.IPv4Network] = []
    for raw in peer_cidrs:
        text = raw.strip()
        try:
            if "/" not in text:
                raise ValueError(text)
            network = ipaddress.IPv4Network(text, strict=True)
        except ValueError:
            raise InvalidPeering(
                "peer_cidrs",
                f"{raw!r} is not an IPv4 CIDR with its network address",
                "write it as address/prefix, e.g. 10.1.0.0/16",
            ) from None
        if not any(network.subnet_of(p) for p in PRIVATE_RANGES):
            raise InvalidPeering(
                "peer_cidrs",
                f"{raw!r} is not inside the private (RFC 1918) ranges",
                "give a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
            )
        for earlier in networks:
            if network.overlaps(earlier):
                raise InvalidPeering(
                    "peer_cidrs",
                    f"{network} overlaps {earlier} in the same request",
                    "give each range once",
                )
        networks.append(network)
    return networks


def _dns_forwards(entries: Iterable[Mapping[str, Any]]) -> tuple[DnsForward, ...]:
    forwards: list[DnsForward] = []
    for entry in entries:
        domain = str(entry.get("domain", "")).strip().lower().rstrip(".")
        labels = domain.split(".")
        if len(domain) > 253 or len(labels) < 2 or not all(_DOMAIN_LABEL.match(x) for x in labels):
            raise InvalidPeering(
                "dns.domain",
                f"{entry.get('domain', '')!r} is not a domain name",
                "give the private zone to forward, e.g. corp.example.internal",
            )
        if any(f.domain == domain for f in forwards):
            raise InvalidPeering("dns.domain", f"{domain} is given twice", "give each domain once")
        ips = [str(ip).strip() for ip in entry.get("resolver_ips") or ()]
        if not ips:
            raise InvalidPeering(
                "dns.resolver_ips",
                f"no DNS server given for {domain}",
                "give the IP address of at least one server that answers it",
            )
        for ip in ips:
            try:
                address = ipaddress.IPv4Address(ip)
            except ValueError:
                raise InvalidPeering(
                    "dns.resolver_ips",
                    f"{ip!r} is not an IPv4 address",
                    "give each DNS server as an address, e.g. 10.1.0.2",
                ) from None
            if not address.is_private:
                raise InvalidPeering(
                    "dns.resolver_ips",
                    f"{ip} is not a private address",
                    "give the DNS servers inside the peer VPC, reached through the peering",
                )
        forwards.append(DnsForward(domain=domain, resolver_ips=tuple(ips)))
    if len(forwards) > MAX_DNS_FORWARDS:
        raise InvalidPeering(
            "dns", f"{len(forwards)} domains given", f"give at most {MAX_DNS_FORWARDS}"
        )
    return tuple(forwards)


def parse_dns(text: str) -> dict[str, Any]:
    """``corp.internal=10.1.0.2,10.1.0.3`` (the CLI's ``--dns``, a console form line) -> one
    forwarding entry for :func:`validate`."""
    domain, sep, ips = text.partition("=")
    if not sep or not ips.strip():
        raise InvalidPeering(
            "dns", f"{text.strip()!r} is not DOMAIN=IP[,IP]", "e.g. corp.example.internal=10.1.0.2"
        )
    return {
        "domain": domain.strip(),
        "resolver_ips": [ip.strip() for ip in ips.split(",") if ip.strip()],
    }


def parse_ingress(text: str) -> dict[str, Any]:
    """``database:5432`` (the CLI's ``--allow``, a console form entry) -> one ingress rule
    for :func:`validate`."""
    target, sep, port = text.partition(":")
    if not sep or not port.strip().isdigit():
        raise InvalidPeering(
            "ingress",
            f"{text.strip()!r} is not TARGET:PORT",
            f"e.g. database:5432, with TARGET one of {', '.join(t.value for t in IngressTarget)}",
        )
    return {"target": target.strip(), "port": int(port)}


def customer_commands(
    aws_peering_id: str, request: PeeringRequest, *, ports: Sequence[int] = ()
) -> tuple[str, str]:
    """What the peer account's owner runs, with their own credentials: accept, then validate."""
    where = f"{aws_peering_id} --region {request.peer_region} --profile <your-profile>"
    port_flags = "".join(f" --port {p}" for p in ports)
    return (
        f"flightdeck aws peering accept {where}",
        f"flightdeck aws peering validate {where}{port_flags} --security-group <sg-of-your-db>",
    )
