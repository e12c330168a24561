"""Peering requests over the API: validated before they are recorded, one line per refusal."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.test_authorization_matrix import World, build_world


def _path(world: World, suffix: str = "") -> str:
    ids = world.ids
    return f"/api/v1/organizations/{ids['org']}/clusters/{ids['cluster']}/peerings{suffix}"


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "lake",
        "peer_account_id": "444455556666",
        "peer_region": "eu-west-1",
        "peer_vpc_id": "vpc-0a1b2c3d",
        "peer_cidrs": ["10.9.0.0/16"],
        "dns": [{"domain": "corp.example.internal", "resolver_ips": ["10.9.0.2"]}],
    }
    body.update(overrides)
    return body


def test_request_list_get_delete(client: TestClient) -> None:
    world = build_world(client)
    owner = world.headers["owner"]
    created = client.post(_path(world), json=_body(), headers=owner)
    assert created.status_code == 201, created.text
    peering = created.json()
    assert peering["phase"] == "requested"
    assert peering["spec"]["peer_cidrs"] == ["10.9.0.0/16"]
    names = [p["name"] for p in client.get(_path(world), headers=world.headers["member"]).json()]
    assert names == ["warehouse", "lake"]
    by_name = client.get(_path(world, "/lake"), headers=owner).json()
    assert by_name["id"] == peering["id"]
    deleted = client.delete(_path(world, "/lake"), headers=owner)
    assert deleted.status_code == 202
    # Never created on AWS: deleted at once, and its name and CIDRs are free again.
    assert deleted.json()["phase"] == "deleted"
    again = client.post(_path(world), json=_body(), headers=owner)
    assert again.status_code == 201, again.text
    missing = client.get(_path(world, "/nope"), headers=owner)
    assert missing.status_code == 404
    assert "flightdeck cluster peering list" in missing.text


def test_overlaps_and_bad_fields_are_refused_with_one_line(client: TestClient) -> None:
    world = build_world(client)
    owner = world.headers["owner"]
    cases = [
        (_body(peer_cidrs=["172.20.8.0/21"]), "peer_cidrs", "cluster's VPC CIDR"),
        # The world's peering "warehouse" routes 10.1.0.0/16.
        (_body(peer_cidrs=["10.1.2.0/24"]), "peer_cidrs", "peering warehouse"),
        (_body(peer_cidrs=["100.64.0.0/16"]), "peer_cidrs", "RFC 1918"),
        (_body(peer_vpc_id="vpc-12"), "peer_vpc_id", "vpc- followed by"),
        (_body(peer_region="xx-west-9"), "peer_region", "choose one of"),
        (_body(peer_account_id="abc"), "peer_account_id", "12-digit"),
        (_body(dns=[{"domain": "corp.internal", "resolver_ips": ["dns.corp"]}]),
         "dns.resolver_ips", "not an IPv4 address"),
        (_body(name="warehouse"), "name", "already has a peering"),
    ]
    for body, field, words in cases:
        response = client.post(_path(world), json=body, headers=owner)
        assert response.status_code in (409, 422), response.text
        error = response.json()
        text = str(error)
        assert field in text and words in text, text
    assert [p["name"] for p in client.get(_path(world), headers=owner).json()] == ["warehouse"]
