"""``flightdeck dev object``: move connections, pools and variables between a settings
file and the project's running Airflow."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from flightdeck.cli.dev_support import CWD, project_at, running_airflow_api, user_errors
from flightdeck.cli.options import PROJECT_DIR

app = typer.Typer(no_args_is_help=True, help="Move connections, pools and variables.")


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="object")


@app.command("import")
def object_import(
    project_dir: PROJECT_DIR = CWD,
    file: Annotated[
        Path | None, typer.Option(help="Settings file (default: airflow_settings.yaml).")
    ] = None,
) -> None:
    """Upsert connections, pools and variables from the settings file into running Airflow."""
    from flightdeck.devenv.project import parse_settings

    with user_errors():
        project = project_at(project_dir)
        if file is None:
            settings = project.load_settings()
        else:
            from flightdeck.devenv.project import load_yaml

            settings = parse_settings(load_yaml(file))
        api = running_airflow_api(project)
        try:
            counts = api.import_settings(settings)
        finally:
            api.close()
    typer.echo("Imported " + ", ".join(f"{count} {kind}" for kind, count in counts.items()))


@app.command("export")
def object_export(
    project_dir: PROJECT_DIR = CWD,
    file: Annotated[
        Path | None, typer.Option(help="Where to write (default: airflow_settings.yaml).")
    ] = None,
) -> None:
    """Write running Airflow's connections, pools and variables to a settings file."""
    import yaml

    with user_errors():
        project = project_at(project_dir)
        api = running_airflow_api(project)
        try:
            document = api.export_settings()
        finally:
            api.close()
    target = file or project.settings_file
    tmp = target.with_name(target.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # may hold passwords
    with os.fdopen(fd, "w") as handle:
        handle.write(yaml.safe_dump(document, sort_keys=False))
    tmp.replace(target)
    counts = {kind: len(items) for kind, items in document["airflow"].items()}
    typer.echo(
        f"Wrote {target}: " + ", ".join(f"{count} {kind}" for kind, count in counts.items())
    )
