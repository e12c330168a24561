"""Console tests: the API's test client fixtures (HTTP tests), and for the browser tests a
real `flightdeck server` on loopback driven by Playwright through Debian's Chromium.

Screenshots of every page visited go to tests/console/artifacts/<test>/ (not committed).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.conftest import cheap_password_hashing, client, settings
from cli.conftest import Server, _serve, run_cli
from support.browser import ARTIFACTS, CHROMIUM, TEMPLATE_URL, Pages

__all__ = [
    "ARTIFACTS",
    "CHROMIUM",
    "TEMPLATE_URL",
    "Pages",
    "cheap_password_hashing",
    "client",
    "settings",
]



_VERIFY_LINK = re.compile(r"https?://\S+/verify-email\?token=\S+")


def verification_link(email: str) -> str:
    """The verification link mailed to ``email``, read from the embedded default's outbox
    the way its user would: `flightdeck notifications list --local`."""
    listed = run_cli("notifications", "list", "--local", "--to", email, "--json")
    assert listed.returncode == 0, listed.stderr
    links = [
        found.group(0)
        for mail in json.loads(listed.stdout)
        if (found := _VERIFY_LINK.search(mail["body"]))
    ]
    assert links, f"no verification mail to {email}: {listed.stdout}"
    return links[-1]


def verify_in_browser(page: Any, email: str, password: str) -> None:
    """After the sign-up form: the "check your mail" page, then the mailed link's form."""
    page.get_by_role("heading", name="Check your mail").wait_for()
    page.goto(verification_link(email))
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Verify and create account").click()
    page.wait_for_load_state("load")


@pytest.fixture
def console_server(tmp_path: Path) -> Iterator[Server]:
    """`flightdeck server` as the README runs it (SQLite, embedded AWS emulator, worker).
    Deployments use the kubernetes runtime so no Airflow is started on this host."""
    yield from _serve(
        tmp_path,
        FLIGHTDECK_ROLE_TEMPLATE_URL=TEMPLATE_URL,
        FLIGHTDECK_RUNTIME="kubernetes",
    )


@pytest.fixture
def airflow_console_server(tmp_path: Path) -> Iterator[Server]:
    """The same, with the README's default local runtime: each Deployment is real Airflow
    on this host (from the machine's shared Airflow venvs)."""
    from devenv.cli_helpers import VENV_CACHE

    yield from _serve(
        tmp_path,
        FLIGHTDECK_ROLE_TEMPLATE_URL=TEMPLATE_URL,
        FLIGHTDECK_RUNTIME="local",
        FLIGHTDECK_DEV_CACHE_DIR=VENV_CACHE,
    )


def customer_env(token: str, external_id: str, server: Server) -> dict[str, str]:
    """The customer's machine: their own AWS profile (the one the embedded emulator
    wrote), the control plane's URL and an API token made in the console."""
    data_dir = Path(os.environ["FLIGHTDECK_DATA_DIR"])
    return {
        **os.environ,
        "FLIGHTDECK_URL": server.url,
        "FLIGHTDECK_TOKEN": token,
        "FLIGHTDECK_EXTERNAL_ID": external_id,
        "AWS_CONFIG_FILE": str(data_dir / "aws" / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(data_dir / "aws" / "credentials"),
    }
