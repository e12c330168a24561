"""`flightdeck reference`: the supported regions, instance types and Airflow versions, read
from the same tables the control plane checks requests against (no server needed)."""

from __future__ import annotations

import typer

from flightdeck.cli.options import JSON

app = typer.Typer(
    no_args_is_help=True,
    help="What cluster and Deployment requests accept: regions, instance types, Airflow versions.",
)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="reference")


@app.command()
def regions(json_output: JSON = False) -> None:
    """Regions a cluster can be created in; opt-in ones must be enabled in the account first."""
    from flightdeck.aws import reference
    from flightdeck.cli.output import print_json, print_table

    rows = [
        {"name": name, "display_name": display, "opt_in": opt_in,
         "default": name == reference.DEFAULT_REGION}
        for name, (display, opt_in) in reference.REGIONS.items()
    ]  # fmt: skip
    if json_output:
        print_json(rows)
        return
    print_table(
        [{**row, "opt_in": "yes" if row["opt_in"] else "", "default": "default"
          if row["default"] else ""} for row in rows],
        [("name", "REGION"), ("display_name", "NAME"), ("opt_in", "OPT-IN"), ("default", "")],
    )  # fmt: skip


@app.command("instance-types")
def instance_types(json_output: JSON = False) -> None:
    """Worker node and database instance types (`--node-instance-type`, `--db-instance-type`)."""
    from flightdeck.aws import reference
    from flightdeck.cli.output import print_json, print_table

    rows = [
        {"kind": "node", "name": name, "default": name == reference.DEFAULT_NODE_INSTANCE_TYPE}
        for name in reference.NODE_INSTANCE_TYPES
    ] + [
        {"kind": "database", "name": name, "default": name == reference.DEFAULT_DB_INSTANCE_TYPE}
        for name in reference.DB_INSTANCE_TYPES
    ]
    if json_output:
        print_json(rows)
        return
    print_table(
        [{**row, "default": "default" if row["default"] else ""} for row in rows],
        [("kind", "FOR"), ("name", "INSTANCE TYPE"), ("default", "")],
    )


@app.command("airflow-versions")
def airflow_versions(json_output: JSON = False) -> None:
    """Which Airflow versions Deployments and `flightdeck dev` run, and the default."""
    from flightdeck import airflow_versions as policy
    from flightdeck.cli.output import print_fields, print_json

    document = policy.as_document()
    if json_output:
        print_json(document)
        return
    shown = {**document, "supported": "; ".join(document["supported"])}  # type: ignore[arg-type]
    print_fields(
        shown,
        [("default", "Default"), ("supported", "Supported"),
         ("deployment_form", "Deployments take"), ("dev_form", "dev takes")],
    )  # fmt: skip
