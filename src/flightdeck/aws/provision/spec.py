"""What a user asked for, frozen: the input of every provisioning step.

The spec is a value, not a row: the lead's services build it from the database and the
engine never writes it back. ``fingerprint`` lets the reconciler notice a changed spec
(e.g. a new node maximum) and run a full pass instead of the cheap steady-state check.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from dataclasses import asdict, dataclass

from flightdeck.aws import reference

_CLUSTER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,38}[a-z0-9]$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")

# RFC 1918 plus the shared range AWS accepts for VPCs.
_ALLOWED_VPC_RANGES = tuple(
    ipaddress.IPv4Network(net)
    for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)


class InvalidClusterSpec(ValueError):
    """A spec that no AWS call could ever satisfy; raised before touching AWS."""


@dataclass(frozen=True)
class ClusterSpec:
    """The cluster a user requested (account, region, node and database sizes, VPC CIDR).
    Names of AWS resources derive from ``cluster_id``.

    ``cluster_id`` is lowercase letters, digits and hyphens (at most 40 characters) because
    it is embedded in bucket, role, EKS and RDS names, which have the strictest alphabets.
    """

    cluster_id: str
    name: str
    account_id: str
    region: str = reference.DEFAULT_REGION
    node_instance_type: str = reference.DEFAULT_NODE_INSTANCE_TYPE
    max_nodes: int = reference.DEFAULT_MAX_NODES
    db_instance_type: str = reference.DEFAULT_DB_INSTANCE_TYPE
    vpc_cidr: str = reference.DEFAULT_VPC_CIDR
    kubernetes_version: str = "1.32"
    system_instance_type: str = "m5.large"
    nat_gateway_count: int = 2
    db_engine_version: str = "16"
    db_allocated_storage_gb: int = 20
    # Deleting the cluster snapshots its database first (FLIGHTDECK_RDS_FINAL_SNAPSHOT).
    db_final_snapshot: bool = True

    def __post_init__(self) -> None:
        if not _CLUSTER_ID.match(self.cluster_id):
            raise InvalidClusterSpec(
                f"cluster_id {self.cluster_id!r} must be 2-40 lowercase letters, digits or hyphens"
            )
        if not _ACCOUNT_ID.match(self.account_id):
            raise InvalidClusterSpec(f"account_id {self.account_id!r} must be 12 digits")
        if not _REGION.match(self.region):
            raise InvalidClusterSpec(f"region {self.region!r} is not an AWS region name")
        if not 1 <= self.max_nodes <= reference.MAX_NODES_LIMIT:
            raise InvalidClusterSpec(
                f"max_nodes must be between 1 and {reference.MAX_NODES_LIMIT}"
            )
        if self.nat_gateway_count not in (1, 2):
            raise InvalidClusterSpec("nat_gateway_count must be 1 or 2")
        if self.db_allocated_storage_gb < 20:
            raise InvalidClusterSpec("db_allocated_storage_gb must be at least 20")
        try:
            network = ipaddress.ip_network(self.vpc_cidr, strict=True)
        except ValueError as exc:
            raise InvalidClusterSpec(f"vpc_cidr {self.vpc_cidr!r}: {exc}") from exc
        if not isinstance(network, ipaddress.IPv4Network):
            raise InvalidClusterSpec("vpc_cidr must be an IPv4 network")
        if not 16 <= network.prefixlen <= 19:
            raise InvalidClusterSpec(
                "vpc_cidr prefix must be between /16 and /19 (AWS allows /16 at most; "
                "smaller than /19 leaves too few addresses for EKS pods)"
            )
        if not any(network.subnet_of(allowed) for allowed in _ALLOWED_VPC_RANGES):
            raise InvalidClusterSpec(
                "vpc_cidr must lie in 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10"
            )

    def fingerprint(self) -> str:
        """A short digest of every field; equal fingerprints mean nothing to change."""
        encoded = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(encoded).hexdigest()[:16]
