"""The cluster side of a peering beyond its routes, against the emulator over HTTP: the
ingress rules on the cluster's security groups and the Route 53 Resolver outbound endpoint
with its forwarding rules. Found by tag (or rule description), repaired when drifted,
never duplicated by a pass killed between any two calls, and nothing tagged is left once
the peering is deleted."""

from __future__ import annotations

from typing import Any

import pytest

from aws.test_peering import PEER_ACCOUNT, PEER_CIDR, _own_ec2, _role_clients
from flightdeck.aws.emulator import RunningEmulator
from flightdeck.aws.peering import PEERING_TAG, ClusterNetwork, delete_peering, reconcile_peering
from flightdeck.aws.peering_customer import accept_peering
from flightdeck.aws.peering_request import IngressTarget, PeeringRequest, validate
from flightdeck.aws.peering_rules import rule_description
from flightdeck.aws.provision import CachedClients
from flightdeck.phases import PeeringPhase

DOMAINS = ("corp.example.internal", "db.example.internal")


def _network(clients: CachedClients, cluster_id: str, cidr: str) -> ClusterNetwork:
    """A cluster VPC as provisioning leaves it: two private route tables, two private
    subnets in two zones, the EKS cluster and database security groups."""
    ec2 = clients.client("ec2")
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    base = cidr.rsplit(".", 2)[0]
    subnets = tuple(
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"{base}.{i}.0/24",
                          AvailabilityZone=f"us-east-1{zone}")["Subnet"]["SubnetId"]
        for i, zone in enumerate("ab"))
    tables = tuple(ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
                   for _ in range(2))
    groups = {
        target: ec2.create_security_group(GroupName=f"{cluster_id}-{target}",
                                          Description=str(target), VpcId=vpc)["GroupId"]
        for target in IngressTarget
    }
    return ClusterNetwork(cluster_id, vpc, tables, private_subnet_ids=subnets,
                          security_groups=groups)


def _request(emulator: RunningEmulator, cluster_cidr: str) -> PeeringRequest:
    peer_vpc = _own_ec2(emulator, PEER_ACCOUNT, "us-east-1").create_vpc(
        CidrBlock=PEER_CIDR)["Vpc"]["VpcId"]
    return validate(
        peer_account_id=PEER_ACCOUNT, peer_region="us-east-1", peer_vpc_id=peer_vpc,
        peer_cidrs=[PEER_CIDR], cluster_cidr=cluster_cidr,
        dns=[{"domain": DOMAINS[0], "resolver_ips": ["10.1.0.2", "10.1.0.3"]},
             {"domain": DOMAINS[1], "resolver_ips": ["10.1.0.2"]}],
        ingress=[{"target": "database", "port": 5432}, {"target": "nodes", "port": "8080"}])


def _ingress(ec2: Any, network: ClusterNetwork, peering_id: str) -> set[tuple[str, int, str]]:
    groups = ec2.describe_security_groups(
        GroupIds=list(network.security_groups.values()))["SecurityGroups"]
    return {(g["GroupId"], p["FromPort"], r["CidrIp"])
            for g in groups for p in g["IpPermissions"] for r in p.get("IpRanges", [])
            if r.get("Description") == rule_description(peering_id)}


def _tagged(
    clients: CachedClients, network: ClusterNetwork, peering_id: str
) -> dict[str, list[str]]:
    """Everything carrying this peering's tag: the DNS group, endpoints, rules, live connections."""
    ec2 = clients.client("ec2")
    resolver = clients.client("route53resolver")

    def ours(tags: list[dict[str, str]]) -> bool:
        return any(t["Key"] == PEERING_TAG and t["Value"] == peering_id for t in tags)

    def tags_of(arn: str) -> list[dict[str, str]]:
        return list(resolver.list_tags_for_resource(ResourceArn=arn)["Tags"])

    return {
        "security_groups": [g["GroupId"] for g in ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [network.vpc_id]}])["SecurityGroups"]
            if ours(g.get("Tags", []))],
        "endpoints": [e["Id"] for e in resolver.list_resolver_endpoints()["ResolverEndpoints"]
                      if ours(tags_of(e["Arn"]))],
        "rules": [r["Id"] for r in resolver.list_resolver_rules()["ResolverRules"]
                  if r.get("RuleType") == "FORWARD" and ours(tags_of(r["Arn"]))],
        "connections": [c["VpcPeeringConnectionId"] for c in ec2.describe_vpc_peering_connections(
            )["VpcPeeringConnections"] if ours(c.get("Tags", []))
            and c["Status"]["Code"] not in ("deleted", "rejected", "failed", "expired")],
    }


def _associations(clients: CachedClients, network: ClusterNetwork) -> list[dict[str, Any]]:
    found = clients.client("route53resolver").list_resolver_rule_associations()[
        "ResolverRuleAssociations"]
    return [a for a in found if a["VPCId"] == network.vpc_id]


def _activate(emulator: RunningEmulator, clients: CachedClients, network: ClusterNetwork,
              peering_id: str, request: PeeringRequest) -> str:
    pending = reconcile_peering(clients, network, peering_id, "warehouse", request)
    assert pending.phase == PeeringPhase.PENDING_ACCEPTANCE and pending.aws_peering_id
    assert _tagged(clients, network, peering_id)["endpoints"] == []  # DNS waits for active
    accept_peering(_own_ec2(emulator, PEER_ACCOUNT, "us-east-1"), pending.aws_peering_id)
    return pending.aws_peering_id


def test_rules_and_dns_are_made_once_repaired_and_removed(emulator_env: RunningEmulator) -> None:
    clients = _role_clients(emulator_env, "us-east-1")
    network = _network(clients, "cl-dns-1", "172.21.0.0/19")
    request = _request(emulator_env, "172.21.0.0/19")
    _activate(emulator_env, clients, network, "pd-1", request)
    ec2 = clients.client("ec2")
    resolver = clients.client("route53resolver")

    active = reconcile_peering(clients, network, "pd-1", "warehouse", request,
                               previous=PeeringPhase.PENDING_ACCEPTANCE)
    assert active.phase == PeeringPhase.ACTIVE
    db, nodes = (network.security_groups[t] for t in (IngressTarget.DATABASE, IngressTarget.NODES))
    assert _ingress(ec2, network, "pd-1") == {(db, 5432, PEER_CIDR), (nodes, 8080, PEER_CIDR)}
    tagged = _tagged(clients, network, "pd-1")
    assert len(tagged["security_groups"]) == 1 and len(tagged["endpoints"]) == 1
    assert len(tagged["rules"]) == 2
    endpoint = resolver.get_resolver_endpoint(
        ResolverEndpointId=tagged["endpoints"][0])["ResolverEndpoint"]
    assert endpoint["Direction"] == "OUTBOUND"
    assert endpoint["SecurityGroupIds"] == tagged["security_groups"]
    addresses = resolver.list_resolver_endpoint_ip_addresses(
        ResolverEndpointId=endpoint["Id"])["IpAddresses"]
    assert sorted(a["SubnetId"] for a in addresses) == sorted(network.private_subnet_ids)
    group = ec2.describe_security_groups(GroupIds=tagged["security_groups"])["SecurityGroups"][0]
    egress = {(p["IpProtocol"], p.get("FromPort"), r["CidrIp"])
              for p in group["IpPermissionsEgress"] for r in p["IpRanges"]}
    assert egress == {(proto, 53, f"10.1.0.{n}/32") for proto in ("udp", "tcp") for n in (2, 3)}
    rules = {r["DomainName"].rstrip("."): r for r in resolver.list_resolver_rules()[
        "ResolverRules"] if r["Id"] in tagged["rules"]}
    assert set(rules) == set(DOMAINS)
    assert sorted(t["Ip"] for t in rules[DOMAINS[0]]["TargetIps"]) == ["10.1.0.2", "10.1.0.3"]
    assert all(r["ResolverEndpointId"] == endpoint["Id"] for r in rules.values())
    assert sorted(a["ResolverRuleId"] for a in _associations(clients, network)) == sorted(
        tagged["rules"])

    # Repeated: nothing new.
    reconcile_peering(clients, network, "pd-1", "warehouse", request, previous=active.phase)
    assert _tagged(clients, network, "pd-1") == tagged
    assert len(_associations(clients, network)) == 2

    # Drift, each repaired by the next pass: an ingress rule revoked, an association removed,
    # a rule deleted, the group opened to everything.
    ec2.revoke_security_group_ingress(GroupId=db, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
        "IpRanges": [{"CidrIp": PEER_CIDR}]}])
    resolver.disassociate_resolver_rule(ResolverRuleId=rules[DOMAINS[0]]["Id"],
                                        VPCId=network.vpc_id)
    resolver.disassociate_resolver_rule(ResolverRuleId=rules[DOMAINS[1]]["Id"],
                                        VPCId=network.vpc_id)
    resolver.delete_resolver_rule(ResolverRuleId=rules[DOMAINS[1]]["Id"])
    ec2.authorize_security_group_egress(GroupId=group["GroupId"], IpPermissions=[{
        "IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    repaired = reconcile_peering(clients, network, "pd-1", "warehouse", request,
                                 previous=active.phase)
    assert _ingress(ec2, network, "pd-1") == {(db, 5432, PEER_CIDR), (nodes, 8080, PEER_CIDR)}
    after = _tagged(clients, network, "pd-1")
    assert len(after["rules"]) == 2 and after["endpoints"] == tagged["endpoints"]
    assert len(_associations(clients, network)) == 2
    assert set(repaired.dns) >= set(after["rules"])
    group = ec2.describe_security_groups(GroupIds=after["security_groups"])["SecurityGroups"][0]
    assert all(r["CidrIp"] != "0.0.0.0/0" for p in group["IpPermissionsEgress"]
               for r in p["IpRanges"])

    # A rule someone else put on the database group is never touched.
    ec2.authorize_security_group_ingress(GroupId=db, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
        "IpRanges": [{"CidrIp": "10.9.0.0/16", "Description": "theirs"}]}])
    gone = delete_peering(clients, network, "pd-1", request)
    assert gone.phase == PeeringPhase.DELETED
    assert _tagged(clients, network, "pd-1") == {
        "security_groups": [], "endpoints": [], "rules": [], "connections": []}
    assert _ingress(ec2, network, "pd-1") == set()
    assert _associations(clients, network) == []
    kept = ec2.describe_security_groups(GroupIds=[db])["SecurityGroups"][0]["IpPermissions"]
    assert any(r["CidrIp"] == "10.9.0.0/16" for p in kept for r in p["IpRanges"])
    assert delete_peering(clients, network, "pd-1", request).phase == PeeringPhase.DELETED


class Killed(Exception):
    """The worker dying between two AWS calls."""


def test_killed_between_any_two_calls_it_resumes_without_duplicates(
    emulator_env: RunningEmulator,
) -> None:
    clients = _role_clients(emulator_env, "us-east-1")
    network = _network(clients, "cl-dns-2", "172.22.0.0/19")
    request = _request(emulator_env, "172.22.0.0/19")
    pcx = _activate(emulator_env, clients, network, "pd-2", request)
    calls = {"n": 0, "kill_at": 0}

    def maybe_kill(**_: Any) -> None:
        calls["n"] += 1
        if calls["n"] == calls["kill_at"]:
            raise Killed

    for service in ("ec2", "route53resolver"):
        clients.client(service).meta.events.register(f"before-call.{service}.*", maybe_kill)

    def kill_each_call_in_turn(run: Any) -> Any:
        """Kill the pass before its 1st call, then (resuming) before its 2nd, ... until one
        pass runs through; each resumes from what the killed one left."""
        for kill_at in range(1, 200):
            calls.update(n=0, kill_at=kill_at)
            try:
                result = run()
            except Killed:
                continue
            assert kill_at > 5, "a full pass makes more calls than that"
            calls.update(n=0, kill_at=0)
            return result
        raise AssertionError("the pass never finished")

    active = kill_each_call_in_turn(lambda: reconcile_peering(
        clients, network, "pd-2", "warehouse", request, previous=PeeringPhase.PENDING_ACCEPTANCE))
    assert active.phase == PeeringPhase.ACTIVE and active.aws_peering_id == pcx
    tagged = _tagged(clients, network, "pd-2")
    assert len(tagged["security_groups"]) == 1 and len(tagged["endpoints"]) == 1
    assert len(tagged["rules"]) == 2 and tagged["connections"] == [pcx]
    assert len(_associations(clients, network)) == 2
    assert len(_ingress(clients.client("ec2"), network, "pd-2")) == 2

    gone = kill_each_call_in_turn(lambda: delete_peering(clients, network, "pd-2", request))
    assert gone.phase == PeeringPhase.DELETED
    assert _tagged(clients, network, "pd-2") == {
        "security_groups": [], "endpoints": [], "rules": [], "connections": []}
    assert _ingress(clients.client("ec2"), network, "pd-2") == set()


@pytest.mark.parametrize(("entry", "field"), [
    ({"target": "web", "port": 80}, "ingress.target"),
    ({"target": "database", "port": 0}, "ingress.port"),
    ({"target": "database", "port": "http"}, "ingress.port"),
])
def test_bad_ingress_names_the_field(entry: dict[str, Any], field: str) -> None:
    from flightdeck.aws.peering_request import InvalidPeering

    with pytest.raises(InvalidPeering) as caught:
        validate(peer_account_id=PEER_ACCOUNT, peer_region="us-east-1",
                 peer_vpc_id="vpc-0a1b2c3d", peer_cidrs=[PEER_CIDR],
                 cluster_cidr="172.23.0.0/19", ingress=[entry])
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_the_validator_finds_dns_resolution_off_and_passes_once_it_is_on(
    emulator_env: RunningEmulator,
) -> None:
    from flightdeck.aws.peering_validator import validate_peering

    clients = _role_clients(emulator_env, "us-east-1")
    network = _network(clients, "cl-dns-3", "172.23.0.0/19")
    request = _request(emulator_env, "172.23.0.0/19")
    pcx = _activate(emulator_env, clients, network, "pd-3", request)
    peer_ec2 = _own_ec2(emulator_env, PEER_ACCOUNT, "us-east-1")

    def dns_check() -> Any:
        [check] = [c for c in validate_peering(peer_ec2, pcx) if c.name == "dns"]
        return check

    assert dns_check().status == "pass"  # accept turned it on
    peer_ec2.modify_vpc_peering_connection_options(
        VpcPeeringConnectionId=pcx,
        AccepterPeeringConnectionOptions={"AllowDnsResolutionFromRemoteVpc": False})
    off = dns_check()
    assert off.status == "fail" and pcx in off.message
    assert f"flightdeck aws peering accept {pcx}" in off.remedy
    assert "AllowDnsResolutionFromRemoteVpc=true" in off.remedy
    accept_peering(peer_ec2, pcx)  # the remedy it names
    assert dns_check().status == "pass"
    delete_peering(clients, network, "pd-3", request)
