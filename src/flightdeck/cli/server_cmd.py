"""`flightdeck server`: run the control plane."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
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
            typer.Option(help="Port [env FLIGHTDECK_PORT, default 8765; Airflow keeps 8080]."),
        ] = None,
    ) -> None:
        """Run the control plane: upgrade the database, then serve the API."""
        import uvicorn

        from flightdeck.api.app import create_app
        from flightdeck.cli.settings import load_settings

        settings = load_settings()
        updates = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
        settings = settings.model_copy(update=updates)
        if settings.runtime == "local":
            typer.echo(f"customer code: {customer_code_isolation(settings)}", err=True)
        typer.echo(
            f"flightdeck control plane on http://{settings.host}:{settings.port} "
            f"(database: {_describe_db(settings.resolved_database_url)})",
            err=True,
        )
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level="info",
            access_log=False,
        )


def customer_code_isolation(settings: Settings) -> str:
    """How the local runtime confines customer code, chosen once at start; production mode
    refuses to run it unconfined."""
    from flightdeck.cli.errors import CliError
    from flightdeck.devenv.sandbox import DESCRIPTIONS, Isolation, available

    isolation = available()
    if settings.mode == "production" and isolation is Isolation.SINGLE_TENANT:
        raise CliError(
            "FLIGHTDECK_RUNTIME=local needs a sandbox for customer code in production, and "
            "bubblewrap cannot run here; install it (apt-get install bubblewrap) or use "
            "FLIGHTDECK_RUNTIME=kubernetes"
        )
    if isolation is Isolation.SINGLE_TENANT:
        return DESCRIPTIONS[isolation]
    return f"{isolation.value} ({DESCRIPTIONS[isolation]})"


def _describe_db(url: str) -> str:
    """The database URL without credentials, for the start-up line."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
