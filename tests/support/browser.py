"""One Chromium for the whole test session (Debian's, through Playwright's sync API), and
``pages``: a screenshot, axe-core and a browser-console check of every page a test visits.

A plugin of the root conftest, so every package shares the one session-wide browser: two
instances of a session fixture would start two Playwright drivers in one thread, and the
second refuses to run inside the first one's loop.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

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
ARTIFACTS = Path(__file__).parent.parent / "console" / "artifacts"
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
