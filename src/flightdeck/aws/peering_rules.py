"""Ingress on the cluster's own security groups for a peering's CIDRs, as the request names.

Each rule is one (group, TCP port, peer CIDR) whose range carries the description
``flightdeck peering <peering id>``: that description is how the rules are found again, so
a pass adds only what is missing (a rule revoked outside flightdeck comes back), revokes
ours that the request no longer names, and never touches a rule someone else added.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from flightdeck.aws.peering_request import IngressTarget, PeerIngress

Rule = tuple[str, int, str]  # group id, port, CIDR


def rule_description(peering_id: str) -> str:
    return f"flightdeck peering {peering_id}"


def _existing(ec2: Any, group_ids: Sequence[str], description: str) -> set[Rule]:
    if not group_ids:
        return set()
    try:
        groups = ec2.describe_security_groups(GroupIds=list(group_ids))["SecurityGroups"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "InvalidGroup.NotFound":
            return set()  # the cluster's groups are gone already
        raise
    found: set[Rule] = set()
    for group in groups:
        for permission in group.get("IpPermissions", []):
            if permission.get("IpProtocol") != "tcp":
                continue
            port = permission.get("FromPort")
            if port is None or permission.get("ToPort") != port:
                continue
            for ip_range in permission.get("IpRanges", []):
                if ip_range.get("Description") == description:
                    found.add((group["GroupId"], int(port), ip_range["CidrIp"]))
    return found


def _permission(port: int, cidr: str, description: str | None) -> dict[str, Any]:
    ip_range = {"CidrIp": cidr, **({"Description": description} if description else {})}
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [ip_range]}


def ensure_rules(
    ec2: Any,
    groups: Mapping[IngressTarget, str],
    peering_id: str,
    ingress: Sequence[PeerIngress],
    cidrs: Sequence[str],
) -> list[str]:
    """Make the peering's rules exactly those requested; returns ``group:tcp/port:cidr``."""
    description = rule_description(peering_id)
    wanted = {
        (groups[i.target], i.port, cidr) for i in ingress if i.target in groups for cidr in cidrs
    }
    existing = _existing(ec2, sorted(set(groups.values())), description)
    for group_id, port, cidr in sorted(wanted - existing):
        try:
            ec2.authorize_security_group_ingress(
                GroupId=group_id, IpPermissions=[_permission(port, cidr, description)]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "InvalidPermission.Duplicate":
                raise
    for group_id, port, cidr in sorted(existing - wanted):
        _revoke(ec2, group_id, port, cidr)
    return [f"{g}:tcp/{p}:{c}" for g, p, c in sorted(wanted)]


def remove_rules(ec2: Any, group_ids: Sequence[str], peering_id: str) -> None:
    """Revoke every rule of the peering; safe to repeat."""
    for group_id, port, cidr in sorted(_existing(ec2, group_ids, rule_description(peering_id))):
        _revoke(ec2, group_id, port, cidr)


def _revoke(ec2: Any, group_id: str, port: int, cidr: str) -> None:
    try:
        ec2.revoke_security_group_ingress(
            GroupId=group_id, IpPermissions=[_permission(port, cidr, None)]
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in (
            "InvalidPermission.NotFound",
            "InvalidGroup.NotFound",
        ):
            raise
