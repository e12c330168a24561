"""Supported regions and instance types: the one reference table the API serves at
``/api/v1/reference/aws`` and every validation (API, CLI, reconciler) uses."""

from __future__ import annotations

from typing import Any

DEFAULT_REGION = "us-east-1"
DEFAULT_NODE_INSTANCE_TYPE = "m5.xlarge"
DEFAULT_MAX_NODES = 20
DEFAULT_DB_INSTANCE_TYPE = "db.m6g.large"
DEFAULT_VPC_CIDR = "172.20.0.0/19"
MAX_NODES_LIMIT = 100

# region -> (display name, opt-in region?)
REGIONS: dict[str, tuple[str, bool]] = {
    "us-east-1": ("US East (N. Virginia)", False),
    "us-east-2": ("US East (Ohio)", False),
    "us-west-1": ("US West (N. California)", False),
    "us-west-2": ("US West (Oregon)", False),
    "ca-central-1": ("Canada (Central)", False),
    "sa-east-1": ("South America (Sao Paulo)", False),
    "eu-west-1": ("Europe (Ireland)", False),
    "eu-west-2": ("Europe (London)", False),
    "eu-west-3": ("Europe (Paris)", False),
    "eu-central-1": ("Europe (Frankfurt)", False),
    "eu-north-1": ("Europe (Stockholm)", False),
    "eu-south-1": ("Europe (Milan)", True),
    "ap-south-1": ("Asia Pacific (Mumbai)", False),
    "ap-northeast-1": ("Asia Pacific (Tokyo)", False),
    "ap-northeast-2": ("Asia Pacific (Seoul)", False),
    "ap-southeast-1": ("Asia Pacific (Singapore)", False),
    "ap-southeast-2": ("Asia Pacific (Sydney)", False),
    "ap-east-1": ("Asia Pacific (Hong Kong)", True),
    "me-south-1": ("Middle East (Bahrain)", True),
    "af-south-1": ("Africa (Cape Town)", True),
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
        super().__init__(
            f"{field}: {value!r} is not supported; choose one of {', '.join(choices)}"
        )
        self.field = field


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
