"""``flightdeck dev secrets``: configure and check the local Airflow's secrets backend."""

from __future__ import annotations

from typing import Annotated

import typer

from flightdeck.cli.dev_support import CWD, progress, project_at, user_errors
from flightdeck.cli.errors import CliError
from flightdeck.cli.options import JSON, PROJECT_DIR

app = typer.Typer(no_args_is_help=True, help="Configure and check a secrets backend.")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="secrets")


@app.command("use")
def secrets_use(
    backend: Annotated[str, typer.Argument(help="aws-secrets-manager, aws-ssm or none.")],
    project_dir: PROJECT_DIR = CWD,
    region: Annotated[str | None, typer.Option(help="AWS region of the secrets.")] = None,
    connections_prefix: Annotated[
        str | None, typer.Option(help="Prefix of connection secrets (airflow/connections).")
    ] = None,
    variables_prefix: Annotated[
        str | None, typer.Option(help="Prefix of variable secrets (airflow/variables).")
    ] = None,
) -> None:
    """Write AIRFLOW__SECRETS__BACKEND and its JSON kwargs into .env."""
    from flightdeck.devenv import secrets

    with user_errors():
        project = project_at(project_dir)
        if backend == "none":
            secrets.disable_backend(project)
            typer.echo("Secrets backend removed from .env")
            return
        values = secrets.backend_settings(backend, region, connections_prefix, variables_prefix)
        secrets.use_backend(project, values)
    typer.echo(f"AIRFLOW__SECRETS__BACKEND={values['AIRFLOW__SECRETS__BACKEND']}")
    typer.echo(f"AIRFLOW__SECRETS__BACKEND_KWARGS={values['AIRFLOW__SECRETS__BACKEND_KWARGS']}")
    typer.echo("Written to .env. Check it: flightdeck dev secrets check --variable KEY")


@app.command("check")
def secrets_check(
    project_dir: PROJECT_DIR = CWD,
    variable: Annotated[str | None, typer.Option(help="Variable key to fetch.")] = None,
    connection: Annotated[str | None, typer.Option(help="Connection id to fetch.")] = None,
    json_output: JSON = False,
) -> None:
    """Fetch a variable and/or connection through the backend; values are shown masked."""
    from flightdeck.devenv import secrets, supervisor

    with user_errors():
        prepared = supervisor.prepare(project_at(project_dir), progress)
        env = supervisor.environment(prepared, supervisor.current_ports(prepared))
        result = secrets.check(str(prepared.python), env, variable, connection)
    data = result.data
    if not data.get("backend"):
        raise CliError(
            "no secrets backend configured in .env; run `flightdeck dev secrets use "
            "aws-secrets-manager` first"
        )
    if json_output and "error" not in data:
        from flightdeck.cli.output import print_json

        print_json(data)  # masked in the child process: no secret value reaches here
        return
    typer.echo(f"Backend: {data['backend']}")
    if "kwargs" in data:
        typer.echo(f"Settings: {data['kwargs']}")
    creds = data.get("credentials") or {}
    if creds:
        typer.echo(
            f"Credentials: {creds.get('method')} (profile {creds.get('profile') or 'default'}, "
            f"region {creds.get('region') or 'unset'}, key {creds.get('access_key_id')})"
            + (f", endpoint {creds['endpoint_url']}" if creds.get("endpoint_url") else "")
        )
    if "error" in data:
        hint = ""
        if "sso" in data["error"].lower():
            hint = f"; run `aws sso login --profile {creds.get('profile') or 'NAME'}` and retry"
        raise CliError(f"secrets check failed: {data['error']}{hint}")
    if "variable" in data:
        var = data["variable"]
        typer.echo(f"Variable {var['key']}: " + (var["value"] if var["found"] else "NOT FOUND"))
    if "connection" in data:
        conn = data["connection"]
        if conn["found"]:
            typer.echo(
                f"Connection {conn['conn_id']}: type={conn['conn_type']} host={conn['host']} "
                f"port={conn['port']} schema={conn['schema']} login={conn['login']} "
                f"password={conn['password']} extra keys={conn['extra_keys']}"
            )
        else:
            typer.echo(f"Connection {conn['conn_id']}: NOT FOUND")
    if not result.ok:
        raise CliError("not every requested secret was found under the configured prefixes")
