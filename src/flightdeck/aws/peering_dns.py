"""Private DNS over a peering: a Route 53 Resolver outbound endpoint in the cluster's VPC
and one forwarding rule per requested domain, associated with that VPC.

The endpoint sits in the cluster's private subnets behind its own security group, which
lets DNS (UDP and TCP 53) out to the given resolver addresses and nothing else. Every piece
carries the cluster and ``flightdeck:peering-id`` tags and is found by them, so a pass
killed anywhere resumes without duplicates; drift (a rule pointing elsewhere, an endpoint
deleted or re-grouped outside flightdeck) is repaired by replacing the piece.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from flightdeck.aws.peering_request import DnsForward
from flightdeck.aws.provision.context import CLUSTER_TAG, MANAGED_BY_TAG, tag_value

PEERING_TAG = "flightdeck:peering-id"  # the same tag as the connection's
DNS_PORT = 53
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_NOT_FOUND = ("ResourceNotFoundException",)


@dataclass(frozen=True)
class DnsTarget:
    """Where the resolver pieces go: the cluster's VPC and its private subnets."""

    cluster_id: str
    vpc_id: str
    subnet_ids: tuple[str, ...]


def _name(*parts: str) -> str:
    return _NAME_UNSAFE.sub("-", "-".join(parts))[:64]


def _tags(target: DnsTarget, peering_id: str, name: str) -> list[dict[str, str]]:
    return [
        {"Key": CLUSTER_TAG, "Value": target.cluster_id},
        {"Key": PEERING_TAG, "Value": peering_id},
        {"Key": MANAGED_BY_TAG, "Value": "flightdeck"},
        {"Key": "Name", "Value": name},
    ]


def _ours(resolver: Any, arn: str, target: DnsTarget, peering_id: str) -> bool:
    try:
        tags = resolver.list_tags_for_resource(ResourceArn=arn).get("Tags", [])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
            return False
        raise
    return (
        tag_value(tags, CLUSTER_TAG) == target.cluster_id
        and tag_value(tags, PEERING_TAG) == peering_id
    )


# -- finding --------------------------------------------------------------------------------
def find_security_group(ec2: Any, target: DnsTarget, peering_id: str) -> dict[str, Any] | None:
    groups = ec2.describe_security_groups(
        Filters=[
            {"Name": f"tag:{CLUSTER_TAG}", "Values": [target.cluster_id]},
            {"Name": f"tag:{PEERING_TAG}", "Values": [peering_id]},
        ]
    )["SecurityGroups"]
    mine = [
        g
        for g in groups
        if tag_value(g.get("Tags"), CLUSTER_TAG) == target.cluster_id
        and tag_value(g.get("Tags"), PEERING_TAG) == peering_id
    ]
    return mine[0] if mine else None


def find_endpoints(resolver: Any, target: DnsTarget, peering_id: str) -> list[dict[str, Any]]:
    found = resolver.list_resolver_endpoints(
        Filters=[{"Name": "HostVPCId", "Values": [target.vpc_id]}]
    )["ResolverEndpoints"]
    return [
        e
        for e in found
        if e.get("HostVPCId") == target.vpc_id
        and e.get("Direction") == "OUTBOUND"
        and _ours(resolver, e["Arn"], target, peering_id)
    ]


def find_rules(resolver: Any, target: DnsTarget, peering_id: str) -> list[dict[str, Any]]:
    found = resolver.list_resolver_rules(Filters=[{"Name": "RuleType", "Values": ["FORWARD"]}])[
        "ResolverRules"
    ]
    return [
        r
        for r in found
        if r.get("RuleType") == "FORWARD" and _ours(resolver, r["Arn"], target, peering_id)
    ]


def _associations(resolver: Any, rule_id: str) -> list[dict[str, Any]]:
    found = resolver.list_resolver_rule_associations(
        Filters=[{"Name": "ResolverRuleId", "Values": [rule_id]}]
    )["ResolverRuleAssociations"]
    return [a for a in found if a.get("ResolverRuleId") == rule_id]


# -- ensuring -------------------------------------------------------------------------------
def _egress(ips: Sequence[str]) -> list[dict[str, Any]]:
    ranges = [{"CidrIp": f"{ip}/32"} for ip in sorted(set(ips))]
    return [
        {"IpProtocol": protocol, "FromPort": DNS_PORT, "ToPort": DNS_PORT, "IpRanges": ranges}
        for protocol in ("udp", "tcp")
    ]


def _egress_pairs(permissions: list[dict[str, Any]]) -> set[tuple[str, int, int, str]]:
    return {
        (p.get("IpProtocol", ""), p.get("FromPort", -1), p.get("ToPort", -1), r["CidrIp"])
        for p in permissions
        for r in p.get("IpRanges", [])
    }


def ensure_security_group(
    ec2: Any, target: DnsTarget, peering_id: str, name: str, ips: Sequence[str]
) -> str:
    """The endpoint's group, whose egress is exactly DNS to ``ips`` (drift is undone)."""
    group = find_security_group(ec2, target, peering_id)
    if group is None:
        group_name = _name("flightdeck", target.cluster_id, "peering", name, "dns")
        group_id = str(
            ec2.create_security_group(
                GroupName=group_name,
                Description=f"Resolver endpoint of peering {name}: DNS to its resolvers",
                VpcId=target.vpc_id,
                TagSpecifications=[
                    {
                        "ResourceType": "security-group",
                        "Tags": _tags(target, peering_id, group_name),
                    }
                ],
            )["GroupId"]
        )
        group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    group_id = str(group["GroupId"])
    wanted = _egress(ips)
    have = _egress_pairs(group.get("IpPermissionsEgress", []))
    want = _egress_pairs(wanted)
    extra = have - want
    if extra:
        ec2.revoke_security_group_egress(
            GroupId=group_id,
            IpPermissions=[
                {
                    "IpProtocol": proto,
                    **({"FromPort": low, "ToPort": high} if proto != "-1" else {}),
                    "IpRanges": [{"CidrIp": cidr}],
                }
                for proto, low, high, cidr in sorted(extra)
            ],
        )
    missing = want - have
    if missing:
        ec2.authorize_security_group_egress(
            GroupId=group_id,
            IpPermissions=[
                {"IpProtocol": proto, "FromPort": low, "ToPort": high, "IpRanges": [{"CidrIp": c}]}
                for proto, low, high, c in sorted(missing)
            ],
        )
    return group_id


def ensure_dns(
    ec2: Any,
    resolver: Any,
    target: DnsTarget,
    peering_id: str,
    name: str,
    forwards: Sequence[DnsForward],
) -> list[str]:
    """Endpoint, rules and associations for ``forwards``; returns the ids now in place."""
    if not forwards:
        remove_dns(ec2, resolver, target, peering_id)
        return []
    ips = [ip for f in forwards for ip in f.resolver_ips]
    group_id = ensure_security_group(ec2, target, peering_id, name, ips)
    endpoint = _ensure_endpoint(resolver, target, peering_id, name, group_id)
    in_place = [group_id, str(endpoint["Id"])]
    rules = _rules_by_domain(resolver, target, peering_id)
    wanted = {f.domain: f for f in forwards}
    for domain, rule in rules.items():
        forward = wanted.get(domain)
        if forward is None or not _rule_matches(rule, forward, str(endpoint["Id"])):
            _delete_rule(resolver, rule)
    current = _rules_by_domain(resolver, target, peering_id)
    for domain, forward in wanted.items():
        rule = current.get(domain)
        if rule is None:
            rule_name = _name("flightdeck", name, domain)
            rule = resolver.create_resolver_rule(
                CreatorRequestId=f"{peering_id}-{uuid.uuid4().hex[:8]}",
                Name=rule_name,
                RuleType="FORWARD",
                DomainName=domain,
                TargetIps=[{"Ip": ip, "Port": DNS_PORT} for ip in forward.resolver_ips],
                ResolverEndpointId=endpoint["Id"],
                Tags=_tags(target, peering_id, rule_name),
            )["ResolverRule"]
        rule_id = str(rule["Id"])
        if not any(a.get("VPCId") == target.vpc_id for a in _associations(resolver, rule_id)):
            resolver.associate_resolver_rule(
                ResolverRuleId=rule_id, VPCId=target.vpc_id, Name=_name("flightdeck", name)
            )
        in_place.append(rule_id)
    return in_place


def _rules_by_domain(resolver: Any, target: DnsTarget, peering_id: str) -> dict[str, Any]:
    rules = find_rules(resolver, target, peering_id)
    return {str(r.get("DomainName", "")).rstrip("."): r for r in rules}


def _rule_matches(rule: dict[str, Any], forward: DnsForward, endpoint_id: str) -> bool:
    ips = sorted(t.get("Ip", "") for t in rule.get("TargetIps", []))
    return rule.get("ResolverEndpointId") == endpoint_id and ips == sorted(forward.resolver_ips)


def _ensure_endpoint(
    resolver: Any, target: DnsTarget, peering_id: str, name: str, group_id: str
) -> dict[str, Any]:
    endpoints = find_endpoints(resolver, target, peering_id)
    usable = [
        e
        for e in endpoints
        if e.get("SecurityGroupIds") == [group_id] and e.get("Status") != "DELETING"
    ]
    for stale in endpoints:
        if stale not in usable[:1]:
            for rule in find_rules(resolver, target, peering_id):
                if rule.get("ResolverEndpointId") == stale["Id"]:
                    _delete_rule(resolver, rule)
            _delete_endpoint(resolver, stale["Id"])
    if usable:
        return usable[0]
    endpoint_name = _name("flightdeck", target.cluster_id, name, "dns")
    created: dict[str, Any] = resolver.create_resolver_endpoint(
        CreatorRequestId=f"{peering_id}-{uuid.uuid4().hex[:8]}",
        Name=endpoint_name,
        SecurityGroupIds=[group_id],
        Direction="OUTBOUND",
        IpAddresses=[{"SubnetId": s} for s in target.subnet_ids],
        Tags=_tags(target, peering_id, endpoint_name),
    )["ResolverEndpoint"]
    return created


# -- removing -------------------------------------------------------------------------------
def _delete_rule(resolver: Any, rule: dict[str, Any]) -> None:
    for association in _associations(resolver, rule["Id"]):
        _absent(
            resolver.disassociate_resolver_rule,
            ResolverRuleId=rule["Id"],
            VPCId=association["VPCId"],
        )
    _absent(resolver.delete_resolver_rule, ResolverRuleId=rule["Id"])


def _delete_endpoint(resolver: Any, endpoint_id: str) -> None:
    _absent(resolver.delete_resolver_endpoint, ResolverEndpointId=endpoint_id)


def _absent(call: Any, **params: Any) -> None:
    try:
        call(**params)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in _NOT_FOUND:
            raise


def remove_dns(ec2: Any, resolver: Any, target: DnsTarget, peering_id: str) -> bool:
    """Associations, rules, endpoint, then its security group; ``False`` while the
    endpoint is still going away (its group cannot be deleted before). Safe to repeat."""
    for rule in find_rules(resolver, target, peering_id):
        _delete_rule(resolver, rule)
    endpoints = find_endpoints(resolver, target, peering_id)
    for endpoint in endpoints:
        _delete_endpoint(resolver, endpoint["Id"])
    group = find_security_group(ec2, target, peering_id)
    if group is None:
        return True
    try:
        ec2.delete_security_group(GroupId=group["GroupId"])
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code == "DependencyViolation":
            return False
        if code != "InvalidGroup.NotFound":
            raise
    return True
