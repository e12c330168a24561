"""A cluster's peerings in the console over HTTP, on SQLite and PostgreSQL: listed on the
cluster's page with their status and reason; requested through a form refused with the
API's own one-line messages (and, until the policy version with the peering actions is in
force, with the date); the peer account's commands shown once AWS has the request; deleted
only with the name typed."""

from __future__ import annotations

import html

from fastapi.testclient import TestClient

from console.test_console_http import _active_cluster, csrf, sign_up
from flightdeck.aws.permissions import PEERING_POLICY_VERSION, POLICY_VERSION
from flightdeck.db.models import AwsAccountPolicyState, Cluster, ClusterPeering


def _hold_version(client: TestClient, cluster_id: str, version: str) -> None:
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        cluster = session.get(Cluster, cluster_id)
        assert cluster is not None
        cluster.spec = {**cluster.spec, "vpc_cidr": "172.20.0.0/19"}
        session.merge(AwsAccountPolicyState(aws_account_ref=cluster.aws_account_ref,
                                            policy_version=version))
        session.commit()


def _form(client: TestClient, page: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf(client, f"{page}/peerings/new"), "name": "warehouse",
            "peer_account_id": "444455556666", "peer_region": "eu-west-1",
            "peer_vpc_id": "vpc-0a1b2c3d", "peer_cidrs": "10.1.0.0/16",
            "ingress": "database:5432", "dns": "corp.example.internal=10.1.0.2,10.1.0.3",
            **fields}


def test_peerings_are_requested_shown_and_deleted_in_the_console(client: TestClient) -> None:
    org = sign_up(client, "o@acme.example")
    cluster = _active_cluster(client, org)
    page = f"{org}/clusters/{cluster}"
    _hold_version(client, cluster, "2026-11-21.4")  # before the peering actions

    listing = client.get(page).text
    assert "VPC peerings" in listing and "No peering yet" in listing
    assert f'href="{page}/peerings/new"' in listing

    refused = client.post(f"{page}/peerings", data=_form(client, page))
    assert refused.status_code == 409
    text = html.unescape(refused.text)
    assert f"from version {PEERING_POLICY_VERSION} on" in text and "possible no sooner" in text
    _hold_version(client, cluster, POLICY_VERSION)

    for fields, expected, invalid in (
        ({"peer_cidrs": "100.64.0.0/16"}, "peer_cidrs: '100.64.0.0/16' is not inside",
         "peer_cidrs"),
        ({"peer_cidrs": "172.20.8.0/21"}, "overlaps the cluster's VPC CIDR", "peer_cidrs"),
        ({"peer_vpc_id": "vpc-12"}, "peer_vpc_id: 'vpc-12' is not a VPC id", "peer_vpc_id"),
        ({"dns": "corp.example.internal"}, "dns: 'corp.example.internal' is not DOMAIN=IP", "dns"),
        ({"dns": "corp.example.internal=10.1.0"}, "dns.resolver_ips: '10.1.0' is not an IPv4",
         "dns"),
        ({"ingress": "web:80"}, "ingress.target: 'web' is not a security group", "ingress"),
    ):
        bad = client.post(f"{page}/peerings", data=_form(client, page, **fields))
        assert bad.status_code == 422, (fields, bad.status_code)
        text = html.unescape(bad.text)
        assert expected in text, (expected, text[-3000:])
        assert f'id="{invalid}"' in bad.text and 'aria-invalid="true"' in bad.text
    missing_csrf = client.post(f"{page}/peerings", data={**_form(client, page), "csrf_token": ""})
    assert missing_csrf.status_code in (400, 403)
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        assert session.query(ClusterPeering).count() == 0  # nothing recorded for any of them

    made = client.post(f"{page}/peerings", data=_form(client, page), follow_redirects=False)
    assert made.status_code == 303, made.text
    peering_page = made.headers["location"]
    shown = client.get(peering_page).text
    assert "Peering warehouse" in shown and "requested" in shown and "not created yet" in shown
    assert "database:5432" in shown and "corp.example.internal → 10.1.0.2, 10.1.0.3" in shown

    # The peering pass created it: pending acceptance, with the commands to run.
    with factory() as session:
        row = session.query(ClusterPeering).one()
        row.phase, row.aws_peering_id = "pending-acceptance", "pcx-0123456789abcdef0"
        row.status = {"message": "waiting for account 444455556666 to accept"}
        session.commit()
    shown = html.unescape(client.get(peering_page).text)
    assert ("flightdeck aws peering accept pcx-0123456789abcdef0 --region eu-west-1 "
            "--profile <your-profile>") in shown
    assert "flightdeck aws peering validate pcx-0123456789abcdef0 --region eu-west-1" in shown
    assert 'data-copy-target="accept-command"' in shown
    listing = html.unescape(client.get(page).text)
    assert "pending-acceptance" in listing and "waiting for account 444455556666" in listing

    # An ended one shows its reason on the cluster's page.
    with factory() as session:
        row = session.query(ClusterPeering).one()
        row.phase, row.last_error = "failed", "AWS failed the peering: overlapping CIDRs"
        session.commit()
    assert "AWS failed the peering: overlapping CIDRs" in client.get(page).text

    delete = f"{peering_page}/delete"
    wrong = client.post(delete, data={"csrf_token": csrf(client, delete), "confirm_name": "ware"})
    assert wrong.status_code == 422 and "type the peering&#39;s name, warehouse," in wrong.text
    gone = client.post(delete, data={"csrf_token": csrf(client, delete),
                                     "confirm_name": "warehouse"}, follow_redirects=False)
    assert gone.status_code == 303
    with factory() as session:
        assert session.query(ClusterPeering).one().desired_state == "absent"


def test_an_unknown_peering_or_cluster_is_the_404_page(client: TestClient) -> None:
    org = sign_up(client, "o@acme.example")
    cluster = _active_cluster(client, org)
    assert client.get(f"{org}/clusters/{cluster}/peerings/new").status_code == 200
    for path in (f"{org}/clusters/{cluster}/peerings/nothing",
                 f"{org}/clusters/nothing/peerings/new",
                 f"{org}/clusters/{cluster}/peerings/nothing/delete"):
        missing = client.get(path)
        assert missing.status_code == 404 and "Page not found" in missing.text, path
