"""Test-wide fixtures. Nothing here may touch the real home directory or ~/.aws."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["support.database", "support.emulator", "support.browser"]


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Point HOME, XDG dirs, flightdeck's data/config dirs and AWS config at a temp dir."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("FLIGHTDECK_DATA_DIR", str(home / ".flightdeck"))
    monkeypatch.setenv("FLIGHTDECK_CONFIG_DIR", str(home / ".config" / "flightdeck"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    for var in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "FLIGHTDECK_URL",
        "FLIGHTDECK_TOKEN",
        "FLIGHTDECK_DATABASE_URL",
        "FLIGHTDECK_MODE",
    ):
        monkeypatch.delenv(var, raising=False)
    from flightdeck.config import get_settings

    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()
