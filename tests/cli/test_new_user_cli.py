"""What a new user trips on, at the CLI: --version, `flightdeck reference`, help that lists
what it promises, --json everywhere (errors included), tables that never cut an id, URL or
name, empty answers that say what they mean, and the README's example files."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.conftest import FLIGHTDECK
from flightdeck import airflow_versions
from flightdeck.aws import reference
from flightdeck.cli.main import app

REPO = Path(__file__).resolve().parents[2]
ORGS = [
    {"id": "org-1", "name": "Acme", "slug": "acme"},
    {"id": "org-2", "name": "Acme", "slug": "acme-2"},
]
LONG_ID = "3f2c9a7e-5b1d-4e8f-9c0a-7d6e5f4a3b2c"
LONG_URL = "https://airflow-analytics.example.com/very/long/path/to/the/airflow/ui/home"

Route = Callable[[], Any]


class _Stub(ThreadingHTTPServer):
    """A loopback control plane answering scripted routes and recording what was asked."""

    def __init__(self, routes: dict[tuple[str, str], Route]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes = routes
        self.requests: list[tuple[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _Stub

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path.removeprefix("/api/v1").split("?")[0]
        self.server.requests.append((method, path))
        route = self.server.routes.get((method, path))
        body = route() if route else {"error": {"message": f"no route {method} {path}"}}
        data = json.dumps(body).encode()
        self.send_response(200 if route else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., _Stub]]:
    servers: list[_Stub] = []

    def start(routes: dict[tuple[str, str], Route]) -> _Stub:
        server = _Stub({("GET", "/organizations"): lambda: ORGS, **routes})
        threading.Thread(target=server.serve_forever, daemon=True).start()
        monkeypatch.setenv("FLIGHTDECK_URL", server.url)
        monkeypatch.setenv("FLIGHTDECK_TOKEN", "fdk_test")
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def invoke(*args: str, columns: int = 80) -> Any:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)})


# -- 9: --version, help that is true, reference ---------------------------------------------
def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout == f"flightdeck {version('flightdeck')}\n"


def test_help_shows_what_it_promises() -> None:
    for command in ("run", "pytest"):
        helped = invoke("dev", command, "--help")
        assert helped.exit_code == 0
        assert f"flightdeck dev {command} [OPTIONS] [ARGS]..." in helped.stdout
    emulator = invoke("emulator", "--help")
    assert emulator.exit_code == 0
    assert "Usage: flightdeck emulator [OPTIONS]\n" in emulator.stdout
    assert "COMMAND" not in emulator.stdout
    create = " ".join(invoke("cluster", "create", "--help").stdout.split())
    assert "flightdeck reference regions" in create and "/api/v1/reference" not in create


def test_reference_lists_what_requests_accept() -> None:
    regions = json.loads(invoke("reference", "regions", "--json").stdout)
    assert [r["name"] for r in regions] == list(reference.REGIONS)
    assert [r["name"] for r in regions if r["default"]] == [reference.DEFAULT_REGION]
    types = json.loads(invoke("reference", "instance-types", "--json").stdout)
    assert [t["name"] for t in types if t["kind"] == "node"] == list(reference.NODE_INSTANCE_TYPES)
    assert [t["name"] for t in types if t["kind"] == "database"] == list(
        reference.DB_INSTANCE_TYPES
    )
    versions = json.loads(invoke("reference", "airflow-versions", "--json").stdout)
    assert versions == airflow_versions.as_document()
    table = invoke("reference", "regions")
    assert table.exit_code == 0 and "eu-west-1" in table.stdout
    assert "Europe (Ireland)" in table.stdout


def test_aws_role_create_reads_flightdeck_org(
    stub: Callable[..., _Stub], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = stub({})
    monkeypatch.setenv("FLIGHTDECK_ORG", "acme-2")
    invoke("aws", "role", "create", "--platform-account", "111111111111")
    assert ("GET", "/organizations/org-2/aws-external-id") in server.requests


# -- 4: the account ID is checked before anything is sent ------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["cluster", "create", "prod", "--account", "12345678901"],
        ["cluster", "preflight", "--account", "12345678901"],
        ["aws", "account", "verify", "12345678901"],
        ["aws", "account", "add", "12345678901"],
    ],
)
def test_an_account_id_is_checked_first(stub: Callable[..., _Stub], args: list[str]) -> None:
    server = stub({})
    result = invoke(*args)
    assert result.exit_code == 2
    assert "'12345678901' is not a 12-digit AWS account ID such as 123456789012" in " ".join(
        result.output.split()
    )
    assert server.requests == []


# -- 10: --json: read commands, --watch, errors ----------------------------------------------
def test_cluster_create_watch_json_prints_json(stub: Callable[..., _Stub]) -> None:
    phases = iter(["Pending", "Provisioning", "Active"])
    cluster = {
        "id": "c-1",
        "name": "prod",
        "phase": "Pending",
        "region": "us-east-1",
        "account_id": "222222222222",
        "conditions": {},
    }
    stub(
        {
            ("POST", "/organizations/org-1/clusters"): lambda: cluster,
            ("GET", "/organizations/org-1/clusters/c-1"): lambda: {
                **cluster,
                "phase": next(phases),
            },
        }
    )
    result = invoke(
        "cluster",
        "create",
        "prod",
        "--account",
        "222222222222",
        "--org",
        "acme",
        "--watch",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["phase"] == "Active"
    assert result.stderr.splitlines() == [
        "cluster prod: Pending",
        "cluster prod: Provisioning",
        "cluster prod: Active",
    ]


def test_with_json_an_error_is_a_json_object_on_stderr_with_the_same_exit_code(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "FLIGHTDECK_URL": "http://127.0.0.1:9",
        "FLIGHTDECK_TOKEN": "x",
        "FLIGHTDECK_CONFIG_DIR": str(tmp_path),
    }
    for args in (
        ["cluster", "list"],
        ["cluster", "create", "x", "--account", "1"],
        ["dev", "ps", "--project-dir", str(tmp_path)],
    ):
        plain = subprocess.run(
            [FLIGHTDECK, *args], capture_output=True, text=True, env=env, check=False, timeout=60
        )
        as_json = subprocess.run(
            [FLIGHTDECK, *args, "--json"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=60,
        )
        assert plain.returncode == as_json.returncode != 0, args
        error = json.loads(as_json.stderr)["error"]
        assert error["exit_code"] == as_json.returncode
        assert error["message"] and error["message"] in " ".join(plain.stderr.split())
        assert as_json.stdout == ""


# -- 3: --org takes a slug; a shared name is refused with the slugs ------------------------
def test_a_shared_organization_name_is_refused_with_its_slugs(
    stub: Callable[..., _Stub],
) -> None:
    stub({("GET", "/organizations/org-2/clusters"): lambda: []})
    refused = invoke("cluster", "list", "--org", "Acme")
    assert refused.exit_code == 1
    assert "slugs: acme, acme-2" in refused.exception.message
    assert invoke("cluster", "list", "--org", "acme-2").exit_code == 0


# -- 6: empty answers and absent values are sentences ------------------------------------
def test_an_empty_plan_and_policy_changes_say_what_that_means(
    stub: Callable[..., _Stub],
) -> None:
    stub(
        {
            ("GET", "/organizations/org-1/clusters/prod/plan"): lambda: [],
            ("GET", "/organizations/org-1/aws/policy-changes"): lambda: {
                "latest_version": "v5",
                "accounts": [],
                "changes": [],
            },
        }
    )
    plan = invoke("cluster", "plan", "prod", "--org", "acme", columns=200)
    assert plan.stdout.strip() == (
        "Nothing to do: the cluster's AWS resources already match its spec, so a reconcile "
        "would create, change or delete nothing."
    )
    changes = invoke("aws", "policy", "changes", "--org", "acme", columns=200)
    assert "(none)" not in changes.stdout
    assert "No policy change, pending or past" in changes.stdout
    assert "No AWS account is registered" in changes.stdout


def test_aws_setup_explains_a_missing_quick_create_link(stub: Callable[..., _Stub]) -> None:
    note = (
        "no quick-create link: set FLIGHTDECK_ROLE_TEMPLATE_URL to an https URL (e.g. an "
        "S3 object) holding this template; or use the CLI command"
    )
    stub(
        {
            ("GET", "/organizations/org-1/aws/role-setup"): lambda: {
                "platform_account_id": "111111111111",
                "role_name": "r",
                "policy_name": "p",
                "policy_version": "v5",
                "stack_name": "s",
                "template_url": "http://127.0.0.1/t.yaml",
                "quick_create_url": None,
                "cli_command": "flightdeck aws role create",
                "note": note,
            }
        }
    )
    result = invoke("aws", "setup", "--org", "acme", columns=300)
    assert result.exit_code == 0
    assert "None" not in result.stdout
    assert f"Quick-create      {note}" in result.stdout


# -- 7: 80 columns never cut an id, URL or name --------------------------------------------
def test_tables_at_80_columns_keep_ids_urls_and_names_whole(stub: Callable[..., _Stub]) -> None:
    name = "analytics-production-eu-west-1-team-data"
    stub(
        {
            ("GET", "/organizations/org-1/deployments"): lambda: [
                {
                    "name": name,
                    "phase": "Healthy",
                    "airflow_version": "3.3.2",
                    "executor": "CeleryExecutor",
                    "running_executor": "CeleryExecutor",
                    "airflow_url": LONG_URL,
                    "id": LONG_ID,
                }
            ]
        }
    )
    for columns in (80, 40):
        result = invoke("deployment", "list", "--org", "acme", columns=columns)
        assert result.exit_code == 0
        for whole in (name, LONG_URL, LONG_ID):
            assert whole in result.stdout, (columns, result.stdout)
        assert "…" not in result.stdout


# -- 11: the README's examples run on the files it names -----------------------------------
def _readme_commands(prefix: str) -> list[list[str]]:
    commands = []
    for line in (REPO / "README.md").read_text().splitlines():
        if line.startswith(prefix):
            commands.append(shlex.split(line, comments=True))
    assert commands, prefix
    return commands


def test_the_readme_examples_name_files_that_exist_and_run() -> None:
    for command in _readme_commands("flightdeck aws policy compare"):
        files = [arg for arg in command if arg.endswith(".json")]
        assert files and all((REPO / f).is_file() and f.startswith("docs/examples/") for f in files)
        run = subprocess.run(
            [FLIGHTDECK, *command[1:]],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.startswith("Expands: docs/examples/new.json grants more.")
    for command in _readme_commands("flightdeck aws pattern test"):
        assert (REPO / command[command.index("--events") + 1]).is_file()
        run = subprocess.run(
            [FLIGHTDECK, *command[1:], "--json"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout) == {"matches": [1]}


# -- the README walk-through, by hand ------------------------------------------------------
ROLE_ARN = f"arn:aws:iam::222222222222:role/flightdeck/{LONG_ID}/flightdeck-{LONG_ID}-eks-cluster"
NODE_GROUP_ARN = (
    "arn:aws:eks:us-east-1:222222222222:nodegroup/flightdeck-" + LONG_ID + "/system/" + LONG_ID
)


def test_cluster_watch_never_cuts_an_aws_id(stub: Callable[..., _Stub]) -> None:
    cluster = {
        "id": "c-1",
        "name": "prod",
        "phase": "Active",
        "region": "us-east-1",
        "account_id": "222222222222",
        "conditions": {
            "iam_roles": {"state": "Ready", "aws_id": f"{ROLE_ARN},{ROLE_ARN}-node"},
            "node_groups": {"state": "Ready", "aws_id": NODE_GROUP_ARN},
        },
    }
    stub(
        {
            ("POST", "/organizations/org-1/clusters"): lambda: cluster,
            ("GET", "/organizations/org-1/clusters/c-1"): lambda: cluster,
        }
    )
    args = ("cluster", "create", "prod", "--account", "222222222222", "--org", "acme", "--watch")
    for columns in (80, 200):
        result = invoke(*args, columns=columns)
        assert result.exit_code == 0, result.output
        assert "…" not in result.stdout, (columns, result.stdout)
    wide = invoke(*args, columns=400).stdout
    for whole in (ROLE_ARN, f"{ROLE_ARN}-node", NODE_GROUP_ARN):
        assert whole in wide, wide


def test_signup_states_the_password_rule_before_asking_it_twice(
    stub: Callable[..., _Stub],
) -> None:
    server = stub({("GET", "/healthz"): lambda: {"status": "ok"}})
    def signup(typed: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [FLIGHTDECK, "signup", "--email", "you@example.com", "--organization", "Acme"],
            input=typed, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    short = signup("short\n")
    assert short.returncode == 1, short.stderr
    prompts = short.stdout + short.stderr
    assert "Password (at least 12 characters)" in prompts
    assert "Repeat for confirmation" not in prompts
    assert short.stderr.strip().splitlines()[-1] == (
        "Error: password: must be at least 12 characters long"
    )
    differ = signup("correct-horse-1\ncorrect-horse-2\n")
    assert differ.returncode == 1
    assert "password: the two entries differ" in differ.stderr
    assert ("POST", "/auth/signup") not in server.requests
