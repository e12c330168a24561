"""On-demand prices (USD per hour) of what a cluster and its Deployments run, for the cost
notes: a table in the code, so a note needs no AWS call and no credentials.

Date: 2026-12-01. Source: AWS's public on-demand price pages (Amazon EC2 On-Demand Pricing,
Linux; Amazon RDS for PostgreSQL, Single-AZ; Amazon EKS Pricing; Amazon VPC Pricing, NAT
gateway hours). The us-east-1 column is AWS's published price for each type. Other regions
carry each region's published m5.large price (``REGION_ANCHOR``): a type's price there is its
us-east-1 price scaled by that region's m5.large ratio, as AWS prices the current EC2 and RDS
families within a few percent of that ratio; NAT gateway hours are per region. Figures are an
estimate before tax, data transfer, storage and discounts; refresh them (the AWS Price List
API, ``pricing:GetProducts``) when this date is old. ``tests/aws/test_prices.py`` checks every
region and instance type of ``reference`` has a price.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_DATE = "2026-12-01"
PRICES_SOURCE = (
    "AWS public on-demand prices (EC2 Linux, RDS for PostgreSQL Single-AZ, EKS, NAT gateway) "
    f"as of {PRICES_DATE}; other regions than us-east-1 scaled by their m5.large price"
)
EKS_CONTROL_PLANE = 0.10  # per cluster-hour, the same in every region (standard support)


@dataclass(frozen=True)
class InstanceShape:
    vcpus: int
    memory_gib: float
    us_east_1: float  # USD per hour


EC2: dict[str, InstanceShape] = {
    "m5.large": InstanceShape(2, 8, 0.096),
    "m5.xlarge": InstanceShape(4, 16, 0.192),
    "m5.2xlarge": InstanceShape(8, 32, 0.384),
    "m5.4xlarge": InstanceShape(16, 64, 0.768),
    "m6i.large": InstanceShape(2, 8, 0.096),
    "m6i.xlarge": InstanceShape(4, 16, 0.192),
    "m6i.2xlarge": InstanceShape(8, 32, 0.384),
    "m6i.4xlarge": InstanceShape(16, 64, 0.768),
    "r5.large": InstanceShape(2, 16, 0.126),
    "r5.xlarge": InstanceShape(4, 32, 0.252),
    "r5.2xlarge": InstanceShape(8, 64, 0.504),
    "c5.xlarge": InstanceShape(4, 8, 0.17),
    "c5.2xlarge": InstanceShape(8, 16, 0.34),
}
RDS_POSTGRESQL: dict[str, float] = {
    "db.t4g.medium": 0.065,
    "db.m6g.large": 0.159,
    "db.m6g.xlarge": 0.318,
    "db.m6g.2xlarge": 0.636,
    "db.r6g.large": 0.225,
    "db.r6g.xlarge": 0.45,
    "db.m5.large": 0.178,
}
# region -> (its m5.large price, its NAT gateway hour)
REGION_ANCHOR: dict[str, tuple[float, float]] = {
    "us-east-1": (0.096, 0.045),
    "us-east-2": (0.096, 0.045),
    "us-west-1": (0.112, 0.048),
    "us-west-2": (0.096, 0.045),
    "ca-central-1": (0.107, 0.05),
    "sa-east-1": (0.153, 0.093),
    "eu-west-1": (0.107, 0.048),
    "eu-west-2": (0.111, 0.05),
    "eu-west-3": (0.112, 0.05),
    "eu-central-1": (0.115, 0.052),
    "eu-north-1": (0.102, 0.046),
    "eu-south-1": (0.112, 0.05),
    "ap-south-1": (0.101, 0.056),
    "ap-northeast-1": (0.124, 0.062),
    "ap-northeast-2": (0.118, 0.059),
    "ap-southeast-1": (0.12, 0.059),
    "ap-southeast-2": (0.12, 0.059),
    "ap-east-1": (0.132, 0.065),
    "me-south-1": (0.118, 0.055),
    "af-south-1": (0.127, 0.06),
}
_BASE = REGION_ANCHOR["us-east-1"][0]


class NoPrice(KeyError):
    """A region or type the table has no price for (a test keeps this from happening)."""


def _factor(region: str) -> float:
    if region not in REGION_ANCHOR:
        raise NoPrice(region)
    return REGION_ANCHOR[region][0] / _BASE


def ec2_hourly(region: str, instance_type: str) -> float:
    if instance_type not in EC2:
        raise NoPrice(instance_type)
    return round(EC2[instance_type].us_east_1 * _factor(region), 4)


def rds_hourly(region: str, instance_type: str) -> float:
    if instance_type not in RDS_POSTGRESQL:
        raise NoPrice(instance_type)
    return round(RDS_POSTGRESQL[instance_type] * _factor(region), 4)


def nat_gateway_hourly(region: str) -> float:
    if region not in REGION_ANCHOR:
        raise NoPrice(region)
    return REGION_ANCHOR[region][1]
