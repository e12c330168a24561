"""``flightdeck dev aws``: choose the AWS profile the local Airflow uses."""

from __future__ import annotations

from typing import Annotated

import typer

from flightdeck.cli.dev_support import CWD, project_at, user_errors
from flightdeck.cli.options import PROJECT_DIR

app = typer.Typer(no_args_is_help=True, help="Choose the AWS credentials Airflow uses.")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="aws")


@app.command("use")
def aws_use(
    project_dir: PROJECT_DIR = CWD,
    profile: Annotated[
        str | None,
        typer.Option(help="AWS profile (from aws configure / aws configure sso); omit to clear."),
    ] = None,
) -> None:
    """Record which AWS profile Airflow's processes use (default: AWS's default chain)."""
    from flightdeck.devenv.awsconfig import profile_info

    with user_errors():
        project = project_at(project_dir)
        project.load_config()
        info = profile_info(profile) if profile else None
        project.set_aws_profile(profile)
    if info is None:
        typer.echo("Airflow will use AWS's default credential chain (AWS_PROFILE, env, ~/.aws).")
        return
    typer.echo(f"Airflow will use AWS profile {info.name!r}" + (
        f" (region {info.region})." if info.region else "."))
    if info.sso:
        typer.echo(f"It is an SSO profile: run `aws sso login --profile {info.name}` when the "
                   "session expires.")
    typer.echo("Restart Airflow to apply: flightdeck dev restart")
