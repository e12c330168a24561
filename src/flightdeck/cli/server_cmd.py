"""`flightdeck server`: run the control plane."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from flightdeck.cli.errors import CliError

if TYPE_CHECKING:
    import socket

    from flightdeck.api.server_lock import ServerLock
    from flightdeck.config import Settings


def register(app: typer.Typer) -> None:
    @app.command()
    def server(
        host: Annotated[
            str | None,
            typer.Option(help="Interface to bind [env FLIGHTDECK_HOST, default 127.0.0.1]."),
        ] = None,
        port: Annotated[
            int | None,
            typer.Option(
                help="Port; 0 takes any free one, named in the banner "
                "[env FLIGHTDECK_PORT, default 8765; Airflow keeps 8080]."
            ),
        ] = None,
    ) -> None:
        """Run the control plane: upgrade the database, then serve the API."""
        import uvicorn

        from flightdeck.api.app import create_app
        from flightdeck.cli.settings import load_settings
        from flightdeck.config import secret_key_file_deferred

        with secret_key_file_deferred():
            settings = load_settings()
        updates = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
        settings = settings.model_copy(update=updates)
        isolation = customer_code_isolation(settings) if settings.runtime == "local" else None
        settings, lock, listener = _claim(settings)
        try:
            if isolation is not None:
                typer.echo(f"customer code: {isolation}", err=True)
            typer.echo(
                f"flightdeck control plane on http://{settings.host}:{settings.port} "
                f"(database: {_describe_db(settings.resolved_database_url)})",
                err=True,
            )
            if hint := _cli_hint(settings):
                typer.echo(hint, err=True)
            config = uvicorn.Config(
                create_app(settings), log_level="info", access_log=False, lifespan="on"
            )
            uvicorn.Server(config).run(sockets=[listener])
        finally:
            listener.close()
            lock.release()


def _claim(settings: Settings) -> tuple[Settings, ServerLock, socket.socket]:
    """The listening socket, then the data directory's lock, before anything is written.

    The settings come back with the port really bound (``--port 0`` asks for any), so the
    lock, the banner and the links in mail name it.

    A second server on the same data directory, a port in use, a damaged emulator state:
    each stops here with one line, and the running server (if any) is left untouched.
    """
    from flightdeck.api.embedded import emulator_state_dir, own_data_dir
    from flightdeck.api.server_lock import ServerLock, ServerLockError
    from flightdeck.aws.emulator import EmulatorStateError
    from flightdeck.aws.emulator.persistence import check_state_dir
    from flightdeck.sockets import listen

    try:
        listener = listen(settings.host, settings.port)
    except OSError as exc:
        holder = ServerLock.holder(settings.data_dir)
        if holder is not None:
            raise CliError(str(ServerLock.refusal(settings.data_dir, holder))) from exc
        raise CliError(
            f"cannot listen on {settings.host}:{settings.port} ({exc.strerror or exc}); stop "
            "what uses it, or choose another port with --port or FLIGHTDECK_PORT (0: any free one)"
        ) from exc
    settings = settings.model_copy(update={"port": listener.getsockname()[1]})
    try:
        lock = own_data_dir(settings)
    except ServerLockError as exc:
        listener.close()
        raise CliError(str(exc)) from exc
    try:
        if settings.embedded_emulator and not settings.aws_endpoint_url:
            check_state_dir(emulator_state_dir(settings))
    except EmulatorStateError as exc:
        listener.close()
        lock.release()
        raise CliError(str(exc)) from exc
    try:
        settings.save_secret_key()
    except ValueError as exc:
        listener.close()
        lock.release()
        raise CliError(str(exc)) from exc
    lock.announce(f"http://{settings.host}:{settings.port}")
    return settings, lock, listener


def _cli_hint(settings: Settings) -> str | None:
    """How to point the CLI here when this is not the URL it talks to by default, so the
    README's next `flightdeck signup` does not reach another server (or none)."""
    from flightdeck.cli.credentials import DEFAULT_URL

    url = f"http://{settings.host}:{settings.port}"
    if url == DEFAULT_URL:
        return None
    return (
        f"the CLI talks to the URL it remembers, else {DEFAULT_URL}: give `--url {url}` to "
        f"`flightdeck signup` or `login` (remembered), or export FLIGHTDECK_URL={url}"
    )


def customer_code_isolation(settings: Settings) -> str:
    """How the local runtime confines customer code, chosen once at start; production mode
    refuses to run it unconfined."""
    from flightdeck.cli.errors import CliError
    from flightdeck.devenv.sandbox import DESCRIPTIONS, NETWORK_DESCRIPTIONS, Isolation, available

    isolation = available()
    if settings.mode == "production" and isolation is Isolation.SINGLE_TENANT:
        raise CliError(
            "FLIGHTDECK_RUNTIME=local needs a sandbox for customer code in production, and "
            "bubblewrap cannot run here; install it (apt-get install bubblewrap) or use "
            "FLIGHTDECK_RUNTIME=kubernetes"
        )
    if isolation is Isolation.SINGLE_TENANT:
        return DESCRIPTIONS[isolation]
    network = settings.sandbox_network
    return (
        f"{isolation.value} ({DESCRIPTIONS[isolation]}); "
        f"network {network.value} ({NETWORK_DESCRIPTIONS[network]})"
    )


def _describe_db(url: str) -> str:
    """The database URL without credentials, for the start-up line."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
