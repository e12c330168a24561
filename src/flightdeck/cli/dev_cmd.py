"""``flightdeck dev``: develop and test DAGs locally, natively (no Docker needed).

Only typer is imported at module level so ``flightdeck --help`` stays fast; the devenv
modules (which pull in httpx, yaml, botocore) load inside each command.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer

from flightdeck.cli import dev_aws_cmd, dev_object_cmd, dev_secrets_cmd
from flightdeck.cli.dev_support import CWD, progress, project_at, user_errors
from flightdeck.cli.errors import CliError
from flightdeck.cli.options import JSON, PROJECT_DIR

AIRFLOW_ARGS = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="ARGS",
        help="The airflow command and its arguments, e.g. `dags list` (put `--` before any "
        "that start with `-p` or `--project-dir`).",
        show_default=False,
    ),
]
PYTEST_ARGS = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="ARGS",
        help="pytest's arguments: test paths (default: tests/) and options such as -k or -x.",
        show_default=False,
    ),
]

app = typer.Typer(
    no_args_is_help=True,
    help="Develop DAGs locally: a native Airflow (no Docker) using your own AWS credentials.",
)
dev_object_cmd.register(app)
dev_aws_cmd.register(app)
dev_secrets_cmd.register(app)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="dev")


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the project.")] = CWD,
    airflow_version: Annotated[
        str | None, typer.Option(help="Airflow release to use, e.g. 3.1.0 or 2.10.5.")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Add missing files to a non-empty directory; keeps existing ones.")
    ] = False,
) -> None:
    """Create an Airflow project: dags/, tests, settings files, Dockerfile and .flightdeck/."""
    from flightdeck.devenv.project import init_project

    with user_errors():
        written = init_project(directory.resolve(), airflow_version, force)
    for path in written:
        typer.echo(f"created {path.relative_to(directory.resolve())}")
    typer.echo("Next: flightdeck dev start")


def _print_started(state: Any, password: str) -> None:
    """The URL and the local login: what a developer needs next."""
    typer.echo(f"Airflow {state.airflow_version} is healthy.")
    typer.echo(f"Airflow UI: {state.url}")
    typer.echo(f"Login: admin / {password}")


@app.command()
def start(
    project_dir: PROJECT_DIR = CWD,
    wait: Annotated[int, typer.Option(help="Seconds to wait for Airflow to be healthy.")] = 240,
) -> None:
    """Start Airflow natively and load airflow_settings.yaml once it is healthy."""
    from flightdeck.devenv import supervisor

    with user_errors():
        project = project_at(project_dir)
        state, password, prepared = supervisor.start(project, progress, timeout=wait)
    _print_started(state, password)
    with user_errors():  # Airflow keeps running if a settings entry is refused
        _import_settings(state, password, prepared.major, prepared.settings)


def _import_settings(state: Any, password: str, major: int, settings: Any) -> None:
    from flightdeck.devenv.airflow_api import AirflowApi

    api = AirflowApi(state.url, major, "admin", password)
    try:
        counts = api.import_settings(settings)
    finally:
        api.close()
    if any(counts.values()):
        progress(
            "Loaded airflow_settings.yaml: "
            + ", ".join(f"{count} {kind}" for kind, count in counts.items())
        )


@app.command()
def stop(project_dir: PROJECT_DIR = CWD) -> None:
    """Stop Airflow's processes; the metadata database and logs are kept."""
    from flightdeck.devenv import supervisor

    with user_errors():
        stopped = supervisor.stop(project_at(project_dir))
    typer.echo(f"Stopped: {', '.join(stopped)}" if stopped else "Airflow was not running.")


@app.command()
def kill(project_dir: PROJECT_DIR = CWD) -> None:
    """Stop Airflow and delete its local data (.flightdeck/airflow: database, logs)."""
    from flightdeck.devenv import supervisor

    with user_errors():
        project = project_at(project_dir)
        supervisor.kill(project)
    typer.echo(f"Stopped Airflow and removed {project.airflow_home}")


@app.command()
def restart(
    project_dir: PROJECT_DIR = CWD,
    wait: Annotated[int, typer.Option(help="Seconds to wait for Airflow to be healthy.")] = 240,
) -> None:
    """Stop and start again (picks up .env, requirements.txt and settings changes)."""
    from flightdeck.devenv import supervisor

    with user_errors():
        project = project_at(project_dir)
        project.load_config()  # a broken project must not lose its running Airflow
        supervisor.stop(project)
    start(project_dir, wait)


@app.command()
def ps(project_dir: PROJECT_DIR = CWD, json_output: JSON = False) -> None:
    """Show Airflow's components, their process ids and whether they run."""
    from flightdeck.cli.output import print_json
    from flightdeck.devenv import supervisor

    with user_errors():
        state = supervisor.read_state(project_at(project_dir))
    if json_output:
        running = state.alive() if state is not None else {}
        print_json({
            "running": state is not None,
            "url": state.url if state is not None else None,
            "components": [
                {"name": name, "pid": pid, "state": "running" if running[name] else "exited"}
                for name, pid in (state.pids.items() if state is not None else ())
            ],
        })
        return
    if state is None:
        typer.echo("Airflow is not running.")
        return
    alive = state.alive()
    typer.echo(f"{'COMPONENT':<15}{'PID':>8}  STATE")
    for name, pid in state.pids.items():
        typer.echo(f"{name:<15}{pid:>8}  {'running' if alive[name] else 'exited'}")
    typer.echo(f"UI: {state.url}")


@app.command()
def logs(
    project_dir: PROJECT_DIR = CWD,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
    component: Annotated[
        str | None, typer.Option(help="Only this component, e.g. scheduler or api-server.")
    ] = None,
    lines: Annotated[int, typer.Option(help="How many past lines to show per component.")] = 50,
) -> None:
    """Print the Airflow components' logs."""
    from flightdeck.devenv import supervisor

    with user_errors():
        project = project_at(project_dir)
        available = sorted(p.stem for p in supervisor.logs_dir(project).glob("*.log"))
        if component is not None and component not in available:
            raise CliError(
                f"--component {component!r} has no log; choose one of: "
                + (", ".join(available) or "none (start Airflow first)")
            )
        names = [component] if component else available
        paths = [supervisor.component_log(project, name) for name in names]
        for name, path in zip(names, paths, strict=True):
            for line in supervisor.tail(path, lines).splitlines():
                typer.echo(f"{name} | {line}")
        if follow:
            with contextlib.suppress(KeyboardInterrupt):
                for line in supervisor.follow(paths):
                    typer.echo(line)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def run(
    ctx: typer.Context,
    args: AIRFLOW_ARGS = None,
    project_dir: PROJECT_DIR = CWD,
) -> None:
    """Run an airflow CLI command in the project's environment (`dev run dags list`)."""
    from flightdeck.devenv import supervisor

    command = [*(args or ()), *ctx.args]
    if not command:
        raise CliError("give the airflow command to run, e.g. flightdeck dev run dags list")
    with user_errors():
        prepared = supervisor.prepare(project_at(project_dir), progress)
        code = supervisor.run_airflow(prepared, command)
    raise typer.Exit(code)


@app.command()
def parse(project_dir: PROJECT_DIR = CWD, json_output: JSON = False) -> None:
    """Import every DAG file and report import errors by file (exit 1 if any not listed in
    .astro/dag_integrity_exceptions.txt)."""
    from flightdeck.cli.output import print_json
    from flightdeck.devenv import supervisor
    from flightdeck.devenv.astro import INTEGRITY_EXCEPTIONS, integrity_exceptions

    with user_errors():
        prepared = supervisor.prepare(project_at(project_dir), progress)
        dags, errors = supervisor.parse_dags(prepared)
        excepted = integrity_exceptions(prepared.project.root)
    summary = supervisor.import_error_summary(errors, prepared.project.root)
    failing = {path: line for path, line in summary.items() if path not in excepted}
    if json_output:
        allowed = sorted(set(summary) - set(failing))
        print_json({"dags": list(dags), "errors": failing, "excepted": allowed})
        if failing:
            raise typer.Exit(1)
        return
    for path, line in summary.items():
        note = "" if path in failing else f" (allowed by {INTEGRITY_EXCEPTIONS})"
        typer.echo(f"{path}: {line}{note}")
    if failing:
        raise CliError(f"{len(failing)} DAG file(s) failed to import; fix the errors above")
    allowed_note = f" ({len(summary)} allowed import error(s))" if summary else " with no errors"
    typer.echo(f"Parsed {len(dags)} DAG(s){allowed_note}: {', '.join(dags)}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def pytest(
    ctx: typer.Context, args: PYTEST_ARGS = None, project_dir: PROJECT_DIR = CWD
) -> None:
    """Run the project's tests (tests/ or the given paths) with pytest in the project's venv."""
    from flightdeck.devenv import supervisor

    with user_errors():
        prepared = supervisor.prepare(project_at(project_dir), progress)
        code = supervisor.run_pytest(prepared, [*(args or ()), *ctx.args])
    raise typer.Exit(code)


@app.command()
def compose(
    project_dir: PROJECT_DIR = CWD,
    platform: Annotated[
        str | None, typer.Option(help="Host OS for the ~/.aws path: linux, darwin or windows.")
    ] = None,
    aws_dir: Annotated[
        str | None, typer.Option(help="Host folder to mount as ~/.aws (default: your home's).")
    ] = None,
) -> None:
    """Write docker-compose.yaml and a docker-compose.override.yml mounting ~/.aws read-only."""
    from flightdeck.devenv.compose import current_platform, write_compose

    with user_errors():
        project = project_at(project_dir)
        config = project.load_config()
        written = write_compose(
            project, config.airflow_version, config.api_port, config.aws_profile,
            platform or current_platform(), aws_dir,
        )
    for path in written:
        typer.echo(f"wrote {path.name}")
