"""`flightdeck deployment variable|connection|airflow-variable|pool`: a running Deployment's
environment variables, and the connections, variables and pools of its Airflow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from flightdeck.cli.context import invocation
from flightdeck.cli.errors import CliError
from flightdeck.cli.options import JSON, ORG

DEPLOYMENT = Annotated[str, typer.Argument(help="Deployment name or id.")]

variable_app = typer.Typer(
    no_args_is_help=True,
    help="Environment variables of a Deployment's Airflow processes. A change restarts only "
    "the components that read it: AIRFLOW__API__* and AIRFLOW__WEBSERVER__* the API server "
    "alone, anything else every component (`deployment events` says which).",
)
connection_app = typer.Typer(
    no_args_is_help=True, help="Connections of a Deployment's Airflow (passwords masked)."
)
airflow_variable_app = typer.Typer(
    no_args_is_help=True,
    help="Airflow Variables of a Deployment (sensitive values masked, by Airflow's rule).",
)
pool_app = typer.Typer(no_args_is_help=True, help="Pools of a Deployment's Airflow.")


def register(parent: typer.Typer) -> None:
    parent.add_typer(variable_app, name="variable")
    parent.add_typer(connection_app, name="connection")
    parent.add_typer(airflow_variable_app, name="airflow-variable")
    parent.add_typer(pool_app, name="pool")


def _path(cli: Any, deployment: str, rest: str) -> str:
    return str(cli.org_path(f"/deployments/{deployment}/{rest}"))


def pairs(items: list[str] | None, what: str) -> dict[str, str]:
    """``KEY=VALUE`` arguments; the value may hold ``=`` (the first one splits)."""
    values: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise CliError(f"{what} {item!r}: expected KEY=VALUE, for example TZ=UTC")
        values[key] = value
    return values


def load_env_file(path: Path) -> dict[str, str]:
    """A ``.env`` file read by the dev runner's one parser (Compose's rules); ``$NAME`` may
    only name an earlier line, never this shell's environment."""
    from flightdeck.cli.dev_support import user_errors
    from flightdeck.devenv.envfile import parse_env_text
    from flightdeck.devenv.textfile import read_project_text

    if not path.is_file():
        raise CliError(f"--load {path}: no such file")
    with user_errors():
        return parse_env_text(read_project_text(path), path.name, environ={}, strict=True)


# -- environment variables ------------------------------------------------------------------
@variable_app.command("list")
def variable_list(
    ctx: typer.Context, deployment: DEPLOYMENT, org: ORG = None, json_output: JSON = False
) -> None:
    """List the variables; a secret one shows as "set", never its value."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, org, json_output)
    rows = cli.client.get(_path(cli, deployment, "environment"))
    if cli.json_output:
        print_json(rows)
        return
    shown = [{**row, "value": "set (secret)" if row["secret"] else row["value"]} for row in rows]
    print_table(
        shown,
        [("key", "KEY"), ("value", "VALUE")],
        empty="No variable yet; add one with `flightdeck deployment variable set`.",
    )


@variable_app.command("set")
def variable_set(
    ctx: typer.Context,
    deployment: DEPLOYMENT,
    values: Annotated[list[str] | None, typer.Argument(help="KEY=VALUE (several allowed).")] =
        None,
    secret: Annotated[bool, typer.Option(
        "--secret", help="Seal the values: they are never shown again.")] = False,
    load: Annotated[Path | None, typer.Option(
        "--load", help="Also set every variable of this .env file.")] = None,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Set variables in one change (plain, or sealed with --secret)."""
    from flightdeck.cli.output import print_json, success

    given = load_env_file(load) if load is not None else {}
    given |= pairs(values, "variable")
    if not given:
        raise CliError("give at least one KEY=VALUE or --load FILE")
    cli = invocation(ctx, org, json_output)
    data = cli.client.patch(
        _path(cli, deployment, "environment"), json={"variables": given, "secret": secret}
    )
    if cli.json_output:
        print_json(data)
        return
    kind = "secret variable(s)" if secret else "variable(s)"
    success(
        f"{len(given)} {kind} set on {data['name']} (generation {data['generation']}); "
        f"see what restarts with `flightdeck deployment events {data['name']}`"
    )


@variable_app.command("unset")
def variable_unset(
    ctx: typer.Context,
    deployment: DEPLOYMENT,
    keys: Annotated[list[str], typer.Argument(help="Variable names.")],
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Remove variables (plain or secret) in one change."""
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, org, json_output)
    data = cli.client.patch(_path(cli, deployment, "environment"), json={"unset": list(keys)})
    if cli.json_output:
        print_json(data)
    else:
        success(f"{', '.join(keys)} removed from {data['name']} (generation {data['generation']})")


# -- connections ------------------------------------------------------------------------------
@connection_app.command("list")
def connection_list(
    ctx: typer.Context, deployment: DEPLOYMENT, org: ORG = None, json_output: JSON = False
) -> None:
    """List the connections; passwords and sensitive extra fields show as ***."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, org, json_output)
    rows = cli.client.get(_path(cli, deployment, "airflow/connections"))
    if cli.json_output:
        print_json(rows)
        return
    shown = [{**row, "extra": json.dumps(row["extra"]) if row["extra"] else ""} for row in rows]
    print_table(
        shown,
        [("connection_id", "ID"), ("conn_type", "TYPE"), ("host", "HOST"), ("port", "PORT"),
         ("login", "LOGIN"), ("password", "PASSWORD"), ("extra", "EXTRA")],
        empty="No connection yet; add one with `flightdeck deployment connection set`.",
    )


@connection_app.command("set")
def connection_set(
    ctx: typer.Context,
    deployment: DEPLOYMENT,
    connection_id: Annotated[str, typer.Argument(help="The connection id, e.g. my_postgres.")],
    conn_type: Annotated[str, typer.Option("--type", help="Connection type, e.g. postgres.")],
    host: Annotated[str | None, typer.Option(help="Host.")] = None,
    schema: Annotated[str | None, typer.Option(help="Schema (or database).")] = None,
    login: Annotated[str | None, typer.Option(help="Login.")] = None,
    password: Annotated[str | None, typer.Option(
        help="Password; prefer --password-stdin so it stays out of your shell history.")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input.")] = False,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    extra: Annotated[str | None, typer.Option(help="Extra fields, a JSON object.")] = None,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Create or replace a connection."""
    import sys


    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    extra_fields: Any = {}
    if extra:
        try:
            extra_fields = json.loads(extra)
        except json.JSONDecodeError:
            raise CliError("--extra: not valid JSON; give an object such as "
                           "'{\"region_name\": \"eu-west-1\"}'") from None
        if not isinstance(extra_fields, dict):
            raise CliError("--extra: must be a JSON object, e.g. '{\"key\": \"value\"}'")
    body = {"conn_type": conn_type, "host": host, "schema": schema, "login": login,
            "password": password, "port": port, "extra": extra_fields}
    cli = invocation(ctx, org, json_output)
    data = cli.client.put(_path(cli, deployment, f"airflow/connections/{connection_id}"),
                          json=body)
    _written(cli, data, "connection")


@connection_app.command("delete")
def connection_delete(
    ctx: typer.Context,
    deployment: DEPLOYMENT,
    connection_id: Annotated[str, typer.Argument(help="The connection id.")],
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Delete a connection."""
    _delete(ctx, org, json_output, deployment, "connections", connection_id, "connection")


# -- Airflow variables ------------------------------------------------------------------------
@airflow_variable_app.command("list")
def airflow_variable_list(
    ctx: typer.Context, deployment: DEPLOYMENT, org: ORG = None, json_output: JSON = False
) -> None:
    """List the Airflow Variables; a sensitive one (its name holds password, secret, token,
    api_key...) shows as ***."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, org, json_output)
    rows = cli.client.get(_path(cli, deployment, "airflow/variables"))
    if cli.json_output:
        print_json(rows)
        return
    print_table(rows, [("key", "KEY"), ("value", "VALUE"), ("description", "DESCRIPTION")],
                empty="No Airflow variable yet; add one with "
                      "`flightdeck deployment airflow-variable set`.")


@airflow_variable_app.command("set")
def airflow_variable_set(
    ctx: typer.Context,
    deployment: DEPLOYMENT,
    key: Annotated[str, typer.Argument(help="The variable's key.")],
    value: Annotated[str, typer.Argument(help="Its value.")],
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Create or replace an Airflow Variable."""
    cli = invocation(ctx, org, json_output)
    data = cli.client.put(_path(cli, deployment, f"airflow/variables/{key}"),
                          json={"value": value})
    _written(cli, data, "Airflow variable")


@airflow_variable_app.command("delete")
def airflow_variable_delete(
    ctx: typer.Context,
    deployment: DEPLOYMENT,
    key: Annotated[str, typer.Argument(help="The variable's key.")],
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Delete an Airflow Variable."""
    _delete(ctx, org, json_output, deployment, "variables", key, "Airflow variable")


# -- pools ------------------------------------------------------------------------------------
@pool_app.command("list")
def pool_list(
    ctx: typer.Context, deployment: DEPLOYMENT, org: ORG = None, json_output: JSON = False
) -> None:
    """List the pools."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, org, json_output)
    rows = cli.client.get(_path(cli, deployment, "airflow/pools"))
    if cli.json_output:
        print_json(rows)
        return
    print_table(rows, [("name", "NAME"), ("slots", "SLOTS"), ("include_deferred", "DEFERRED"),
                       ("description", "DESCRIPTION")])


@pool_app.command("set")
def pool_set(
    ctx: typer.Context,
    deployment: DEPLOYMENT,
    name: Annotated[str, typer.Argument(help="The pool's name.")],
    slots: Annotated[str, typer.Option(help="Slots: a whole number, -1 for unlimited.")],
    description: Annotated[str, typer.Option(help="What the pool is for.")] = "",
    include_deferred: Annotated[bool, typer.Option(
        help="Count deferred tasks against the pool.")] = False,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Create or replace a pool."""
    try:
        count = int(slots)
    except ValueError:
        raise CliError(f"--slots {slots!r}: must be a whole number (-1 for unlimited)") from None
    cli = invocation(ctx, org, json_output)
    data = cli.client.put(
        _path(cli, deployment, f"airflow/pools/{name}"),
        json={"slots": count, "description": description, "include_deferred": include_deferred},
    )
    _written(cli, data, "pool")


@pool_app.command("delete")
def pool_delete(
    ctx: typer.Context,
    deployment: DEPLOYMENT,
    name: Annotated[str, typer.Argument(help="The pool's name.")],
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Delete a pool."""
    _delete(ctx, org, json_output, deployment, "pools", name, "pool")


# -- airflow_settings.yaml ----------------------------------------------------------------------
def apply_settings(
    ctx: typer.Context, deployment: str, file: Path, org: str | None, json_output: bool
) -> None:
    """Send an ``airflow_settings.yaml`` to be applied (its text is parsed by the server,
    with the dev runner's own parser)."""
    from flightdeck.cli.output import print_json, success

    if not file.is_file():
        raise CliError(f"--from-settings {file}: no such file")
    text = file.read_text(errors="replace")
    cli = invocation(ctx, org, json_output)
    data = cli.client.post(_path(cli, deployment, "airflow/settings"), json={"settings": text})
    if cli.json_output:
        print_json(data)
    else:
        success(f"applied {file.name}: " + ", ".join(f"{n} {kind}" for kind, n in data.items()))


SETTINGS = Annotated[Path | None, typer.Option(
    "--from-settings", help="Apply an Astro airflow_settings.yaml (connections, pools, "
    "variables) instead.")]


@connection_app.command("apply")
@airflow_variable_app.command("apply")
@pool_app.command("apply")
def settings_apply(
    ctx: typer.Context,
    deployment: DEPLOYMENT,
    from_settings: SETTINGS = None,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Upsert every connection, pool and variable of an airflow_settings.yaml
    (--from-settings FILE, default ./airflow_settings.yaml)."""
    apply_settings(ctx, deployment, from_settings or Path("airflow_settings.yaml"), org,
                   json_output)


# -- shared -----------------------------------------------------------------------------------
def _written(cli: Any, data: dict[str, Any], what: str) -> None:
    from flightdeck.cli.output import print_json, success

    if cli.json_output:
        print_json(data)
    else:
        success(f"{what} {data['key']} {data['action']}")


def _delete(ctx: typer.Context, org: str | None, json_output: bool, deployment: str,
            collection: str, key: str, what: str) -> None:
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, org, json_output)
    cli.client.delete(_path(cli, deployment, f"airflow/{collection}/{key}"))
    if cli.json_output:
        print_json({"key": key, "action": "deleted"})
    else:
        success(f"{what} {key} deleted")
