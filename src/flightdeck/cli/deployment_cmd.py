"""`flightdeck deployment`: create, list, get, update, delete Deployments (Airflow on a cluster)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any

import typer

from flightdeck.cli.context import invocation
from flightdeck.cli.cost_note import cost_lines
from flightdeck.cli.errors import CliError
from flightdeck.cli.options import JSON, ORG, WORKSPACE, YES
from flightdeck.runtime import base as deployment

app = typer.Typer(
    no_args_is_help=True, help="Deployments: Airflow environments on your Active clusters."
)

DEPLOYMENT = Annotated[str, typer.Argument(help="Deployment name or id.")]
WAIT = Annotated[bool, typer.Option(
    "--wait", "-w", help="Wait until the Deployment is Healthy (exit 1 if Unhealthy).")]
ENV = Annotated[list[str] | None, typer.Option(
    "--env", "-e", help="Environment variable KEY=VALUE (repeatable).")]
SECRET_ENV = Annotated[list[str] | None, typer.Option(
    "--secret-env", "-s",
    help="Secret environment variable KEY=VALUE (repeatable); never shown again.")]
EXECUTOR = Annotated[str | None, typer.Option(
    help=f"{' or '.join(deployment.EXECUTORS)} [default: {deployment.DEFAULT_EXECUTOR}].")]
SIZE = Annotated[str | None, typer.Option(
    "--scheduler-size",
    help=f"{', '.join(deployment.SCHEDULER_SIZES)} [default: {deployment.DEFAULT_SCHEDULER_SIZE}]."
)]



def register(parent: typer.Typer) -> None:
    from flightdeck.cli import deployment_config_cmd

    deployment_config_cmd.register(app)
    parent.add_typer(app, name="deployment")


FIELDS = [
    ("name", "Name"), ("id", "ID"), ("phase", "Phase"), ("health_message", "Health"),
    ("airflow_url", "Airflow URL"), ("airflow_version", "Airflow"), ("executor", "Executor"),
    ("running_executor", "Runs"),
    ("scheduler", "Scheduler"), ("workers", "Worker queue"), ("runtime", "Runtime"),
    ("sleep", "Hibernation"), ("kind", "Kind"), ("schedule", "Schedule"),
    ("cost_note", "Cost"), ("current_deploy_id", "Current deploy"),
    ("environment_keys", "Environment"),
    ("secret_keys", "Secret environment"), ("last_error", "Last error"),
]


def parse_env(pairs: list[str] | None, option: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"{option} {pair!r}: expected KEY=VALUE, for example {option} TZ=UTC")
        env[key] = value
    return env


# --worker-queue's keys and the API fields they set.
QUEUE_KEYS = {"name": "name", "instance-type": "instance_type", "min": "min_workers",
              "max": "max_workers", "concurrency": "tasks_per_worker"}
QUEUE_HELP = ("A worker queue, name=…[,instance-type=…][,min=…][,max=…][,concurrency=…] "
              "(repeatable); name=default sets the default queue, any other name is a further "
              "Celery queue.")


def parse_queues(values: list[str] | None) -> list[dict[str, Any]]:
    """``--worker-queue name=highcpu,instance-type=c6i.4xlarge,min=1,max=8,concurrency=4``."""
    queues = []
    for text in values or []:
        queue: dict[str, Any] = {}
        for part in text.split(","):
            key, sep, value = (p.strip() for p in part.partition("="))
            if not sep or key not in QUEUE_KEYS:
                raise CliError(f"--worker-queue {text!r}: {part.strip()!r} is not KEY=VALUE with "
                               f"KEY one of {', '.join(QUEUE_KEYS)}")
            field = QUEUE_KEYS[key]
            if field in ("name", "instance_type"):
                queue[field] = value
            elif value.isdigit():
                queue[field] = int(value)
            else:
                raise CliError(f"--worker-queue {text!r}: {key} must be a whole number, "
                               f"not {value!r}")
        if not queue.get("name"):
            raise CliError(f"--worker-queue {text!r}: name is missing; start with name=QUEUE")
        queues.append(queue)
    return queues


def _queue_text(queue: dict[str, Any]) -> str:
    pinned = f" on {queue['instance_type']}" if queue.get("instance_type") else ""
    return (f"{queue['name']}: {queue['min_workers']}-{queue['max_workers']} workers{pinned}, "
            f"{queue['tasks_per_worker']} tasks each")


def _readable(data: dict[str, Any]) -> dict[str, Any]:
    queues = data.get("worker_queues") or [data["worker_queue"]]
    return {
        **data,
        "scheduler": f"{data['scheduler_count']} x {data['scheduler_size']}",
        "workers": "; ".join(_queue_text(queue) for queue in queues),
        "environment_keys": ", ".join(sorted(data["environment"])) or "-",
        "secret_keys": ", ".join(data["secret_environment_keys"]) or "-",
        "last_error": data.get("last_error") or "-",
        "airflow_url": data.get("airflow_url") or "-",
        "sleep": _sleep_text(data),
        "kind": "development" if data.get("is_development") else "production",
        "schedule": _schedule_text(data.get("hibernation_schedule")),
        "cost_note": "\n".join(cost_lines(data.get("cost"))),
    }


def _schedule_text(plan: dict[str, Any] | None) -> str:
    if not plan:
        return "-"
    return (f"asleep {plan['hibernate_at']}, awake {plan['wake_at']} ({plan['timezone']}); "
            f"next: {plan['next_change']} at {plan['next_change_at']}")


def _sleep_text(data: dict[str, Any]) -> str:
    if not data.get("hibernated"):
        return "-"
    wake = f"wakes at {data['wake_at']}" if data.get("wake_at") else "until woken up"
    return f"asked, {wake}; wake it now with `flightdeck deployment wake-up {data['name']}`"


def _until(text: str) -> str:
    """``--until``: ISO 8601; without a time zone it is this machine's local time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"--until {text!r}: not a time; give ISO 8601, e.g. 2026-12-02T08:00 (local time) "
            "or 2026-12-02T07:00Z"
        ) from None
    return (moment if moment.tzinfo else moment.astimezone()).isoformat()


def _wait_for_phase(cli: Any, data: dict[str, Any], phases: tuple[str, ...], timeout: float,
                    echo: Any) -> dict[str, Any]:
    deadline, last = time.monotonic() + timeout, None
    while True:
        message = data["phase"] + (f": {data['health_message']}" if data["health_message"] else "")
        if message != last and echo is not None:
            echo(message)
            last = message
        if data["phase"] in phases:
            return data
        if time.monotonic() > deadline:
            raise CliError(
                f"deployment {data['name']} is still {data['phase']} after {timeout:.0f}s; "
                f"check it with `flightdeck deployment get {data['name']}`"
            )
        time.sleep(1.0)
        data = cli.client.get(cli.org_path(f"/deployments/{data['id']}"))


def wait_until_settled(client: Any, org_path: str, deployment_id: str, timeout: float,
                       echo: Any = None) -> dict[str, Any]:
    """Poll until Healthy or Unhealthy after creation; prints phase changes.

    ``client`` is an ApiClient and ``org_path`` the organization's API path (the quickstart
    calls this with its own client)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        data: dict[str, Any] = client.get(f"{org_path}/deployments/{deployment_id}")
        settled = data["observed_generation"] >= data["generation"]
        message = data["phase"] + (f": {data['health_message']}" if data["health_message"] else "")
        if message != last and echo is not None:
            echo(message)
            last = message
        if settled and data["phase"] in ("Healthy", "Unhealthy", "Deleted"):
            return data
        if time.monotonic() > deadline:
            raise CliError(
                f"deployment {data['name']} is still {data['phase']} after {timeout:.0f}s; "
                f"check it with `flightdeck deployment get {data['name']}`"
            )
        time.sleep(1.0)


WORKER_QUEUE = Annotated[list[str] | None, typer.Option("--worker-queue", help=QUEUE_HELP)]


@app.command()
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Deployment name.")],
    workspace: WORKSPACE,
    cluster: Annotated[str, typer.Option("--cluster", help="An Active cluster's name or id.")],
    airflow_version: Annotated[str | None, typer.Option(
        help="Airflow version, e.g. 3.1.0 [default: flightdeck's current default].")] = None,
    executor: EXECUTOR = None,
    scheduler_size: SIZE = None,
    scheduler_count: Annotated[int, typer.Option(
        help=f"Number of schedulers (1-{deployment.MAX_SCHEDULERS}).")] =
        deployment.DEFAULT_SCHEDULER_COUNT,
    min_workers: Annotated[int, typer.Option(help="Default queue: minimum workers.")] =
        deployment.DEFAULT_MIN_WORKERS,
    max_workers: Annotated[int, typer.Option(
        help=f"Default queue: maximum workers (at most {deployment.MAX_WORKERS}).")] =
        deployment.DEFAULT_MAX_WORKERS,
    tasks_per_worker: Annotated[int, typer.Option(help="Concurrent tasks per worker.")] =
        deployment.DEFAULT_TASKS_PER_WORKER,
    worker_queue: WORKER_QUEUE = None,
    env: ENV = None,
    secret_env: SECRET_ENV = None,
    development: Annotated[bool, typer.Option(
        "--development", help="A development Deployment (it may hibernate on a schedule).")] =
        False,
    wait: WAIT = False,
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits.")] = 900.0,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Create a Deployment on an Active cluster; the worker starts Airflow for it."""
    from flightdeck.cli.output import print_json, success

    body: dict[str, Any] = {
        "name": name, "workspace": workspace, "cluster": cluster,
        "airflow_version": airflow_version,
        "executor": executor or deployment.DEFAULT_EXECUTOR,
        "scheduler_size": scheduler_size or deployment.DEFAULT_SCHEDULER_SIZE,
        "scheduler_count": scheduler_count,
        "min_workers": min_workers, "max_workers": max_workers,
        "tasks_per_worker": tasks_per_worker,
        "worker_queues": parse_queues(worker_queue),
        "environment": parse_env(env, "--env"),
        "secret_environment": parse_env(secret_env, "--secret-env"),
        "is_development": development,
    }
    cli = invocation(ctx, org, json_output)
    data = cli.client.post(cli.org_path("/deployments"), json=body)
    if wait:
        data = wait_until_settled(cli.client, cli.org_path(), data["id"], timeout,
                                  echo=None if cli.json_output else typer.echo)
    if cli.json_output:
        print_json(data)
    else:
        success(f"deployment {data['name']} {'is ' + data['phase'] if wait else 'requested'} "
                f"({data['id']}); see `flightdeck deployment get {data['name']}`")
    if wait and data["phase"] != "Healthy":
        raise typer.Exit(1)


@app.command("list")
def list_(
    ctx: typer.Context,
    workspace: WORKSPACE = None,
    show_all: Annotated[bool, typer.Option(
        "--all", help="Include Deleted Deployments (their names may be in use again).")] = False,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """List the live Deployments you can see (with --workspace, only that workspace's)."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, org, json_output)
    params: dict[str, Any] = {"workspace": workspace} if workspace else {}
    if show_all:
        params["all"] = "true"
    rows = cli.client.get(cli.org_path("/deployments"), params=params or None)
    if cli.json_output:
        print_json(rows)
    else:
        print_table(rows, [("name", "NAME"), ("phase", "PHASE"), ("airflow_version", "AIRFLOW"),
                           ("executor", "EXECUTOR"), ("running_executor", "RUNS"),
                           ("airflow_url", "URL"), ("id", "ID")],
                    empty="No Deployment yet; create one with `flightdeck deployment create`.")


@app.command()
def get(
    ctx: typer.Context, deployment: DEPLOYMENT, org: ORG = None, json_output: JSON = False
) -> None:
    """Show a Deployment: phase, health, Airflow URL, spec (secret values are never shown)."""
    from flightdeck.cli.output import print_fields, print_json

    cli = invocation(ctx, org, json_output)
    data = cli.client.get(cli.org_path(f"/deployments/{deployment}"))
    if cli.json_output:
        print_json(data)
    else:
        print_fields(_readable(data), FIELDS)


@app.command()
def events(
    ctx: typer.Context, deployment: DEPLOYMENT, org: ORG = None, json_output: JSON = False
) -> None:
    """Show the Deployment's timeline, newest first: created, changed, phases, Airflow
    started again (after a control plane restart or a crash), deploys, deletion."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, org, json_output)
    rows = cli.client.get(cli.org_path(f"/deployments/{deployment}/events"))
    if cli.json_output:
        print_json(rows)
    elif not rows:
        typer.echo("No events yet: the worker has not reached this Deployment.")
    else:
        print_table(rows, [("created_at", "WHEN"), ("kind", "WHAT"), ("message", "DETAIL")])


@app.command("airflow-login")
def airflow_login(
    ctx: typer.Context, deployment: DEPLOYMENT, org: ORG = None, json_output: JSON = False
) -> None:
    """Print the Deployment's Airflow URL and how to sign in to it (on the local runtime,
    its generated login). For its workspace's Admins and Organization Owners; audited."""
    from flightdeck.cli.output import print_fields, print_json

    cli = invocation(ctx, org, json_output)
    data = cli.client.post(cli.org_path(f"/deployments/{deployment}/airflow-login"))
    if cli.json_output:
        print_json(data)
    else:
        print_fields(data, [("url", "Airflow URL"), ("username", "Username"),
                            ("password", "Password")])


COMPONENT = Annotated[str | None, typer.Option(
    "--component", "-c", help=f"Only this component: {', '.join(deployment.LOG_COMPONENTS)}.")]


@app.command()
def logs(
    ctx: typer.Context,
    deployment: DEPLOYMENT,
    component: COMPONENT = None,
    since: Annotated[str | None, typer.Option(
        help="Only lines this recent, e.g. 30s, 10m, 2h, 1d.")] = None,
    tail: Annotated[int, typer.Option(
        help=f"At most this many lines (1-{deployment.MAX_LOG_LINES}).")] =
        deployment.DEFAULT_LOG_LINES,
    follow: Annotated[bool, typer.Option(
        "--follow", "-f", help="Keep printing new lines until interrupted.")] = False,
    poll: Annotated[float, typer.Option(help="Seconds between reads with --follow.",
                                        hidden=True)] = 2.0,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Print the Deployment's component logs (scheduler, api-server, dag-processor,
    triggerer; worker on the kubernetes runtime), oldest first, its secret values masked as
    ***: from this host's Airflow processes, or the pods on Kubernetes. With --follow and
    --json, one JSON object per line."""
    import json

    from flightdeck.cli.output import print_json

    cli = invocation(ctx, org, json_output)
    path = cli.org_path(f"/deployments/{deployment}/logs")
    params: dict[str, Any] = {"tail": tail}
    if component:
        params["component"] = component
    if since:
        params["since"] = since
    while True:
        data = cli.client.get(path, params=params)
        if cli.json_output and not follow:
            print_json(data)
        elif cli.json_output:
            for line in data["lines"]:
                typer.echo(json.dumps(line), nl=True)
        else:
            for line in data["lines"]:
                typer.echo(f"{line['component']} | {line['line']}")
        if not follow:
            return
        params = {key: value for key, value in params.items() if key != "since"}
        params["after"] = data["cursor"]
        time.sleep(poll)


@app.command()
def deploys(
    ctx: typer.Context, deployment: DEPLOYMENT, org: ORG = None, json_output: JSON = False
) -> None:
    """A Deployment's deploys (`flightdeck deploy`), newest first."""
    from flightdeck.cli.output import print_json, print_table

    cli = invocation(ctx, org, json_output)
    rows = cli.client.get(cli.org_path(f"/deployments/{deployment}/deploys"))
    if cli.json_output:
        print_json(rows)
    else:
        print_table(rows, [("created_at", "WHEN"), ("id", "DEPLOY"), ("kind", "KIND"),
                           ("status", "STATUS"), ("description", "DESCRIPTION"),
                           ("message", "MESSAGE")],
                    empty="No deploy yet; ship your project's code with `flightdeck deploy`.")


@app.command()
def manifests(
    ctx: typer.Context, deployment: DEPLOYMENT, org: ORG = None, json_output: JSON = False
) -> None:
    """Print the Helm values and Kubernetes objects the kubernetes runtime applies for this
    Deployment (secret values redacted); reads no cluster."""
    import yaml

    from flightdeck.cli.output import print_json

    cli = invocation(ctx, org, json_output)
    data = cli.client.get(cli.org_path(f"/deployments/{deployment}/manifests"))
    if cli.json_output:
        print_json(data)
        return
    typer.echo("# Helm values (apache-airflow/airflow)")
    typer.echo(yaml.safe_dump(data["helm_values"], sort_keys=False).rstrip())
    for obj in data["objects"]:
        typer.echo("---")
        typer.echo(yaml.safe_dump(obj, sort_keys=False).rstrip())


@app.command()
def update(
    ctx: typer.Context,
    deployment: DEPLOYMENT,
    airflow_version: Annotated[str | None, typer.Option(help="New Airflow version.")] = None,
    executor: EXECUTOR = None,
    scheduler_size: SIZE = None,
    scheduler_count: Annotated[int | None, typer.Option(help="Number of schedulers.")] = None,
    min_workers: Annotated[int | None, typer.Option(help="Default queue: minimum.")] = None,
    max_workers: Annotated[int | None, typer.Option(help="Default queue: maximum.")] = None,
    tasks_per_worker: Annotated[int | None, typer.Option(help="Tasks per worker.")] = None,
    worker_queue: Annotated[list[str] | None, typer.Option(
        "--worker-queue", help=QUEUE_HELP + " Given: the further queues become exactly those "
        "given (a queue left out is removed; name=default alone removes them all).")] = None,
    env: Annotated[list[str] | None, typer.Option(
        "--env", "-e", help="Replace ALL plain variables with these KEY=VALUE (repeatable).")] =
        None,
    clear_env: Annotated[bool, typer.Option(help="Remove every plain variable.")] = False,
    secret_env: SECRET_ENV = None,
    remove_secret: Annotated[list[str] | None, typer.Option(
        "--remove-secret", help="Remove this secret variable (repeatable).")] = None,
    development: Annotated[bool | None, typer.Option(
        "--development/--production",
        help="Mark it development (may hibernate on a schedule) or production.")] = None,
    wait: WAIT = False,
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits.")] = 900.0,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Change a Deployment; only the options given change. The runtime restarts as needed."""
    from flightdeck.cli.output import print_json, success

    body: dict[str, Any] = {
        key: value for key, value in {
            "airflow_version": airflow_version, "executor": executor,
            "scheduler_size": scheduler_size, "scheduler_count": scheduler_count,
            "min_workers": min_workers, "max_workers": max_workers,
            "tasks_per_worker": tasks_per_worker,
        }.items() if value is not None
    }
    if worker_queue:
        body["worker_queues"] = parse_queues(worker_queue)
    if env is not None or clear_env:
        body["environment"] = parse_env(env, "--env")
    if secret_env:
        body["secret_environment"] = parse_env(secret_env, "--secret-env")
    if remove_secret:
        body["remove_secrets"] = list(remove_secret)
    if development is not None:
        body["is_development"] = development
    if not body:
        raise CliError("nothing to change; give at least one option (see --help)")
    cli = invocation(ctx, org, json_output)
    data = cli.client.patch(cli.org_path(f"/deployments/{deployment}"), json=body)
    if wait:
        data = wait_until_settled(cli.client, cli.org_path(), data["id"], timeout,
                                  echo=None if cli.json_output else typer.echo)
    if cli.json_output:
        print_json(data)
    else:
        success(f"deployment {data['name']} updated (generation {data['generation']})")
    if wait and data["phase"] != "Healthy":
        raise typer.Exit(1)


@app.command()
def hibernate(
    ctx: typer.Context,
    deployment: DEPLOYMENT,
    until: Annotated[str | None, typer.Option(
        "--until", help="Wake up at this time (ISO 8601; local time unless it names a zone).")] =
        None,
    for_: Annotated[str | None, typer.Option(
        "--for", help="Wake up after this long: 30m, 8h, 2d, 1h30m.")] = None,
    wait: Annotated[bool, typer.Option(
        "--wait", "-w", help="Wait until it is Hibernating.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits.")] = 300.0,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Stop a Deployment's Airflow to save its cost; its metadata database, runs,
    connections and code are kept. Without --until or --for it sleeps until `wake-up`."""
    from flightdeck.cli.output import print_json, success

    if until is not None and for_ is not None:
        raise CliError("give --until or --for, not both")
    body = {"until": _until(until) if until else None, "duration": for_}
    cli = invocation(ctx, org, json_output)
    data = cli.client.post(cli.org_path(f"/deployments/{deployment}/hibernate"), json=body)
    if wait:
        data = _wait_for_phase(cli, data, ("Hibernating",), timeout,
                               None if cli.json_output else typer.echo)
    if cli.json_output:
        print_json(data)
        return
    wake = f"wakes at {data['wake_at']}" if data.get("wake_at") else "sleeps until woken up"
    state = "is Hibernating" if wait else "hibernation requested"
    success(f"deployment {data['name']} {state}; it {wake} "
            f"(now: `flightdeck deployment wake-up {data['name']}`)")


@app.command("wake-up")
def wake_up(
    ctx: typer.Context,
    deployment: DEPLOYMENT,
    wait: Annotated[bool, typer.Option(
        "--wait", "-w", help="Wait until it is Healthy (exit 1 if Unhealthy).")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits.")] = 900.0,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Start a hibernating Deployment's Airflow again, with its runs and code."""
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, org, json_output)
    data = cli.client.post(cli.org_path(f"/deployments/{deployment}/wake-up"))
    if wait:
        data = _wait_for_phase(cli, data, ("Healthy", "Unhealthy"), timeout,
                               None if cli.json_output else typer.echo)
    if cli.json_output:
        print_json(data)
    else:
        success(f"deployment {data['name']} {'is ' + data['phase'] if wait else 'waking up'}")
    if wait and data["phase"] != "Healthy":
        raise typer.Exit(1)


@app.command()
def delete(
    ctx: typer.Context,
    deployment: DEPLOYMENT,
    yes: YES = False,
    wait: Annotated[bool, typer.Option("--wait", "-w", help="Wait until it is gone.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits.")] = 300.0,
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Delete a Deployment: its Airflow stops and its data is removed."""
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, org, json_output)
    data = cli.client.get(cli.org_path(f"/deployments/{deployment}"))
    if not yes:
        typer.confirm(f"Delete deployment {data['name']} and everything it runs?", abort=True)
    data = cli.client.delete(cli.org_path(f"/deployments/{data['id']}"))
    if wait:
        deadline = time.monotonic() + timeout
        while data["phase"] != "Deleted":
            if time.monotonic() > deadline:
                raise CliError(f"deployment {data['name']} is still {data['phase']}")
            time.sleep(1.0)
            data = cli.client.get(cli.org_path(f"/deployments/{data['id']}"))
    if cli.json_output:
        print_json(data)
    else:
        success(f"deployment {data['name']} {'deleted' if wait else 'deletion requested'}")


schedule_app = typer.Typer(
    no_args_is_help=True,
    help="A development Deployment's hibernation schedule: cron times to sleep and wake.",
)
app.add_typer(schedule_app, name="schedule")
CRON_HELP = "five cron fields (minute hour day month weekday), e.g. '0 20 * * 1-5'"


@schedule_app.command("set")
def schedule_set(
    ctx: typer.Context,
    deployment: DEPLOYMENT,
    hibernate_at: Annotated[str, typer.Option(
        "--hibernate-at", help=f"When it falls asleep: {CRON_HELP}.")],
    wake_at: Annotated[str, typer.Option(
        "--wake-at", help="When it wakes: five cron fields, e.g. '0 7 * * 1-5'.")],
    timezone: Annotated[str, typer.Option(
        "--timezone", help="IANA time zone the cron times are in, e.g. Europe/Paris.")],
    org: ORG = None,
    json_output: JSON = False,
) -> None:
    """Sleep and wake a development Deployment on a schedule, from its next change on. A
    wake-up (or hibernate) by hand lasts until the schedule's next change."""
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, org, json_output)
    body = {"hibernate_at": hibernate_at, "wake_at": wake_at, "timezone": timezone}
    data = cli.client.put(cli.org_path(f"/deployments/{deployment}/hibernation-schedule"),
                          json=body)
    if cli.json_output:
        print_json(data)
    else:
        success(f"deployment {data['name']}: {_schedule_text(data['hibernation_schedule'])}")


@schedule_app.command("clear")
def schedule_clear(ctx: typer.Context, deployment: DEPLOYMENT, org: ORG = None,
                   json_output: JSON = False) -> None:
    """Stop sleeping on a schedule; a sleep under way lasts until its wake time."""
    from flightdeck.cli.output import print_json, success

    cli = invocation(ctx, org, json_output)
    data = cli.client.delete(cli.org_path(f"/deployments/{deployment}/hibernation-schedule"))
    if cli.json_output:
        print_json(data)
    else:
        success(f"deployment {data['name']} has no hibernation schedule")


@schedule_app.command("show")
def schedule_show(ctx: typer.Context, deployment: DEPLOYMENT, org: ORG = None,
                  json_output: JSON = False) -> None:
    """The schedule and its next change (``null`` in --json when there is none)."""
    from flightdeck.cli.output import print_json

    cli = invocation(ctx, org, json_output)
    data = cli.client.get(cli.org_path(f"/deployments/{deployment}"))
    if cli.json_output:
        print_json(data.get("hibernation_schedule"))
    else:
        typer.echo(_schedule_text(data.get("hibernation_schedule")))
