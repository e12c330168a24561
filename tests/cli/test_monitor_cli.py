"""`flightdeck aws monitor`, the real executable, with the customer's profile on the emulator."""

from __future__ import annotations

import json
import os

import pytest

from cli.conftest import run_cli
from flightdeck.aws.emulator import RunningEmulator
from flightdeck.aws.monitoring import RESOURCES


@pytest.fixture
def env(customer_profile: str) -> dict[str, str]:
    # Wide enough that rich does not wrap the table cells the assertions read.
    return dict(os.environ, COLUMNS="250")


def test_setup_creates_then_changes_nothing_and_show_reports_it(
    env: dict[str, str], customer_profile: str, emulator_env: RunningEmulator
) -> None:
    created = run_cli(
        "aws", "monitor", "setup", "--email", "security@example.com",
        "--profile", customer_profile, "--json", env=env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    report = json.loads(created.stdout)
    assert report["account_id"] == emulator_env.customer_account_id
    assert report["changed"] is True and report["complete"] is True
    assert [(r["resource"], r["found"], r["action"]) for r in report["resources"]] == [
        (name, "missing", "created") for name in RESOURCES
    ]

    again = run_cli(
        "aws", "monitor", "setup", "--email", "security@example.com",
        "--profile", customer_profile, env=env,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "Everything was already in place; nothing changed." in again.stdout
    assert "created" not in again.stdout and again.stdout.count("unchanged") == len(RESOURCES)

    shown = run_cli("aws", "monitor", "show", "--profile", customer_profile, "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    resources = {r["resource"]: r for r in json.loads(shown.stdout)["resources"]}
    assert {r["state"] for r in resources.values()} == {"present"}
    assert resources["trail"]["arn"].endswith(":trail/flightdeck-role-monitor-trail")
    assert resources["trail"]["detail"]["logging"] is True
    assert resources["subscription"]["detail"]["subscriptions"] == [
        {
            "endpoint": "security@example.com",
            "arn": resources["subscription"]["arn"],
            "status": "confirmed",
        }
    ]


def test_show_on_an_empty_account_says_what_is_missing(
    env: dict[str, str], customer_profile: str
) -> None:
    shown = run_cli("aws", "monitor", "show", "--profile", customer_profile, env=env)

    assert shown.returncode == 0, shown.stderr
    table, advice = shown.stdout.split("Run `")
    assert table.count(" missing ") == len(RESOURCES)
    assert advice.startswith("flightdeck aws monitor setup --email <address>`")


@pytest.mark.parametrize("email", ["bogus", "someone@", "a b@example.com"])
def test_bad_email_is_refused_before_any_aws_call(
    env: dict[str, str], customer_profile: str, emulator_env: RunningEmulator, email: str
) -> None:
    emulator_env.control.inject_faults(1.0)  # any AWS call would now be counted (and fail)

    refused = run_cli(
        "aws", "monitor", "setup", "--email", email, "--profile", customer_profile, env=env
    )

    assert refused.returncode == 2
    assert "Invalid value for '--email'" in refused.stderr
    assert "not a valid e-mail address" in refused.stderr
    assert emulator_env.control.faults()[0]["injected"] == 0


def test_aws_refusals_and_bad_options_are_one_line(
    env: dict[str, str], customer_profile: str, emulator_env: RunningEmulator
) -> None:
    emulator_env.control.inject_faults(
        1.0, service="sns", action="CreateTopic", code="AuthorizationError"
    )
    denied = run_cli(
        "aws", "monitor", "setup", "--email", "security@example.com",
        "--profile", customer_profile, env=env,
    )  # fmt: skip
    assert denied.returncode == 1
    assert denied.stderr.startswith("Error: your AWS credentials may not call sns:CreateTopic;")
    assert "your own administrator credentials" in denied.stderr
    assert "Traceback" not in denied.stderr and len(denied.stderr.strip().splitlines()) == 1

    no_profile = run_cli("aws", "monitor", "show", "--profile", "nobody", env=env)
    assert no_profile.returncode == 1
    assert "there is no AWS profile named 'nobody'" in no_profile.stderr

    bad_region = run_cli(
        "aws", "monitor", "show", "--profile", customer_profile, "--region", "Mars", env=env
    )
    assert bad_region.returncode == 2
    assert "'Mars' is not an AWS region name" in bad_region.stderr
