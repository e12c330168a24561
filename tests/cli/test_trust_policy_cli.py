"""``flightdeck aws trust-policy check``, run as the installed command a reviewer runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

FLIGHTDECK = str(Path(sys.executable).parent / "flightdeck")
PLATFORM = "111111111111"
EXTERNAL_ID = "fd-ext-Zq81LmNop"

GOOD = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "TrustFlightdeck",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{PLATFORM}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}},
        }
    ],
}
OPEN = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Open",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringLike": {"sts:ExternalId": "*"}},
        }
    ],
}


def run(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FLIGHTDECK, "aws", "trust-policy", "check", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


def write(tmp_path: Path, policy: Any, name: str = "trust.json") -> str:
    path = tmp_path / name
    path.write_text(policy if isinstance(policy, str) else json.dumps(policy))
    return str(path)


def test_correct_policy_exits_zero(tmp_path: Path) -> None:
    result = run(
        write(tmp_path, GOOD), "--platform-account", PLATFORM, "--external-id", EXTERNAL_ID
    )
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
    assert PLATFORM in result.stdout


def test_problems_exit_one_with_code_message_and_fix(tmp_path: Path) -> None:
    result = run(
        write(tmp_path, OPEN), "--platform-account", PLATFORM, "--external-id", EXTERNAL_ID
    )
    assert result.returncode == 1, result.stderr
    assert "[wildcard_principal]" in result.stdout
    assert "[external_id_wildcard]" in result.stdout
    assert 'Statement "Open"' in result.stdout
    assert "Fix:" in result.stdout
    assert EXTERNAL_ID not in result.stdout + result.stderr


def test_json_output_is_exactly_the_documented_shape(tmp_path: Path) -> None:
    result = run(
        write(tmp_path, OPEN),
        "--platform-account",
        PLATFORM,
        "--external-id",
        EXTERNAL_ID,
        "--json",
    )
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert set(data) == {"ok", "problems"}
    assert data["ok"] is False
    assert {p["code"] for p in data["problems"]} == {"wildcard_principal", "external_id_wildcard"}
    assert all(set(p) == {"code", "message", "fix"} for p in data["problems"])

    ok = run(
        write(tmp_path, GOOD),
        "--platform-account",
        PLATFORM,
        "--external-id",
        EXTERNAL_ID,
        "--json",
    )
    assert ok.returncode == 0
    assert json.loads(ok.stdout) == {"ok": True, "problems": []}


def test_external_id_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    result = run(path, "--platform-account", PLATFORM, env={"FLIGHTDECK_EXTERNAL_ID": EXTERNAL_ID})
    assert result.returncode == 0, result.stderr
    wrong = run(
        path, "--platform-account", PLATFORM, "--json", env={"FLIGHTDECK_EXTERNAL_ID": "other"}
    )
    assert wrong.returncode == 1
    assert [p["code"] for p in json.loads(wrong.stdout)["problems"]] == ["external_id_mismatch"]


def test_policy_from_stdin_and_get_role_output(tmp_path: Path) -> None:
    get_role = json.dumps({"Role": {"RoleName": "r", "AssumeRolePolicyDocument": GOOD}})
    result = run("-", "--platform-account", PLATFORM, "--external-id", EXTERNAL_ID, stdin=get_role)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"Version": "2012-10-17"}), "no Statement"),
        (
            json.dumps(
                {"Statement": [{"Effect": "Permit", "Principal": "*", "Action": "sts:AssumeRole"}]}
            ),
            "Effect",
        ),
    ],
    ids=["not-json", "no-statement", "bad-effect"],
)
def test_invalid_policy_exits_two_with_the_reason(
    tmp_path: Path, content: str, fragment: str
) -> None:
    result = run(
        write(tmp_path, content),
        "--platform-account",
        PLATFORM,
        "--external-id",
        EXTERNAL_ID,
        "--json",
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert fragment in result.stderr
    assert "is not a valid trust policy" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_exits_two(tmp_path: Path) -> None:
    result = run(
        str(tmp_path / "absent.json"), "--platform-account", PLATFORM, "--external-id", EXTERNAL_ID
    )
    assert result.returncode == 2
    assert "no such file" in result.stderr


@pytest.mark.parametrize("account", ["12345", "12345678901a", "1234567890123"])
def test_platform_account_must_be_twelve_digits(tmp_path: Path, account: str) -> None:
    result = run(write(tmp_path, GOOD), "--platform-account", account, "--external-id", EXTERNAL_ID)
    assert result.returncode == 2
    assert "--platform-account" in result.stderr
    assert "12-digit" in result.stderr
    assert "Traceback" not in result.stderr


def test_external_id_is_required(tmp_path: Path) -> None:
    result = run(write(tmp_path, GOOD), "--platform-account", PLATFORM)
    assert result.returncode == 2
    assert "--external-id" in result.stderr
