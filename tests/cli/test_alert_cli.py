"""`flightdeck alert` against a real server (no worker): channels and rules are created,
listed (`--json` too) and deleted, a test queues a sample, and bad input is one line naming
the field and the fix, without a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cli.conftest import Server, run_cli, sign_up_and_verify

PASSWORD = "correct horse battery staple"


def test_alert_rules_and_channels_with_the_cli(server: Server, tmp_path: Path) -> None:
    env = {**os.environ, "FLIGHTDECK_CONFIG_DIR": str(tmp_path / "cfg"),
           "FLIGHTDECK_PASSWORD": PASSWORD}
    sign_up_and_verify(env, "owner@acme.example", "--organization", "Acme",
                       database_url=server.database_url)

    def ok(*args: str) -> str:
        result = run_cli("alert", *args, env=env)
        assert result.returncode == 0, result.stderr
        return result.stdout + result.stderr

    def refused(*args: str) -> str:
        result = run_cli("alert", *args, env=env)
        assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        return result.stderr

    created = ok("channel", "create", "hook", "--kind", "webhook",
                 "--target", "http://127.0.0.1:9/hook")
    assert "whsec_" in created and "not shown again" in created
    assert "whsec_" not in ok("channel", "list", "--json")
    assert "target: 'ftp://x/y' is not an http(s) URL" in refused(
        "channel", "create", "bad", "--kind", "webhook", "--target", "ftp://x/y")

    assert "timezone: 'Mars/Olympus' is not an IANA time zone" in refused(
        "create", "late", "--kind", "dag-deadline", "--deadline", "07:30",
        "--timezone", "Mars/Olympus", "--channel", "hook")
    assert "minutes: 0 is not a duration" in refused(
        "create", "slow", "--kind", "task-duration", "--minutes", "0", "--channel", "hook")
    assert "dag_glob: 'etl_[' is not a DAG id pattern" in refused(
        "create", "etl", "--kind", "dag-failed", "--dag", "etl_[", "--channel", "hook")

    assert "rule etl created" in ok("create", "etl", "--kind", "dag-failed", "--dag", "etl_*",
                                    "--channel", "hook")
    [rule] = json.loads(ok("list", "--json"))
    assert (rule["name"], rule["scope"], rule["channels"]) == ("etl", "organization", ["hook"])
    assert "sample queued to http://127.0.0.1:9/hook (webhook)" in ok("test", "etl")
    assert "sample queued" in ok("test", "hook")
    deliveries = json.loads(ok("deliveries", "--json"))
    assert [d["status"] for d in deliveries] == ["pending", "pending"]
    assert "no rule or channel 'nothing'" in refused("test", "nothing")
    assert "used by the rules etl" in refused("channel", "delete", "hook")
    ok("delete", "etl")
    ok("channel", "delete", "hook")
    assert json.loads(ok("list", "--json")) == []
