"""Console tests: the API's test client fixtures (HTTP tests), and for the browser tests a
real `flightdeck server` on loopback driven by Playwright through Debian's Chromium.

Screenshots of every page visited go to tests/console/artifacts/<test>/ (not committed).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from api.conftest import cheap_password_hashing, client, settings
from cli.conftest import Server, _serve, run_cli

__all__ = ["cheap_password_hashing", "client", "settings"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--mute-audio",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
# Where the CloudFormation console would fetch the template: quick-create links need https.
TEMPLATE_URL = "https://flightdeck-templates.s3.amazonaws.com/flightdeck-role.yaml"
BLOCKING_IMPACTS = ("serious", "critical")
STATUS_LOGGED = "Failed to load resource: the server responded with a status of"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


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


def _axe_script() -> str:
    from axe_playwright_python.base import AXE_SCRIPT

    return str(AXE_SCRIPT)


@dataclass
class Pages:
    """Visits pages of one test: a screenshot of each, axe-core on each, and no script or
    policy error in the browser console."""

    directory: Path
    count: int = 0
    console_errors: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> Any:
        page.on(
            "console",
            lambda message: self.console_errors.append(message.text)
            if message.type == "error"
            else None,
        )
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        return page

    def check(
        self, page: Any, name: str, *, axe: bool = True, allow_error: str | None = None
    ) -> None:
        page.wait_for_load_state("load")
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        path = self.directory / f"{self.count:02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=True)
        if axe:
            page.evaluate(_axe_script())
            result = page.evaluate(
                "axe.run(document, {resultTypes: ['violations']})"
            )
            blocking = [
                f"{v['id']} ({v['impact']}): {v['help']} at "
                + ", ".join(str(n["target"]) for n in v["nodes"][:3])
                for v in result["violations"]
                if v.get("impact") in BLOCKING_IMPACTS
            ]
            assert not blocking, f"{name}: accessibility violations: {blocking}"
        # A refused page's status is logged by the browser; anything else (a script error, a
        # Content-Security-Policy violation) fails the page.
        relevant = [
            e
            for e in self.console_errors
            if not e.startswith(STATUS_LOGGED) and not (allow_error and allow_error in e)
        ]
        self.console_errors.clear()
        assert not relevant, f"{name}: browser console errors: {relevant}"


@pytest.fixture
def pages(request: pytest.FixtureRequest) -> Pages:
    directory = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.png"):
        old.unlink()
    print(f"screenshots: {directory}")
    return Pages(directory)


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
