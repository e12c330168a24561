"""Supported regions and instance types, cluster request defaults and limits: the one
reference table the API serves at ``/api/v1/reference/aws`` and every surface (API schema,
services, CLI options, the provisioning engine's spec) reads."""

from __future__ import annotations

import re
from typing import Any

DEFAULT_REGION = "us-east-1"
DEFAULT_NODE_INSTANCE_TYPE = "m5.xlarge"
DEFAULT_MAX_NODES = 20
DEFAULT_DB_INSTANCE_TYPE = "db.m6g.large"
DEFAULT_VPC_CIDR = "172.20.0.0/19"
# The bound the API serves (``limits.max_nodes``) and the engine's spec enforces too.
MAX_NODES_LIMIT = 100

# The commercial regions AWS enables in every account...
STANDARD_REGIONS: tuple[str, ...] = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "ca-central-1", "sa-east-1",
    "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1",
    "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-southeast-1", "ap-southeast-2",
)  # fmt: skip
# ...and the ones an account must enable first (every region launched after March 2019).
OPT_IN_REGIONS: tuple[str, ...] = (
    "af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2",
    "eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
)  # fmt: skip
COMMERCIAL_REGIONS: tuple[str, ...] = STANDARD_REGIONS + OPT_IN_REGIONS

# The regions clusters may be requested in, with their display names.
_CLUSTER_REGIONS: dict[str, str] = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "ca-central-1": "Canada (Central)",
    "sa-east-1": "South America (Sao Paulo)",
    "eu-west-1": "Europe (Ireland)",
    "eu-west-2": "Europe (London)",
    "eu-west-3": "Europe (Paris)",
    "eu-central-1": "Europe (Frankfurt)",
    "eu-north-1": "Europe (Stockholm)",
    "eu-south-1": "Europe (Milan)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-east-1": "Asia Pacific (Hong Kong)",
    "me-south-1": "Middle East (Bahrain)",
    "af-south-1": "Africa (Cape Town)",
}


def is_opt_in(region: str) -> bool:
    """True for a region an account must enable before any regional call works."""
    return region in OPT_IN_REGIONS


# region -> (display name, opt-in region?)
REGIONS: dict[str, tuple[str, bool]] = {
    name: (display, is_opt_in(name)) for name, display in _CLUSTER_REGIONS.items()
}

NODE_INSTANCE_TYPES: tuple[str, ...] = (
    "m5.large", "m5.xlarge", "m5.2xlarge", "m5.4xlarge",
    "m6i.large", "m6i.xlarge", "m6i.2xlarge", "m6i.4xlarge",
    "r5.large", "r5.xlarge", "r5.2xlarge",
    "c5.xlarge", "c5.2xlarge",
)  # fmt: skip

DB_INSTANCE_TYPES: tuple[str, ...] = (
    "db.t4g.medium", "db.m6g.large", "db.m6g.xlarge", "db.m6g.2xlarge",
    "db.r6g.large", "db.r6g.xlarge", "db.m5.large",
)  # fmt: skip


class UnsupportedValue(ValueError):
    """A value outside the reference table; the message names the field and the choices."""

    def __init__(self, field: str, value: str, choices: tuple[str, ...] | list[str]) -> None:
        super().__init__(f"{field}: {value!r} is not supported; choose one of {', '.join(choices)}")
        self.field = field


ACCOUNT_ID_RULE = "a 12-digit AWS account ID such as 123456789012"
"""The one wording of the account-ID rule: the API, the services and the CLI all say it."""
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_RECORD_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class InvalidAccountId(ValueError):
    """Not an AWS account ID (nor, where one is also accepted, a flightdeck account id)."""

    def __init__(self, field: str, value: str, *, or_record_id: bool) -> None:
        also = " (or the account's flightdeck id)" if or_record_id else ""
        self.problem = f"{value!r} is not {ACCOUNT_ID_RULE}{also}"
        super().__init__(f"{field}: {self.problem}")
        self.field = field


def check_account_id(value: str, field: str = "account_id") -> str:
    """A 12-digit AWS account ID, surrounding spaces removed."""
    value = value.strip()
    if not _ACCOUNT_ID.match(value):
        raise InvalidAccountId(field, value, or_record_id=False)
    return value


def check_account_ref(value: str, field: str = "account") -> str:
    """A 12-digit AWS account ID or the id flightdeck gave the registered account."""
    value = value.strip()
    if not (_ACCOUNT_ID.match(value) or _RECORD_ID.match(value)):
        raise InvalidAccountId(field, value, or_record_id=True)
    return value


def check_region(region: str, field: str = "region") -> str:
    if region not in REGIONS:
        raise UnsupportedValue(field, region, list(REGIONS))
    return region


def check_node_instance_type(value: str, field: str = "node_instance_type") -> str:
    if value not in NODE_INSTANCE_TYPES:
        raise UnsupportedValue(field, value, NODE_INSTANCE_TYPES)
    return value


def check_db_instance_type(value: str, field: str = "db_instance_type") -> str:
    if value not in DB_INSTANCE_TYPES:
        raise UnsupportedValue(field, value, DB_INSTANCE_TYPES)
    return value


def as_document() -> dict[str, Any]:
    return {
        "regions": [
            {"name": name, "display_name": display, "opt_in": opt_in}
            for name, (display, opt_in) in REGIONS.items()
        ],
        "node_instance_types": list(NODE_INSTANCE_TYPES),
        "db_instance_types": list(DB_INSTANCE_TYPES),
        "defaults": {
            "region": DEFAULT_REGION,
            "node_instance_type": DEFAULT_NODE_INSTANCE_TYPE,
            "max_nodes": DEFAULT_MAX_NODES,
            "db_instance_type": DEFAULT_DB_INSTANCE_TYPE,
            "vpc_cidr": DEFAULT_VPC_CIDR,
        },
        "limits": {"max_nodes": MAX_NODES_LIMIT},
    }
