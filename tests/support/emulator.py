"""Fixtures for the AWS emulator (moto server over HTTP on loopback).

- ``aws_emulator`` (session): one running emulator; ``.endpoint_url``, ``.platform_account_id``,
  ``.customer_account_id``, ``.control`` (EmulatorControl), ``.platform_credentials()``,
  ``.customer_credentials(account_id=None)``.
- ``emulator_env``: the process environment of a control plane pointed at the emulator with the
  platform's credentials; afterwards every emulator state (moto's resources, quotas, region
  overrides, faults) is reset so tests never see each other's resources.
- ``aws_sessions``: the control plane's ``SessionFactory``, built as start-up builds it, from
  the emulator's endpoint and the platform's keys (not from the environment).
- ``customer_profile``: a named AWS profile holding a customer's admin credentials.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flightdeck.aws.emulator import RunningEmulator, start_emulator, write_aws_profile
from flightdeck.aws.session import SessionFactory, StaticCredentials

CUSTOMER_PROFILE = "customer"


@pytest.fixture(scope="session")
def aws_emulator() -> Iterator[RunningEmulator]:
    with start_emulator(host="127.0.0.1", port=0) as emulator:
        yield emulator


@pytest.fixture
def emulator_env(
    aws_emulator: RunningEmulator, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningEmulator]:
    creds = aws_emulator.platform_credentials()
    monkeypatch.setenv("FLIGHTDECK_AWS_ENDPOINT_URL", aws_emulator.endpoint_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_emulator.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds.secret_access_key)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("FLIGHTDECK_PLATFORM_ACCOUNT_ID", aws_emulator.platform_account_id)
    from flightdeck.config import get_settings

    get_settings.cache_clear()
    try:
        yield aws_emulator
    finally:
        reset_emulator(aws_emulator)
        get_settings.cache_clear()


def reset_emulator(emulator: RunningEmulator) -> None:
    """What ``emulator_env`` does after each test: forget every resource, quota, region
    override and fault, so the next test starts from a fresh emulator."""
    emulator.control.reset(moto=True)
def sessions_for(emulator: RunningEmulator) -> SessionFactory:
    creds = emulator.platform_credentials()
    return SessionFactory(
        endpoint_url=emulator.endpoint_url,
        credentials=StaticCredentials(
            creds.access_key_id, creds.secret_access_key, creds.session_token
        ),
    )


@pytest.fixture
def aws_sessions(emulator_env: RunningEmulator) -> SessionFactory:
    return sessions_for(emulator_env)


@pytest.fixture
def customer_profile(emulator_env: RunningEmulator) -> str:
    """Name of a profile in the isolated ``~/.aws`` with the customer account's admin keys."""
    write_aws_profile(
        CUSTOMER_PROFILE,
        emulator_env.customer_credentials(),
        region="us-east-1",
        endpoint_url=emulator_env.endpoint_url,
    )
    return CUSTOMER_PROFILE
