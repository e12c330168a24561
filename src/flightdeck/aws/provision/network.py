"""The cluster network: VPC, subnets, gateways, routes, security groups, endpoints.

Every EC2 resource is created with ``TagSpecifications`` so the tag exists from the first
instant: a crash between "create" and "record the id" leaves a resource the next pass
finds by tag, never an orphan. NAT gateways and VPC endpoints also get a ``ClientToken``.
"""

from __future__ import annotations

from typing import Any

from flightdeck.aws.error_codes import absent_on
from flightdeck.aws.provision.context import (
    PlannedChange,
    Ready,
    StepContext,
    StepResult,
    Waiting,
)
from flightdeck.aws.provision.errors import PermanentError, TemporaryError
from flightdeck.aws.provision.network_plan import AZ_SUFFIXES
from flightdeck.aws.provision.step import Step, by_resource_tag, owned

# Zone ids where EKS refuses control-plane subnets (documented by AWS).
EKS_UNSUPPORTED_ZONE_IDS = frozenset({"use1-az3", "usw1-az2", "cac1-az3"})

_LIVE_NAT_STATES = ["pending", "available", "failed", "deleting"]
_LIVE_ENDPOINT_STATES = ["pendingAcceptance", "pending", "available", "deleting", "failed"]


def _ec2(ctx: StepContext) -> Any:
    return ctx.client("ec2")


# --------------------------------------------------------------------------------- VPC
class VpcStep(Step):
    """One VPC with the requested CIDR and DNS support (EKS and private endpoints need it)."""

    name = "vpc"

    def _find(self, ctx: StepContext) -> dict[str, Any] | None:
        vpcs = _ec2(ctx).describe_vpcs(Filters=ctx.tag_filters("vpc"))["Vpcs"]
        return by_resource_tag(vpcs, ctx.spec.cluster_id).get("vpc")

    def ensure(self, ctx: StepContext) -> StepResult:
        vpc = self._find(ctx)
        if vpc is None:
            vpc = _ec2(ctx).create_vpc(
                CidrBlock=ctx.spec.vpc_cidr,
                TagSpecifications=ctx.tag_specifications("vpc", "vpc"),
            )["Vpc"]
            ctx.record("vpc", vpc["VpcId"], "created", ctx.spec.vpc_cidr)
        else:
            ctx.record("vpc", vpc["VpcId"], "found")
        if vpc["CidrBlock"] != ctx.spec.vpc_cidr:
            raise PermanentError(
                f"VPC {vpc['VpcId']} has CIDR {vpc['CidrBlock']}, the cluster asks for "
                f"{ctx.spec.vpc_cidr}",
                remedy="a cluster's VPC CIDR cannot change; create a new cluster instead",
            )
        condition = ctx.condition()
        if not condition.get("dns_attributes"):
            for attribute in ("EnableDnsSupport", "EnableDnsHostnames"):
                _ec2(ctx).modify_vpc_attribute(VpcId=vpc["VpcId"], **{attribute: {"Value": True}})
            condition["dns_attributes"] = True
        condition["aws_id"] = vpc["VpcId"]
        if vpc.get("State") == "pending":
            return Waiting("VPC is pending", after=5)
        return Ready()

    def delete(self, ctx: StepContext) -> StepResult:
        vpcs = owned(
            _ec2(ctx).describe_vpcs(Filters=ctx.tag_filters())["Vpcs"], ctx.spec.cluster_id
        )
        for vpc in vpcs:
            absent_on(
                ("InvalidVpcID.NotFound",),
                _ec2(ctx).delete_vpc,
                VpcId=vpc["VpcId"],
            )
            ctx.note("deleted", "vpc", "", vpc["VpcId"])
            ctx.forget("vpc")
        return Ready()

    def plan(self, ctx: StepContext) -> list[PlannedChange]:
        vpc = self._find(ctx)
        if vpc is None:
            return [PlannedChange(self.name, "create", "vpc", ctx.spec.vpc_cidr)]
        if vpc["CidrBlock"] != ctx.spec.vpc_cidr:
            return [PlannedChange(self.name, "replace", "vpc", "CIDR differs", vpc["VpcId"])]
        return []

    def plan_delete(self, ctx: StepContext) -> list[PlannedChange]:
        vpcs = owned(
            _ec2(ctx).describe_vpcs(Filters=ctx.tag_filters())["Vpcs"], ctx.spec.cluster_id
        )
        return [PlannedChange(self.name, "delete", "vpc", "", v["VpcId"]) for v in vpcs]


# ----------------------------------------------------------------------------- Subnets
class SubnetsStep(Step):
    """Two public and two private subnets in two AZs, CIDRs from ``network_plan``."""

    name = "subnets"

    def _find(self, ctx: StepContext) -> dict[str, dict[str, Any]]:
        subnets = _ec2(ctx).describe_subnets(Filters=ctx.tag_filters())["Subnets"]
        return by_resource_tag(subnets, ctx.spec.cluster_id)

    def _zones(self, ctx: StepContext, existing: dict[str, dict[str, Any]]) -> list[str]:
        """Two AZ names, stable: recorded ones, else those of existing subnets, else fresh."""
        recorded = ctx.condition().get("azs")
        if recorded:
            return list(recorded)
        zones: list[str | None] = [None, None]
        for planned in ctx.network.subnets:
            found = existing.get(planned.key)
            if found is not None and zones[planned.az_index] is None:
                zones[planned.az_index] = found["AvailabilityZone"]
        if None in zones:
            offered = _ec2(ctx).describe_availability_zones(
                Filters=[
                    {"Name": "state", "Values": ["available"]},
                    {"Name": "zone-type", "Values": ["availability-zone"]},
                ]
            )["AvailabilityZones"]
            candidates = sorted(
                z["ZoneName"]
                for z in offered
                if z.get("ZoneId") not in EKS_UNSUPPORTED_ZONE_IDS
                and z.get("OptInStatus", "opt-in-not-required") == "opt-in-not-required"
                and z["ZoneName"] not in zones
            )
            for index in range(2):
                if zones[index] is None:
                    if not candidates:
                        raise PermanentError(
                            f"region {ctx.spec.region} offers fewer than two usable AZs",
                            remedy="choose a region with at least two availability zones",
                        )
                    zones[index] = candidates.pop(0)
        result = [str(z) for z in zones]
        ctx.condition()["azs"] = result
        return result

    def ensure(self, ctx: StepContext) -> StepResult:
        vpc_id = ctx.require_id("vpc", "vpc")
        existing = self._find(ctx)
        zones = self._zones(ctx, existing)
        pending = []
        for planned in ctx.network.subnets:
            subnet = existing.get(planned.key)
            if subnet is None:
                tags = [
                    *ctx.tags(planned.key),
                    {
                        "Key": "kubernetes.io/role/elb"
                        if planned.public
                        else "kubernetes.io/role/internal-elb",
                        "Value": "1",
                    },
                ]
                subnet = _ec2(ctx).create_subnet(
                    VpcId=vpc_id,
                    CidrBlock=planned.cidr,
                    AvailabilityZone=zones[planned.az_index],
                    TagSpecifications=[{"ResourceType": "subnet", "Tags": tags}],
                )["Subnet"]
                ctx.record(planned.key, subnet["SubnetId"], "created", planned.cidr)
            else:
                ctx.record(planned.key, subnet["SubnetId"], "found")
            if subnet["CidrBlock"] != planned.cidr or subnet["VpcId"] != vpc_id:
                raise PermanentError(
                    f"subnet {subnet['SubnetId']} ({planned.key}) has CIDR "
                    f"{subnet['CidrBlock']} in {subnet['VpcId']}, expected {planned.cidr}",
                    remedy="delete the cluster and create it again with the intended CIDR",
                )
            if subnet.get("State") == "pending":
                pending.append(planned.key)
        ctx.condition()["aws_id"] = ",".join(
            ctx.condition()["resources"][p.key] for p in ctx.network.subnets
        )
        if pending:
            return Waiting(f"subnets pending: {', '.join(pending)}", after=5)
        return Ready()

    def delete(self, ctx: StepContext) -> StepResult:
        for key, subnet in self._find(ctx).items():
            absent_on(
                ("InvalidSubnetID.NotFound",),
                _ec2(ctx).delete_subnet,
                SubnetId=subnet["SubnetId"],
            )
            ctx.note("deleted", key, "", subnet["SubnetId"])
            ctx.forget(key)
        return Ready()

    def plan(self, ctx: StepContext) -> list[PlannedChange]:
        existing = self._find(ctx)
        return [
            PlannedChange(self.name, "create", p.key, p.cidr)
            for p in ctx.network.subnets
            if p.key not in existing
        ]

    def plan_delete(self, ctx: StepContext) -> list[PlannedChange]:
        return [
            PlannedChange(self.name, "delete", key, "", s["SubnetId"])
            for key, s in self._find(ctx).items()
        ]


# ---------------------------------------------------------------------- Internet gateway
class InternetGatewayStep(Step):
    """One internet gateway attached to the cluster VPC (public subnets and NAT egress)."""

    name = "internet_gateway"

    def _find(self, ctx: StepContext) -> list[dict[str, Any]]:
        gateways = _ec2(ctx).describe_internet_gateways(Filters=ctx.tag_filters())
        return owned(gateways["InternetGateways"], ctx.spec.cluster_id)

    def ensure(self, ctx: StepContext) -> StepResult:
        vpc_id = ctx.require_id("vpc", "vpc")
        gateway = by_resource_tag(self._find(ctx), ctx.spec.cluster_id).get("igw")
        if gateway is None:
            gateway = _ec2(ctx).create_internet_gateway(
                TagSpecifications=ctx.tag_specifications("internet-gateway", "igw")
            )["InternetGateway"]
            ctx.record("igw", gateway["InternetGatewayId"], "created")
        else:
            ctx.record("igw", gateway["InternetGatewayId"], "found")
        attached = {a["VpcId"] for a in gateway.get("Attachments", [])}
        if vpc_id not in attached:
            _ec2(ctx).attach_internet_gateway(
                InternetGatewayId=gateway["InternetGatewayId"], VpcId=vpc_id
            )
            ctx.note("updated", "igw", f"attached to {vpc_id}", gateway["InternetGatewayId"])
        ctx.condition()["aws_id"] = gateway["InternetGatewayId"]
        return Ready()

    def delete(self, ctx: StepContext) -> StepResult:
        for gateway in self._find(ctx):
            gateway_id = gateway["InternetGatewayId"]
            for attachment in gateway.get("Attachments", []):
                absent_on(
                    ("Gateway.NotAttached", "InvalidInternetGatewayID.NotFound"),
                    _ec2(ctx).detach_internet_gateway,
                    InternetGatewayId=gateway_id,
                    VpcId=attachment["VpcId"],
                )
            absent_on(
                ("InvalidInternetGatewayID.NotFound",),
                _ec2(ctx).delete_internet_gateway,
                InternetGatewayId=gateway_id,
            )
            ctx.note("deleted", "igw", "", gateway_id)
            ctx.forget("igw")
        return Ready()

    def plan(self, ctx: StepContext) -> list[PlannedChange]:
        if by_resource_tag(self._find(ctx), ctx.spec.cluster_id).get("igw") is None:
            return [PlannedChange(self.name, "create", "igw", "attached to the cluster VPC")]
        return []

    def plan_delete(self, ctx: StepContext) -> list[PlannedChange]:
        return [
            PlannedChange(self.name, "delete", "igw", "", g["InternetGatewayId"])
            for g in self._find(ctx)
        ]


# ---------------------------------------------------------------------- NAT gateways
class NatGatewaysStep(Step):
    """A NAT gateway with its Elastic IP in each public subnet (or one, to save cost)."""

    name = "nat_gateways"

    def _keys(self, ctx: StepContext) -> list[str]:
        return list(AZ_SUFFIXES[: ctx.spec.nat_gateway_count])

    def _find_nats(self, ctx: StepContext) -> list[dict[str, Any]]:
        filters = [*ctx.tag_filters(), {"Name": "state", "Values": _LIVE_NAT_STATES}]
        return owned(
            _ec2(ctx).describe_nat_gateways(Filters=filters)["NatGateways"], ctx.spec.cluster_id
        )

    def _find_addresses(self, ctx: StepContext) -> list[dict[str, Any]]:
        addresses = _ec2(ctx).describe_addresses(Filters=ctx.tag_filters())["Addresses"]
        return owned(addresses, ctx.spec.cluster_id)

    def ensure(self, ctx: StepContext) -> StepResult:
        nats = by_resource_tag(self._find_nats(ctx), ctx.spec.cluster_id)
        addresses: dict[str, dict[str, Any]] | None = None
        waiting: list[str] = []
        for suffix in self._keys(ctx):
            nat_key, eip_key = f"nat-{suffix}", f"eip-{suffix}"
            nat = nats.get(nat_key)
            if nat is not None and nat["State"] == "failed":
                _ec2(ctx).delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
                ctx.note("error", nat_key, nat.get("FailureMessage", "failed"), nat["NatGatewayId"])
                ctx.bump_client_token(nat_key)
                nat = None
            if nat is None:
                if addresses is None:
                    addresses = by_resource_tag(self._find_addresses(ctx), ctx.spec.cluster_id)
                address = addresses.get(eip_key)
                if address is None:
                    address = _ec2(ctx).allocate_address(
                        Domain="vpc",
                        TagSpecifications=ctx.tag_specifications("elastic-ip", eip_key),
                    )
                    ctx.record(eip_key, address["AllocationId"], "created", address["PublicIp"])
                else:
                    ctx.record(eip_key, address["AllocationId"], "found")
                subnet_id = ctx.require_id("subnets", f"public-{suffix}")
                nat = _ec2(ctx).create_nat_gateway(
                    SubnetId=subnet_id,
                    AllocationId=address["AllocationId"],
                    ClientToken=ctx.client_token(nat_key),
                    TagSpecifications=ctx.tag_specifications("natgateway", nat_key),
                )["NatGateway"]
                if nat["State"] in ("deleted", "deleting", "failed"):
                    # The token answered with a NAT gateway that no longer lives.
                    ctx.bump_client_token(nat_key)
                    raise TemporaryError(f"{nat_key}: stale idempotency token", retry_after=1)
                ctx.record(nat_key, nat["NatGatewayId"], "created", subnet_id)
            else:
                ctx.record(nat_key, nat["NatGatewayId"], "found")
                for address in nat.get("NatGatewayAddresses", []):
                    if address.get("AllocationId"):
                        ctx.record(eip_key, address["AllocationId"], "found")
            if nat["State"] != "available":
                waiting.append(f"{nat_key} {nat['State']}")
        ctx.condition()["aws_id"] = ",".join(
            ctx.condition()["resources"][f"nat-{s}"] for s in self._keys(ctx)
        )
        if waiting:
            ctx.note("waiting", "nat", ", ".join(waiting))
            return Waiting(f"NAT gateways: {', '.join(waiting)}", after=15)
        return Ready()

    def verify(self, ctx: StepContext) -> StepResult:
        ids = [ctx.resource_id(self.name, f"nat-{s}") for s in self._keys(ctx)]
        if None in ids:
            return Waiting("NAT gateway ids missing from status", after=0)
        nats = _ec2(ctx).describe_nat_gateways(NatGatewayIds=ids)["NatGateways"]
        states = {n["NatGatewayId"]: n["State"] for n in nats}
        bad = [i for i in ids if states.get(i) != "available"]
        if bad:
            return Waiting(f"NAT gateways not available: {', '.join(str(b) for b in bad)}", 0)
        return Ready()

    def delete(self, ctx: StepContext) -> StepResult:
        remaining = []
        for key, nat in by_resource_tag(self._find_nats(ctx), ctx.spec.cluster_id).items():
            if nat["State"] != "deleting":
                absent_on(
                    ("NatGatewayNotFound", "InvalidNatGatewayID.NotFound"),
                    _ec2(ctx).delete_nat_gateway,
                    NatGatewayId=nat["NatGatewayId"],
                )
                ctx.note("deleted", key, "deletion requested", nat["NatGatewayId"])
            remaining.append(key)
        if remaining and self._find_nats(ctx):
            return Waiting(f"NAT gateways deleting: {', '.join(remaining)}", after=15)
        for address in self._find_addresses(ctx):
            absent_on(
                ("InvalidAllocationID.NotFound",),
                _ec2(ctx).release_address,
                AllocationId=address["AllocationId"],
            )
            ctx.note("deleted", "eip", "", address["AllocationId"])
        ctx.condition()["resources"] = {}
        return Ready()

    def plan(self, ctx: StepContext) -> list[PlannedChange]:
        nats = by_resource_tag(self._find_nats(ctx), ctx.spec.cluster_id)
        addresses = by_resource_tag(self._find_addresses(ctx), ctx.spec.cluster_id)
        changes = []
        for suffix in self._keys(ctx):
            if f"eip-{suffix}" not in addresses and f"nat-{suffix}" not in nats:
                changes.append(PlannedChange(self.name, "create", f"eip-{suffix}"))
            nat = nats.get(f"nat-{suffix}")
            if nat is None:
                changes.append(
                    PlannedChange(self.name, "create", f"nat-{suffix}", f"in public-{suffix}")
                )
            elif nat["State"] == "failed":
                changes.append(
                    PlannedChange(
                        self.name, "replace", f"nat-{suffix}", "failed", nat["NatGatewayId"]
                    )
                )
        return changes

    def plan_delete(self, ctx: StepContext) -> list[PlannedChange]:
        changes = [
            PlannedChange(self.name, "delete", key, "", nat["NatGatewayId"])
            for key, nat in by_resource_tag(self._find_nats(ctx), ctx.spec.cluster_id).items()
        ]
        changes += [
            PlannedChange(self.name, "delete", "eip", "", a["AllocationId"])
            for a in self._find_addresses(ctx)
        ]
        return changes


# ---------------------------------------------------------------------- Route tables
class RouteTablesStep(Step):
    """Public table (default route to the IGW) and one private table per AZ (to its NAT)."""

    name = "route_tables"

    def _desired(self, ctx: StepContext) -> dict[str, tuple[dict[str, str], list[str]]]:
        """Route table key -> (default-route target, subnet ids to associate)."""
        igw = ctx.require_id("internet_gateway", "igw")
        nat_suffixes = AZ_SUFFIXES[: ctx.spec.nat_gateway_count]
        desired: dict[str, tuple[dict[str, str], list[str]]] = {
            "public": (
                {"GatewayId": igw},
                [ctx.require_id("subnets", f"public-{s}") for s in AZ_SUFFIXES],
            )
        }
        for index, suffix in enumerate(AZ_SUFFIXES):
            nat_suffix = nat_suffixes[min(index, len(nat_suffixes) - 1)]
            desired[f"private-{suffix}"] = (
                {"NatGatewayId": ctx.require_id("nat_gateways", f"nat-{nat_suffix}")},
                [ctx.require_id("subnets", f"private-{suffix}")],
            )
        return desired

    def _find(self, ctx: StepContext) -> dict[str, dict[str, Any]]:
        tables = _ec2(ctx).describe_route_tables(Filters=ctx.tag_filters())["RouteTables"]
        return by_resource_tag(tables, ctx.spec.cluster_id)

    def ensure(self, ctx: StepContext) -> StepResult:
        vpc_id = ctx.require_id("vpc", "vpc")
        existing = self._find(ctx)
        for key, (target, subnet_ids) in self._desired(ctx).items():
            table = existing.get(key)
            if table is None:
                table = _ec2(ctx).create_route_table(
                    VpcId=vpc_id, TagSpecifications=ctx.tag_specifications("route-table", key)
                )["RouteTable"]
                ctx.record(key, table["RouteTableId"], "created")
            else:
                ctx.record(key, table["RouteTableId"], "found")
            table_id = table["RouteTableId"]
            default = next(
                (
                    r
                    for r in table.get("Routes", [])
                    if r.get("DestinationCidrBlock") == "0.0.0.0/0"
                ),
                None,
            )
            target_key, target_id = next(iter(target.items()))
            if default is None:
                _ec2(ctx).create_route(
                    RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0", **target
                )
                ctx.note("updated", key, f"default route via {target_id}", table_id)
            elif default.get(target_key) != target_id or default.get("State") == "blackhole":
                _ec2(ctx).replace_route(
                    RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0", **target
                )
                ctx.note("updated", key, f"default route replaced: via {target_id}", table_id)
            associated = {a.get("SubnetId") for a in table.get("Associations", [])}
            for subnet_id in subnet_ids:
                if subnet_id not in associated:
                    _ec2(ctx).associate_route_table(RouteTableId=table_id, SubnetId=subnet_id)
                    ctx.note("updated", key, f"associated {subnet_id}", table_id)
        ctx.condition()["aws_id"] = ",".join(ctx.condition()["resources"].values())
        return Ready()

    def delete(self, ctx: StepContext) -> StepResult:
        for key, table in self._find(ctx).items():
            for association in table.get("Associations", []):
                if association.get("Main"):
                    continue
                absent_on(
                    ("InvalidAssociationID.NotFound",),
                    _ec2(ctx).disassociate_route_table,
                    AssociationId=association["RouteTableAssociationId"],
                )
            absent_on(
                ("InvalidRouteTableID.NotFound",),
                _ec2(ctx).delete_route_table,
                RouteTableId=table["RouteTableId"],
            )
            ctx.note("deleted", key, "", table["RouteTableId"])
            ctx.forget(key)
        return Ready()

    def plan(self, ctx: StepContext) -> list[PlannedChange]:
        existing = self._find(ctx)
        keys = ["public", *(f"private-{s}" for s in AZ_SUFFIXES)]
        return [
            PlannedChange(self.name, "create", key, "default route and subnet associations")
            for key in keys
            if key not in existing
        ]

    def plan_delete(self, ctx: StepContext) -> list[PlannedChange]:
        return [
            PlannedChange(self.name, "delete", key, "", t["RouteTableId"])
            for key, t in self._find(ctx).items()
        ]


# ---------------------------------------------------------------------- Security groups
SECURITY_GROUPS: dict[str, tuple[str, int]] = {
    "sg-eks-cluster": ("EKS control plane: HTTPS from the VPC", 443),
    "sg-database": ("Airflow metadata database: PostgreSQL from the VPC", 5432),
    "sg-endpoints": ("Interface VPC endpoints: HTTPS from the VPC", 443),
}


class SecurityGroupsStep(Step):
    """Security groups for the EKS control plane, the database and the VPC endpoints."""

    name = "security_groups"

    def _find(self, ctx: StepContext) -> dict[str, dict[str, Any]]:
        groups = _ec2(ctx).describe_security_groups(Filters=ctx.tag_filters())["SecurityGroups"]
        return by_resource_tag(groups, ctx.spec.cluster_id)

    def ensure(self, ctx: StepContext) -> StepResult:
        vpc_id = ctx.require_id("vpc", "vpc")
        existing = self._find(ctx)
        for key, (description, port) in SECURITY_GROUPS.items():
            group = existing.get(key)
            if group is None:
                group_id = _ec2(ctx).create_security_group(
                    GroupName=f"flightdeck-{ctx.spec.cluster_id}-{key}",
                    Description=description,
                    VpcId=vpc_id,
                    TagSpecifications=ctx.tag_specifications("security-group", key),
                )["GroupId"]
                ctx.record(key, group_id, "created")
                permissions: list[dict[str, Any]] = []
            else:
                group_id = group["GroupId"]
                ctx.record(key, group_id, "found")
                permissions = group.get("IpPermissions", [])
            allowed = any(
                p.get("IpProtocol") == "tcp"
                and p.get("FromPort") == port
                and p.get("ToPort") == port
                and any(r.get("CidrIp") == ctx.spec.vpc_cidr for r in p.get("IpRanges", []))
                for p in permissions
            )
            if not allowed:
                absent_on(
                    ("InvalidPermission.Duplicate",),
                    _ec2(ctx).authorize_security_group_ingress,
                    GroupId=group_id,
                    IpPermissions=[
                        {
                            "IpProtocol": "tcp",
                            "FromPort": port,
                            "ToPort": port,
                            "IpRanges": [{"CidrIp": ctx.spec.vpc_cidr}],
                        }
                    ],
                )
                ctx.note("updated", key, f"ingress tcp/{port} from {ctx.spec.vpc_cidr}", group_id)
        ctx.condition()["aws_id"] = ",".join(ctx.condition()["resources"].values())
        return Ready()

    def delete(self, ctx: StepContext) -> StepResult:
        for key, group in self._find(ctx).items():
            absent_on(
                ("InvalidGroup.NotFound",),
                _ec2(ctx).delete_security_group,
                GroupId=group["GroupId"],
            )
            ctx.note("deleted", key, "", group["GroupId"])
            ctx.forget(key)
        return Ready()

    def plan(self, ctx: StepContext) -> list[PlannedChange]:
        existing = self._find(ctx)
        return [
            PlannedChange(self.name, "create", key, description)
            for key, (description, _port) in SECURITY_GROUPS.items()
            if key not in existing
        ]

    def plan_delete(self, ctx: StepContext) -> list[PlannedChange]:
        return [
            PlannedChange(self.name, "delete", key, "", g["GroupId"])
            for key, g in self._find(ctx).items()
        ]


# ---------------------------------------------------------------------- VPC endpoints
INTERFACE_ENDPOINTS: dict[str, str] = {
    "vpce-sts": "sts",
    "vpce-ecr-api": "ecr.api",
    "vpce-ecr-dkr": "ecr.dkr",
    "vpce-elb": "elasticloadbalancing",
    "vpce-autoscaling": "autoscaling",
}
GATEWAY_ENDPOINT_KEY = "vpce-s3"


class VpcEndpointsStep(Step):
    """S3 gateway endpoint plus interface endpoints nodes need without NAT round trips."""

    name = "vpc_endpoints"

    def _find(self, ctx: StepContext) -> dict[str, dict[str, Any]]:
        filters = [
            *ctx.tag_filters(),
            {"Name": "vpc-endpoint-state", "Values": _LIVE_ENDPOINT_STATES},
        ]
        endpoints = _ec2(ctx).describe_vpc_endpoints(Filters=filters)["VpcEndpoints"]
        return by_resource_tag(endpoints, ctx.spec.cluster_id)

    def _service(self, ctx: StepContext, short: str) -> str:
        return f"com.amazonaws.{ctx.spec.region}.{short}"

    def ensure(self, ctx: StepContext) -> StepResult:
        vpc_id = ctx.require_id("vpc", "vpc")
        existing = self._find(ctx)
        table_ids = [
            ctx.require_id("route_tables", key)
            for key in ("public", *(f"private-{s}" for s in AZ_SUFFIXES))
        ]
        private_subnets = [ctx.require_id("subnets", f"private-{s}") for s in AZ_SUFFIXES]
        endpoint_sg = ctx.require_id("security_groups", "sg-endpoints")
        waiting = []
        wanted: dict[str, dict[str, Any]] = {
            GATEWAY_ENDPOINT_KEY: {
                "VpcEndpointType": "Gateway",
                "ServiceName": self._service(ctx, "s3"),
                "RouteTableIds": table_ids,
            }
        }
        for key, short in INTERFACE_ENDPOINTS.items():
            wanted[key] = {
                "VpcEndpointType": "Interface",
                "ServiceName": self._service(ctx, short),
                "SubnetIds": private_subnets,
                "SecurityGroupIds": [endpoint_sg],
                "PrivateDnsEnabled": True,
            }
        for key, arguments in wanted.items():
            endpoint = existing.get(key)
            if endpoint is None:
                endpoint = _ec2(ctx).create_vpc_endpoint(
                    VpcId=vpc_id,
                    ClientToken=ctx.client_token(key),
                    TagSpecifications=ctx.tag_specifications("vpc-endpoint", key),
                    **arguments,
                )["VpcEndpoint"]
                ctx.record(key, endpoint["VpcEndpointId"], "created", arguments["ServiceName"])
            else:
                ctx.record(key, endpoint["VpcEndpointId"], "found")
                if key == GATEWAY_ENDPOINT_KEY:
                    missing = sorted(set(table_ids) - set(endpoint.get("RouteTableIds", [])))
                    if missing:
                        _ec2(ctx).modify_vpc_endpoint(
                            VpcEndpointId=endpoint["VpcEndpointId"], AddRouteTableIds=missing
                        )
                        ctx.note(
                            "updated", key, f"route tables {missing}", endpoint["VpcEndpointId"]
                        )
            state = str(endpoint.get("State", "available"))
            if state.lower() in ("failed", "rejected"):
                raise PermanentError(
                    f"VPC endpoint {endpoint['VpcEndpointId']} ({key}) is {state}",
                    remedy="delete the failed endpoint (VPC console); the next pass recreates it",
                )
            if state.lower() != "available":
                waiting.append(f"{key} {state}")
        ctx.condition()["aws_id"] = ",".join(ctx.condition()["resources"].values())
        if waiting:
            return Waiting(f"VPC endpoints: {', '.join(waiting)}", after=15)
        return Ready()

    def delete(self, ctx: StepContext) -> StepResult:
        existing = self._find(ctx)
        to_delete = [e["VpcEndpointId"] for e in existing.values() if e.get("State") != "deleting"]
        if to_delete:
            _ec2(ctx).delete_vpc_endpoints(VpcEndpointIds=to_delete)
            for endpoint_id in to_delete:
                ctx.note("deleted", "vpc-endpoint", "deletion requested", endpoint_id)
        if existing and self._find(ctx):
            return Waiting("VPC endpoints deleting", after=10)
        ctx.condition()["resources"] = {}
        return Ready()

    def plan(self, ctx: StepContext) -> list[PlannedChange]:
        existing = self._find(ctx)
        keys = [GATEWAY_ENDPOINT_KEY, *INTERFACE_ENDPOINTS]
        return [
            PlannedChange(self.name, "create", key, "VPC endpoint")
            for key in keys
            if key not in existing
        ]

    def plan_delete(self, ctx: StepContext) -> list[PlannedChange]:
        return [
            PlannedChange(self.name, "delete", key, "", e["VpcEndpointId"])
            for key, e in self._find(ctx).items()
        ]
