"""`flightdeck cluster peering create|list|get|delete`, the real executable against a real
server: bad input is one line naming the field, nothing is recorded for it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import select

from cli.conftest import Server, run_cli, sign_up_and_verify
from flightdeck.aws.permissions import POLICY_VERSION
from flightdeck.db.engine import make_engine, make_session_factory
from flightdeck.db.models import AwsAccount, AwsAccountPolicyState, Cluster, Organization


def _add_cluster(database_url: str) -> None:
    """An Active cluster, as a past request and reconcile left it (no AWS involved)."""
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        org = session.scalars(select(Organization)).one()
        account = AwsAccount(organization_id=org.id, account_id="222222222222",
                             role_arn="arn:aws:iam::222222222222:role/r", status="verified")
        session.add(account)
        session.flush()
        session.add(AwsAccountPolicyState(aws_account_ref=account.id,
                                          policy_version=POLICY_VERSION))
        session.add(Cluster(organization_id=org.id, aws_account_ref=account.id, name="prod",
                            region="us-east-1", phase="Active",
                            spec={"account_id": "222222222222", "vpc_cidr": "172.20.0.0/19"}))
        session.commit()
    engine.dispose()


def test_peering_commands(server: Server, tmp_path: Path) -> None:
    env = {**os.environ, "FLIGHTDECK_CONFIG_DIR": str(tmp_path / "cfg"),
           "FLIGHTDECK_PASSWORD": "correct horse battery staple", "COLUMNS": "250"}
    sign_up_and_verify(env, "owner@acme.example", "--organization", "Acme",
                       database_url=server.database_url)
    assert server.database_url
    _add_cluster(server.database_url)
    create = ("cluster", "peering", "create", "prod", "warehouse", "--peer-account",
              "333333333333", "--peer-region", "eu-west-1", "--peer-vpc", "vpc-0a1b2c3d")

    for extra, words in (
        (("--peer-cidr", "172.20.4.0/24"), "peer_cidrs: 172.20.4.0/24 overlaps the cluster's"),
        (("--peer-cidr", "8.8.8.0/24"), "peer_cidrs: '8.8.8.0/24' is not inside the private"),
        (("--peer-cidr", "10.1.0.0/16", "--dns", "corp.internal"), "--dns: 'corp.internal' is "
         "not DOMAIN=IP"),
        (("--peer-cidr", "10.1.0.0/16", "--dns", "corp.internal=10.1.0"),
         "dns.resolver_ips: '10.1.0' is not an IPv4 address"),
        (("--peer-cidr", "10.1.0.0/16", "--allow", "database"),
         "--allow: 'database' is not TARGET:PORT"),
        (("--peer-cidr", "10.1.0.0/16", "--allow", "web:80"),
         "ingress.target: 'web' is not a security group of the cluster"),
        (("--peer-cidr", "10.1.0.0/16", "--allow", "database:70000"),
         "ingress.port: 70000 is not a TCP port"),
    ):
        refused = run_cli(*create, *extra, env=env)
        assert refused.returncode != 0
        assert "Traceback" not in refused.stderr
        assert words in refused.stderr, refused.stderr

    made = run_cli(*create, "--peer-cidr", "10.1.0.0/16", "--dns",
                   "corp.example.internal=10.1.0.2,10.1.0.3", "--allow", "database:5432",
                   "--json", env=env)
    assert made.returncode == 0, made.stderr
    peering = json.loads(made.stdout)
    assert peering["phase"] == "requested"
    assert peering["spec"]["dns"] == [{"domain": "corp.example.internal",
                                       "resolver_ips": ["10.1.0.2", "10.1.0.3"]}]
    assert peering["spec"]["ingress"] == [{"target": "database", "port": 5432}]
    listed = run_cli("cluster", "peering", "list", "prod", env=env)
    assert listed.returncode == 0
    assert "warehouse" in listed.stdout and "10.1.0.0/16" in listed.stdout
    shown = run_cli("cluster", "peering", "get", "prod", "warehouse", env=env)
    assert shown.returncode == 0 and "requested" in shown.stdout
    deleted = run_cli("cluster", "peering", "delete", "prod", "warehouse", "--yes", "--json",
                      env=env)
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(deleted.stdout)["phase"] == "deleted"
    missing = run_cli("cluster", "peering", "get", "prod", "nope", env=env)
    assert missing.returncode != 0 and "flightdeck cluster peering list prod" in missing.stderr
