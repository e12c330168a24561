"""`flightdeck deploy [DEPLOYMENT]`: ship a dev project's code to a Deployment.

Every DAG is imported on this machine first, in the project's own Airflow venv, so an
import error stops here with the file and the message; the control plane checks the
bundle again before its runtime switches to it, atomically.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from flightdeck.cli.context import Invocation, invocation
from flightdeck.cli.errors import CliError
from flightdeck.cli.options import JSON, ORG, PROJECT_DIR

FINAL = ("succeeded", "rejected", "failed")


def register(parent: typer.Typer) -> None:
    # One command, not a group with a default: every word after `deploy` is the Deployment's
    # name, so Deployments named `list` or `code` deploy like any other. The history is
    # `flightdeck deployment deploys DEPLOYMENT` (deployment_cmd.py).
    parent.command("deploy")(code)


def _choose_deployment(cli: Invocation, ref: str | None) -> dict[str, Any]:
    if ref:
        return dict(cli.client.get(cli.org_path(f"/deployments/{ref}")))
    live = [d for d in cli.client.get(cli.org_path("/deployments"))
            if d["desired_state"] == "present"]
    if len(live) == 1:
        return dict(live[0])
    if not live:
        raise CliError("no Deployment to deploy to; create one with "
                       "`flightdeck deployment create`")
    names = ", ".join(d["name"] for d in live)
    raise CliError(f"several Deployments ({names}); name the one to deploy to")


def _project_root(directory: Path) -> Path:
    """The dev project ``directory`` is in (it or a parent), as ``dev`` commands find it."""
    from flightdeck.devenv.errors import DevEnvError
    from flightdeck.devenv.project import find_project

    try:
        return find_project(directory.resolve()).root
    except DevEnvError as exc:
        raise CliError(exc.message) from None


def check_dags(project_root: Path, echo: Any) -> list[str]:
    """Import every DAG in the project's venv; raise with file and message on any error."""
    from flightdeck.devenv import supervisor
    from flightdeck.devenv.errors import DevEnvError
    from flightdeck.devenv.project import find_project

    try:
        prepared = supervisor.prepare(find_project(project_root.resolve()), echo)
        dags, errors = supervisor.parse_dags(prepared)
    except DevEnvError as exc:
        raise CliError(exc.message) from None
    if errors:
        summary = supervisor.import_error_summary(errors, prepared.project.root)
        lines = [f"  {path}: {line}" for path, line in summary.items()]
        raise CliError(
            f"{len(errors)} DAG file(s) failed to import; nothing was deployed:\n"
            + "\n".join(lines)
        )
    return list(dags)


def wait_for_deploy(client: Any, org_path: str, deployment_id: str, deploy_id: str,
                    timeout: float) -> dict[str, Any]:
    """Poll until the deploy is final (``client`` an ApiClient, ``org_path`` the
    organization's API path; the quickstart calls this with its own client)."""
    deadline = time.monotonic() + timeout
    path = f"{org_path}/deployments/{deployment_id}/deploys/{deploy_id}"
    while True:
        deploy: dict[str, Any] = client.get(path)
        if deploy["status"] in FINAL:
            return deploy
        if time.monotonic() > deadline:
            raise CliError(f"deploy {deploy_id} is still {deploy['status']} after "
                           f"{timeout:.0f}s; see `flightdeck deployment deploys`")
        time.sleep(1.0)


def _upload(cli: Invocation, target: dict[str, Any], project_dir: Path, dags: bool,
            description: str, echo: Any) -> dict[str, Any]:
    from flightdeck.runtime.base import RuntimeError_
    from flightdeck.runtime.bundle import build_bundle

    kind: Literal["dags", "full"] = "dags" if dags else "full"
    root = _project_root(project_dir)
    parsed = check_dags(root, echo)
    echo(f"Parsed {len(parsed)} DAG(s): {', '.join(parsed) or '-'}")
    try:
        bundle = build_bundle(root, kind)
    except (RuntimeError_, ValueError) as exc:
        raise CliError(str(exc)) from None
    deploy: dict[str, Any] = cli.client.upload(
        cli.org_path(f"/deployments/{target['id']}/deploys"), bundle,
        params={"kind": kind, "description": description},
    )
    echo(f"Uploaded {len(bundle)} bytes as deploy {deploy['id']} to {target['name']}")
    return deploy


def code(
    ctx: typer.Context,
    deployment: Annotated[str | None, typer.Argument(
        metavar="DEPLOYMENT", help="Deployment name or id [default: your only one].")] = None,
    rollback_args: Annotated[list[str] | None, typer.Argument(
        hidden=True, metavar="DEPLOY")] = None,
    dags: Annotated[bool, typer.Option(
        "--dags", help="Deploy only dags/ (fast); default: the full project with "
                       "requirements.txt, include/ and plugins/.")] = False,
    project_dir: PROJECT_DIR = Path(),
    description: Annotated[str, typer.Option(help="A note kept in the deploy history.")] = "",
    wait: Annotated[bool, typer.Option(
        help="Wait for the Deployment to check and switch to the code.")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait.")] = 600.0,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Deploy your project's code: parse every DAG here, upload a bundle, and wait until the
    Deployment serves it. `flightdeck deployment deploys DEPLOYMENT` shows the history;
    `flightdeck deploy rollback DEPLOYMENT [DEPLOY]` deploys an earlier deploy's kept bundle
    again (default: the newest succeeded one not serving now), through the same checks."""
    from flightdeck.cli.output import print_json, success

    if rollback_args and (deployment != "rollback" or len(rollback_args) > 2):
        extra = " ".join(rollback_args)
        typer.echo(f"{ctx.get_usage()}\nError: Got unexpected extra argument ({extra})", err=True)
        raise typer.Exit(2)
    cli = invocation(ctx, org, json_output)

    def echo(message: str) -> None:
        if not cli.json_output:
            typer.echo(message)

    if rollback_args:
        target = _choose_deployment(cli, rollback_args[0])
        source = rollback_args[1] if len(rollback_args) > 1 else None
        deploy = cli.client.post(cli.org_path(f"/deployments/{target['id']}/rollback"),
                                 json={"deploy": source, "description": description})
        echo(f"Rolling {target['name']} back: deploy {deploy['id']} ({deploy['description']})")
    else:
        target = _choose_deployment(cli, deployment)
        deploy = _upload(cli, target, project_dir, dags, description, echo)
    if wait:
        deploy = wait_for_deploy(cli.client, cli.org_path(), target["id"], deploy["id"], timeout)
    if cli.json_output:
        print_json(deploy)
    if deploy["status"] in ("rejected", "failed"):
        problems = "".join(f"\n  {path}: {error}" for path, error in deploy["errors"].items())
        raise CliError(f"deploy {deploy['status']}: {deploy['message']}{problems}\n"
                       "the Deployment keeps running its previous code")
    if not cli.json_output:
        success(f"deploy {deploy['id']} to {target['name']}: {deploy['status']}")
