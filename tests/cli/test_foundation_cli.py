"""The newcomer's path through the CLI: sign up, workspace, invite, roles, tokens, external ID."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from cli.conftest import Server, free_port, run_cli, sign_up_and_verify
from flightdeck.cli import credentials
from flightdeck.cli.credentials import Credentials

PASSWORD = "correct horse battery staple"


def _as(config_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for one CLI user: their own config dir (and so their own token)."""
    return {**os.environ, "FLIGHTDECK_CONFIG_DIR": str(config_dir),
            "FLIGHTDECK_PASSWORD": PASSWORD, **extra}


def test_newcomer_flow(server: Server, tmp_path: Path) -> None:
    owner = _as(tmp_path / "owner")
    signup = run_cli("signup", "--email", "owner@acme.example", "--organization", "Acme",
                     env=owner)
    assert signup.returncode == 0, signup.stderr
    assert "flightdeck verify-email" in signup.stderr + signup.stdout
    assert "notifications list --local" in signup.stderr + signup.stdout
    # No account before the address is verified.
    early = run_cli("login", "--email", "owner@acme.example", env=owner)
    assert early.returncode == 1
    sign_up_and_verify(owner, "owner@acme.example", "--organization", "Acme",
                       database_url=server.database_url)
    credentials = tmp_path / "owner" / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert json.loads(credentials.read_text())["tokens"][server.url].startswith("fdk_")

    orgs = json.loads(run_cli("organization", "list", "--json", env=owner).stdout)
    assert [(o["name"], o["role"]) for o in orgs] == [("Acme", "owner")]

    assert run_cli("workspace", "create", "analytics", env=owner).returncode == 0
    workspaces = json.loads(run_cli("workspace", "list", "--json", env=owner).stdout)
    assert [w["name"] for w in workspaces] == ["analytics"]

    invite = run_cli("user", "invite", "dana@acme.example", "--workspace", "analytics",
                     "--json", env=owner)
    assert invite.returncode == 0, invite.stderr
    token = json.loads(invite.stdout)["invitation_token"]

    member = _as(tmp_path / "member")
    joined = sign_up_and_verify(member, "dana@acme.example", "--invitation-token", token,
                                database_url=server.database_url)
    assert "dana@acme.example" in joined.stderr + joined.stdout

    external_id = run_cli("organization", "external-id", env=owner)
    assert external_id.returncode == 0, external_id.stderr
    value = external_id.stdout.strip()
    assert len(value) >= 32

    denied = run_cli("organization", "external-id", env=member)
    assert denied.returncode == 1
    assert denied.stderr.strip() == "Error: only Organization Owners can do this"
    assert value not in denied.stdout + denied.stderr
    shown = run_cli("organization", "show", "--json", env=member)
    assert value not in shown.stdout and json.loads(shown.stdout)["role"] == "member"

    members = json.loads(run_cli("user", "list", "--json", env=owner).stdout)
    assert {(m["email"], m["role"]) for m in members} == {
        ("owner@acme.example", "owner"), ("dana@acme.example", "member")}
    in_workspace = json.loads(
        run_cli("user", "list", "--workspace", "analytics", "--json", env=owner).stdout)
    assert [m["email"] for m in in_workspace] == ["dana@acme.example"]

    last_owner = run_cli("user", "role", "owner@acme.example", "member", env=owner)
    assert last_owner.returncode == 1
    assert "at least one Owner" in last_owner.stderr

    assert run_cli("user", "role", "dana@acme.example", "owner", env=owner).returncode == 0
    assert run_cli("organization", "external-id", env=member).stdout.strip() == value
    assert run_cli("user", "remove", "owner@acme.example", env=member).returncode == 0
    gone = run_cli("organization", "list", "--json", env=owner)
    assert json.loads(gone.stdout) == []

    assert value not in server.log.read_text()


def test_tokens_and_logout(server: Server, tmp_path: Path) -> None:
    env = _as(tmp_path / "u")
    sign_up_and_verify(env, "t@acme.example", "--organization", "T",
                       database_url=server.database_url)
    created = json.loads(run_cli("token", "create", "ci", "--expires-in-days", "7", "--json",
                                 env=env).stdout)
    listing = run_cli("token", "list", "--json", env=env)
    assert created["token"] not in listing.stdout
    assert {t["name"] for t in json.loads(listing.stdout)} >= {"ci"}

    ci = _as(tmp_path / "ci")
    assert run_cli("login", "--token", created["token"], env=ci).returncode == 0
    assert run_cli("organization", "list", env=ci).returncode == 0
    assert run_cli("token", "revoke", created["id"], env=env).returncode == 0
    rejected = run_cli("organization", "list", env=ci)
    assert rejected.returncode == 1 and "invalid, expired or revoked" in rejected.stderr

    logout = run_cli("logout", env=env)
    assert logout.returncode == 0, logout.stderr
    assert f"logged out: the token for {server.url} is revoked" in logout.stderr
    assert json.loads((tmp_path / "u" / "credentials.json").read_text())["tokens"] == {}
    after = run_cli("organization", "list", env=env)
    assert after.returncode == 1
    assert after.stderr.strip() == (
        f"Error: you are not logged in to {server.url}; run `flightdeck login`")
    again = run_cli("logout", env=env)
    assert again.returncode == 0 and f"you were not logged in to {server.url}" in again.stderr


def _stored(config_dir: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Credentials:
    """What the CLI would use with this config dir and environment."""
    monkeypatch.setenv("FLIGHTDECK_CONFIG_DIR", str(config_dir))
    monkeypatch.delenv("FLIGHTDECK_URL", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return credentials.load()


def test_tokens_are_kept_per_server_and_a_url_from_the_environment_is_not_remembered(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "u"
    # As the quickstart suggests: FLIGHTDECK_URL=<its server> flightdeck login ...
    env = _as(config, FLIGHTDECK_URL=server.url)
    sign_up_and_verify(env, "p@acme.example", "--organization", "P",
                       database_url=server.database_url)
    assert run_cli("organization", "list", env=env).returncode == 0
    default = _stored(config, monkeypatch)
    assert (default.url, default.token) == (credentials.DEFAULT_URL, None)

    # --url is remembered for later commands.
    without_url = {k: v for k, v in _as(config).items() if k != "FLIGHTDECK_URL"}
    assert run_cli("login", "--email", "p@acme.example", "--url", server.url,
                   env=without_url).returncode == 0
    listed = run_cli("organization", "list", "--json", env=without_url)
    assert listed.returncode == 0, listed.stderr
    assert [o["name"] for o in json.loads(listed.stdout)] == ["P"]

    # A server that is gone (a finished quickstart) neither asks for a password nor changes
    # which server and token later commands use.
    dead = f"http://127.0.0.1:{free_port()}"
    gone = run_cli("login", "--email", "p@acme.example", env={**without_url,
                                                               "FLIGHTDECK_URL": dead,
                                                               "FLIGHTDECK_PASSWORD": ""})
    assert gone.returncode == 1
    assert gone.stderr.strip().startswith(f"Error: no flightdeck server is running at {dead}")
    assert "Password" not in gone.stdout
    assert run_cli("organization", "list", env=without_url).returncode == 0
    assert _stored(config, monkeypatch).url == server.url


def test_login_and_logout_say_what_happened(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _as(tmp_path / "u")
    sign_up_and_verify(env, "w@acme.example", "--organization", "W",
                       database_url=server.database_url)
    wrong = run_cli("login", "--email", "w@acme.example",
                    env={**env, "FLIGHTDECK_PASSWORD": "not the password at all"})
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == "Error: email or password is incorrect"

    other = _as(tmp_path / "other")
    assert run_cli("login", "--email", "w@acme.example", env=other).returncode == 0
    tokens = json.loads(run_cli("token", "list", "--json", env=env).stdout)
    stored = _stored(tmp_path / "other", monkeypatch, FLIGHTDECK_URL=server.url).token
    assert stored is not None
    mine = next(t for t in tokens if stored.startswith(t["prefix"]))
    assert run_cli("token", "revoke", mine["id"], env=env).returncode == 0
    revoked = run_cli("organization", "list", env=other)
    assert revoked.returncode == 1
    assert revoked.stderr.strip() == (
        f"Error: your API token for {server.url} is invalid, expired or revoked; "
        "log in again with `flightdeck login`")
    logout = run_cli("logout", env=other)
    assert logout.returncode == 0
    assert "had already expired or been revoked" in logout.stderr

    # The server cannot be reached: the token is forgotten here, and the user is told it
    # is still valid.
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("FLIGHTDECK_CONFIG_DIR", str(tmp_path / "u"))
    credentials.save(dead, "fdk_not_revoked", make_default=False)
    unreachable = run_cli("logout", env={**env, "FLIGHTDECK_URL": dead})
    assert unreachable.returncode == 1
    assert unreachable.stderr.startswith(
        f"Not logged out everywhere: the token for {dead} could not be revoked (no flightdeck "
        f"server is running at {dead}")
    assert "stays valid until it expires" in unreachable.stderr
    assert _stored(tmp_path / "u", monkeypatch, FLIGHTDECK_URL=dead).token is None


def test_bad_input_is_one_line(server: Server, tmp_path: Path) -> None:
    env = _as(tmp_path / "u")
    bad = run_cli("signup", "--email", "not-an-email", "--organization", "X", env=env)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [bad.stderr.strip()]
    assert bad.stderr.startswith("Error: email:")
    weak = run_cli("signup", "--email", "a@b.example", "--organization", "X",
                   env=_as(tmp_path / "w", FLIGHTDECK_PASSWORD="short"))
    assert weak.stderr.strip() == "Error: password: must be at least 12 characters long"


def test_invitations_to_an_existing_account_are_accepted(server: Server,
                                                          tmp_path: Path) -> None:
    owner, erin = _as(tmp_path / "owner"), _as(tmp_path / "erin")
    sign_up_and_verify(owner, "owner@acme.example", "--organization", "Acme",
                       database_url=server.database_url)
    sign_up_and_verify(erin, "erin@acme.example", "--organization", "Erin",
                       database_url=server.database_url)
    invited = run_cli("user", "invite", "erin@acme.example", env=owner)
    assert invited.returncode == 0, invited.stderr
    sent = json.loads(run_cli("user", "invitations", "--sent", "--json", env=owner).stdout)
    assert [i["email"] for i in sent] == ["erin@acme.example"]

    waiting = json.loads(run_cli("user", "invitations", "--json", env=erin).stdout)
    assert [i["organization_name"] for i in waiting] == ["Acme"]
    accepted = run_cli("user", "accept", waiting[0]["id"], env=erin)
    assert accepted.returncode == 0, accepted.stderr
    orgs = json.loads(run_cli("organization", "list", "--json", env=erin).stdout)
    assert {o["name"] for o in orgs} == {"Acme", "Erin"}

    again = run_cli("user", "invite", "new@acme.example", "--json", env=owner)
    invitation = json.loads(again.stdout)["invitation"]["id"]
    assert run_cli("user", "revoke-invitation", invitation, env=owner).returncode == 0
    assert json.loads(run_cli("user", "invitations", "--sent", "--json", env=owner).stdout) == []


def test_sign_in_throttling_prints_one_line(server: Server, tmp_path: Path) -> None:
    env = _as(tmp_path / "u")
    sign_up_and_verify(env, "t@acme.example", "--organization", "T",
                       database_url=server.database_url)
    wrong = _as(tmp_path / "w", FLIGHTDECK_PASSWORD="not the right password")
    first = run_cli("login", "--email", "t@acme.example", env=wrong)
    assert first.stderr.startswith("Error: email or password is incorrect")
    # Each failure past the free ones doubles the lock, soon longer than a CLI start.
    for _ in range(12):
        throttled = run_cli("login", "--email", "t@acme.example", env=wrong)
        if "too many" in throttled.stderr:
            break
    assert throttled.returncode == 1
    lines = throttled.stderr.strip().splitlines()
    assert len(lines) == 1 and "too many failed sign-ins; try again in" in lines[0]
    assert "Traceback" not in throttled.stderr


def test_server_not_running_names_the_command(tmp_path: Path) -> None:
    env = _as(tmp_path / "u", FLIGHTDECK_URL=f"http://127.0.0.1:{free_port()}")
    result = run_cli("organization", "list", env=env)
    assert result.returncode == 1
    assert "no flightdeck server is running" in result.stderr
    assert "`flightdeck server`" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_refuses_unsafe_defaults(tmp_path: Path) -> None:
    env = dict(os.environ, FLIGHTDECK_MODE="production")
    result = run_cli("server", "--port", str(free_port()), env=env)
    assert result.returncode == 1
    assert "FLIGHTDECK_SECRET_KEY" in result.stderr and "Traceback" not in result.stderr


def test_db_upgrade_and_worker_once_on_a_fresh_database(tmp_path: Path) -> None:
    env = {**os.environ, "FLIGHTDECK_DATABASE_URL": f"sqlite:///{tmp_path / 'fd.db'}"}
    upgraded = run_cli("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    current = json.loads(run_cli("db", "current", "--json", env=env).stdout)
    assert current["revision"]
    worker = run_cli("worker", "--once", env=env)
    assert worker.returncode == 0, worker.stderr
    assert "reconciled 0 cluster(s)" in worker.stderr
    assert run_cli("db", "downgrade", "base", env=env).returncode == 0
    assert json.loads(run_cli("db", "current", "--json", env=env).stdout)["revision"] is None
