"""``flightdeck dev``: develop and test DAGs locally, natively (no Docker needed).

Only typer is imported at module level so ``flightdeck --help`` stays fast; the devenv
modules (which pull in httpx, yaml, botocore) load inside each command.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flightdeck.cli.errors import CliError

if TYPE_CHECKING:
    from flightdeck.devenv.project import Project

app = typer.Typer(
    no_args_is_help=True,
    help="Develop DAGs locally: a native Airflow (no Docker) using your own AWS credentials.",
)
object_app = typer.Typer(no_args_is_help=True, help="Move connections, pools and variables.")
aws_app = typer.Typer(no_args_is_help=True, help="Choose the AWS credentials Airflow uses.")
secrets_app = typer.Typer(no_args_is_help=True, help="Configure and check a secrets backend.")
app.add_typer(object_app, name="object")
app.add_typer(aws_app, name="aws")
app.add_typer(secrets_app, name="secrets")

ProjectDir = Annotated[
    Path,
    typer.Option(
        "--project-dir", "-p", envvar="FLIGHTDECK_DEV_PROJECT_DIR",
        help="The project directory (default: the current directory or a parent of it).",
    ),
]
_CWD = Path()


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the devenv layer's errors into the CLI's single-line errors."""
    from flightdeck.devenv.errors import DevEnvError

    try:
        yield
    except DevEnvError as exc:
        raise CliError(exc.message) from None


def _project(directory: Path) -> Project:
    from flightdeck.devenv.project import find_project

    return find_project(directory.resolve())


def _echo(message: str) -> None:
    typer.echo(message, err=True)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the project.")] = _CWD,
    airflow_version: Annotated[
        str | None, typer.Option(help="Airflow release to use, e.g. 3.1.0 or 2.10.5.")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Add missing files to a non-empty directory; keeps existing ones.")
    ] = False,
) -> None:
    """Create an Airflow project: dags/, tests, settings files, Dockerfile and .flightdeck/."""
    from flightdeck.devenv.project import init_project

    with _user_errors():
        written = init_project(directory.resolve(), airflow_version, force)
    for path in written:
        typer.echo(f"created {path.relative_to(directory.resolve())}")
    typer.echo("Next: flightdeck dev start")


def _print_started(state: Any, password: str, major: int) -> None:
    """The URL and the local login: what a developer needs next."""
    typer.echo(f"Airflow {state.airflow_version} is healthy.")
    typer.echo(f"Airflow UI: {state.url}")
    typer.echo(f"Login: admin / {password}")


@app.command()
def start(
    project_dir: ProjectDir = _CWD,
    wait: Annotated[int, typer.Option(help="Seconds to wait for Airflow to be healthy.")] = 240,
) -> None:
    """Start Airflow natively and load airflow_settings.yaml once it is healthy."""
    from flightdeck.devenv import supervisor

    with _user_errors():
        project = _project(project_dir)
        state, password, prepared = supervisor.start(project, _echo, timeout=wait)
    _print_started(state, password, prepared.major)
    with _user_errors():  # Airflow keeps running if a settings entry is refused
        _import_settings(state, password, prepared.major, prepared.settings)


def _import_settings(state: Any, password: str, major: int, settings: Any) -> None:
    from flightdeck.devenv.airflow_api import AirflowApi

    api = AirflowApi(state.url, major, "admin", password)
    try:
        counts = api.import_settings(settings)
    finally:
        api.close()
    if any(counts.values()):
        _echo(
            "Loaded airflow_settings.yaml: "
            + ", ".join(f"{count} {kind}" for kind, count in counts.items())
        )


@app.command()
def stop(project_dir: ProjectDir = _CWD) -> None:
    """Stop Airflow's processes; the metadata database and logs are kept."""
    from flightdeck.devenv import supervisor

    with _user_errors():
        stopped = supervisor.stop(_project(project_dir))
    typer.echo(f"Stopped: {', '.join(stopped)}" if stopped else "Airflow was not running.")


@app.command()
def kill(project_dir: ProjectDir = _CWD) -> None:
    """Stop Airflow and delete its local data (.flightdeck/airflow: database, logs)."""
    from flightdeck.devenv import supervisor

    with _user_errors():
        project = _project(project_dir)
        supervisor.kill(project)
    typer.echo(f"Stopped Airflow and removed {project.airflow_home}")


@app.command()
def restart(
    project_dir: ProjectDir = _CWD,
    wait: Annotated[int, typer.Option(help="Seconds to wait for Airflow to be healthy.")] = 240,
) -> None:
    """Stop and start again (picks up .env, requirements.txt and settings changes)."""
    from flightdeck.devenv import supervisor

    with _user_errors():
        project = _project(project_dir)
        project.load_config()  # a broken project must not lose its running Airflow
        supervisor.stop(project)
    start(project_dir, wait)


@app.command()
def ps(project_dir: ProjectDir = _CWD) -> None:
    """Show Airflow's components, their process ids and whether they run."""
    from flightdeck.devenv import supervisor

    with _user_errors():
        state = supervisor.read_state(_project(project_dir))
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
    project_dir: ProjectDir = _CWD,
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

    with _user_errors():
        project = _project(project_dir)
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
    project_dir: ProjectDir = _CWD,
) -> None:
    """Run an airflow CLI command in the project's environment, e.g. `dev run dags list`."""
    from flightdeck.devenv import supervisor

    if not ctx.args:
        raise CliError("give the airflow command to run, e.g. flightdeck dev run dags list")
    with _user_errors():
        prepared = supervisor.prepare(_project(project_dir), _echo)
        code = supervisor.run_airflow(prepared, list(ctx.args))
    raise typer.Exit(code)


@app.command()
def parse(project_dir: ProjectDir = _CWD) -> None:
    """Import every DAG file and report import errors by file."""
    from flightdeck.devenv import supervisor

    with _user_errors():
        prepared = supervisor.prepare(_project(project_dir), _echo)
        dags, errors = supervisor.parse_dags(prepared)
    for path, line in supervisor.import_error_summary(errors, prepared.project.root).items():
        typer.echo(f"{path}: {line}")
    if errors:
        raise CliError(f"{len(errors)} DAG file(s) failed to import; fix the errors above")
    typer.echo(f"Parsed {len(dags)} DAG(s) with no errors: {', '.join(dags)}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def pytest(ctx: typer.Context, project_dir: ProjectDir = _CWD) -> None:
    """Run the project's tests (tests/ or the given paths) with pytest in the project's venv."""
    from flightdeck.devenv import supervisor

    with _user_errors():
        prepared = supervisor.prepare(_project(project_dir), _echo)
        code = supervisor.run_pytest(prepared, list(ctx.args))
    raise typer.Exit(code)


def _running_api(project: Project) -> Any:
    from flightdeck.airflow_versions import airflow_major
    from flightdeck.devenv import supervisor
    from flightdeck.devenv.airflow_api import AirflowApi
    from flightdeck.devenv.airflow_env import local_secrets

    state = supervisor.read_state(project)
    if state is None or not any(state.alive().values()):
        raise CliError("Airflow is not running for this project; run `flightdeck dev start`")
    password = local_secrets(project).admin_password
    return AirflowApi(state.url, airflow_major(state.airflow_version), "admin", password)


@object_app.command("import")
def object_import(
    project_dir: ProjectDir = _CWD,
    file: Annotated[
        Path | None, typer.Option(help="Settings file (default: airflow_settings.yaml).")
    ] = None,
) -> None:
    """Upsert connections, pools and variables from the settings file into running Airflow."""
    from flightdeck.devenv.project import parse_settings

    with _user_errors():
        project = _project(project_dir)
        if file is None:
            settings = project.load_settings()
        else:
            from flightdeck.devenv.project import load_yaml

            settings = parse_settings(load_yaml(file))
        api = _running_api(project)
        try:
            counts = api.import_settings(settings)
        finally:
            api.close()
    typer.echo("Imported " + ", ".join(f"{count} {kind}" for kind, count in counts.items()))


@object_app.command("export")
def object_export(
    project_dir: ProjectDir = _CWD,
    file: Annotated[
        Path | None, typer.Option(help="Where to write (default: airflow_settings.yaml).")
    ] = None,
) -> None:
    """Write running Airflow's connections, pools and variables to a settings file."""
    import yaml

    with _user_errors():
        project = _project(project_dir)
        api = _running_api(project)
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


@aws_app.command("use")
def aws_use(
    project_dir: ProjectDir = _CWD,
    profile: Annotated[
        str | None,
        typer.Option(help="AWS profile (from aws configure / aws configure sso); omit to clear."),
    ] = None,
) -> None:
    """Record which AWS profile Airflow's processes use (default: AWS's default chain)."""
    from flightdeck.devenv.awsconfig import profile_info

    with _user_errors():
        project = _project(project_dir)
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


@app.command()
def compose(
    project_dir: ProjectDir = _CWD,
    platform: Annotated[
        str | None, typer.Option(help="Host OS for the ~/.aws path: linux, darwin or windows.")
    ] = None,
    aws_dir: Annotated[
        str | None, typer.Option(help="Host folder to mount as ~/.aws (default: your home's).")
    ] = None,
) -> None:
    """Write docker-compose.yaml and a docker-compose.override.yml mounting ~/.aws read-only."""
    from flightdeck.devenv.compose import current_platform, write_compose

    with _user_errors():
        project = _project(project_dir)
        config = project.load_config()
        written = write_compose(
            project, config.airflow_version, config.api_port, config.aws_profile,
            platform or current_platform(), aws_dir,
        )
    for path in written:
        typer.echo(f"wrote {path.name}")


@secrets_app.command("use")
def secrets_use(
    backend: Annotated[str, typer.Argument(help="aws-secrets-manager, aws-ssm or none.")],
    project_dir: ProjectDir = _CWD,
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

    with _user_errors():
        project = _project(project_dir)
        if backend == "none":
            secrets.disable_backend(project)
            typer.echo("Secrets backend removed from .env")
            return
        values = secrets.backend_settings(backend, region, connections_prefix, variables_prefix)
        secrets.use_backend(project, values)
    typer.echo(f"AIRFLOW__SECRETS__BACKEND={values['AIRFLOW__SECRETS__BACKEND']}")
    typer.echo(f"AIRFLOW__SECRETS__BACKEND_KWARGS={values['AIRFLOW__SECRETS__BACKEND_KWARGS']}")
    typer.echo("Written to .env. Check it: flightdeck dev secrets check --variable KEY")


@secrets_app.command("check")
def secrets_check(
    project_dir: ProjectDir = _CWD,
    variable: Annotated[str | None, typer.Option(help="Variable key to fetch.")] = None,
    connection: Annotated[str | None, typer.Option(help="Connection id to fetch.")] = None,
) -> None:
    """Fetch a variable and/or connection through the backend; values are shown masked."""
    from flightdeck.devenv import secrets, supervisor

    with _user_errors():
        prepared = supervisor.prepare(_project(project_dir), _echo)
        env = supervisor.environment(prepared, supervisor.current_ports(prepared))
        result = secrets.check(str(prepared.python), env, variable, connection)
    data = result.data
    if not data.get("backend"):
        raise CliError(
            "no secrets backend configured in .env; run `flightdeck dev secrets use "
            "aws-secrets-manager` first"
        )
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
