"""A Deployment's environment variables edited in the browser: add, change and remove,
secret ones shown only as "set" (never their value in the page) and changed only by typing
a new value; bad names and values refused next to their field with the API's own message;
the form refused without its CSRF token. The CLI reads back what the console changed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select

from cli.conftest import Server, run_cli, sign_up_and_verify
from console.conftest import Pages
from flightdeck.db.models import Deployment

PASSWORD = "correct horse battery staple"
CUSTOMER = "222222222222"
FIRST_SECRET = "first-secret-3b9e"
SECOND_SECRET = "second-secret-77c1"
ADDED_SECRET = "added-secret-52aa"
SECRETS = (FIRST_SECRET, SECOND_SECRET, ADDED_SECRET)


def _cli_env(tmp_path: Path) -> dict[str, str]:
    data_dir = Path(os.environ["FLIGHTDECK_DATA_DIR"])
    return {
        **os.environ,
        "FLIGHTDECK_CONFIG_DIR": str(tmp_path / "cfg"),
        "FLIGHTDECK_PASSWORD": PASSWORD,
        "AWS_CONFIG_FILE": str(data_dir / "aws" / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(data_dir / "aws" / "credentials"),
    }


def _cli(env: dict[str, str], *args: str, ok: bool = True) -> str:
    result = run_cli(*args, env=env, timeout=600)
    assert (result.returncode == 0) is ok, f"{args}: {result.stdout}{result.stderr}"
    return result.stdout if ok else result.stderr


def _sealed_secrets() -> dict[str, str]:
    engine = create_engine(f"sqlite:///{Path(os.environ['FLIGHTDECK_DATA_DIR'])}/flightdeck.db")
    with engine.connect() as connection:
        sealed = connection.execute(select(Deployment.secret_environment)).scalar_one()
    engine.dispose()
    return dict(sealed)


def _no_secret_in(page: Any) -> None:
    html = page.content()
    assert not [s for s in SECRETS if s in html]


def _save(page: Any, name: str, value: str, *, secret: bool = False) -> None:
    form = page.locator("form.env-add")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Value").fill(value)
    form.get_by_label("Secret").set_checked(secret)
    form.get_by_role("button", name="Save variable").click()
    page.wait_for_load_state("load")


def test_environment_variables_edited_in_the_browser(
    browser: Any, console_server: Server, pages: Pages, tmp_path: Path
) -> None:
    env = _cli_env(tmp_path)
    sign_up_and_verify(env, "owner@acme.example", "--organization", "Acme")
    _cli(env, "workspace", "create", "data")
    _cli(env, "aws", "role", "create", "--profile", "customer")
    _cli(env, "aws", "account", "verify", CUSTOMER)
    _cli(env, "cluster", "create", "prod", "--account", CUSTOMER, "--watch")
    _cli(env, "deployment", "create", "etl", "--workspace", "data", "--cluster", "prod",
         "--env", "TZ=UTC", "--secret-env", f"API_KEY={FIRST_SECRET}")

    page = pages.watch(browser.new_context(viewport={"width": 1280, "height": 900}).new_page())
    page.goto(console_server.url + "/login")
    page.get_by_label("Email").fill("owner@acme.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Organization").get_by_role(
        "link", name="Deployments").click()
    page.get_by_role("heading", name="Deployments", level=1).wait_for()
    page.get_by_role("link", name="etl").click()
    page.get_by_role("heading", name="Deployment etl").wait_for()
    deployment_url = page.url
    secret_row = page.locator("tr", has=page.locator("code", has_text="API_KEY"))
    assert secret_row.locator(".badge", has_text="set").count() == 1
    replace = page.get_by_label("New secret value of API_KEY")
    assert replace.get_attribute("type") == "password" and replace.input_value() == ""
    assert replace.get_attribute("required") is not None  # a secret changes by a new value
    _no_secret_in(page)
    pages.check(page, "environment")

    # Add a plain variable, then change one in its row.
    _save(page, "REPORT_BUCKET", "reports")
    assert page.url.startswith(deployment_url)
    page.get_by_label("New value of TZ").fill("Europe/Paris")
    page.get_by_role("button", name="Save TZ").click()
    page.wait_for_load_state("load")
    assert page.get_by_label("New value of TZ").input_value() == "Europe/Paris"
    pages.check(page, "environment changed")

    # Bad input: the API's own message, by the field it is about; nothing changes.
    api_refusal = _cli(env, "deployment", "update", "etl", "--env", "1BAD=x", ok=False)
    for name, value, invalid in (
        ("1BAD", "x", "#env-name"),
        ("PATH", "/tmp", "#env-name"),
        ("BIG", "x" * 8193, "#env-value"),
    ):
        _save(page, name, value)
        alert = page.locator("form.env-add [role=alert]").inner_text().strip()
        assert alert.startswith("Environment: ") or alert.startswith("environment: "), alert
        assert page.locator(invalid).get_attribute("aria-invalid") == "true", name
        assert page.locator("form.env-add #env-name").input_value() == name
        if name == "1BAD":
            assert alert[1:] in api_refusal, (alert, api_refusal)
            pages.check(page, "environment bad name")
        if name == "PATH":
            assert "is set by flightdeck for every Deployment" in alert
        if name == "BIG":
            assert "must be a string of at most 8192 characters" in alert
    page.goto(deployment_url)
    assert page.locator("code", has_text="1BAD").count() == 0

    # Secrets: replaced by typing a new value, added with the Secret box; never in the page.
    before = _sealed_secrets()
    page.get_by_label("New secret value of API_KEY").fill(SECOND_SECRET)
    page.get_by_role("button", name="Replace API_KEY").click()
    page.wait_for_load_state("load")
    assert _sealed_secrets()["API_KEY"] != before["API_KEY"]
    _save(page, "WAREHOUSE_PASSWORD", ADDED_SECRET, secret=True)
    assert page.locator("tr", has=page.locator("code", has_text="WAREHOUSE_PASSWORD")).locator(
        ".badge", has_text="set").count() == 1
    assert page.locator("form.env-add #env-value").input_value() == ""
    _no_secret_in(page)
    pages.check(page, "environment secrets")

    # Remove a plain and a secret variable.
    page.get_by_role("button", name="Remove REPORT_BUCKET").click()
    page.wait_for_load_state("load")
    page.get_by_role("button", name="Remove API_KEY").click()
    page.wait_for_load_state("load")
    assert page.locator("code", has_text="REPORT_BUCKET").count() == 0
    assert page.get_by_role("button", name="Remove API_KEY").count() == 0

    # The API sees exactly what the console did.
    shown = json.loads(_cli(env, "deployment", "get", "etl", "--json"))
    assert shown["environment"] == {"TZ": "Europe/Paris"}
    assert shown["secret_environment_keys"] == ["WAREHOUSE_PASSWORD"]

    # The form without its CSRF token (as a cross-site page would post it) is refused.
    forged = page.request.post(deployment_url + "/environment",
                               form={"name": "FORGED", "value": "x"})
    assert forged.status == 403
    page.reload()
    assert page.locator("code", has_text="FORGED").count() == 0

    # Phone width: the table becomes labelled rows, nothing scrolls sideways.
    phone = pages.watch(browser.new_context(viewport={"width": 390, "height": 900}).new_page())
    phone.context.add_cookies(page.context.cookies())
    phone.goto(deployment_url)
    pages.check(phone, "phone environment")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways ({width}px)"
