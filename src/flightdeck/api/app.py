"""The control plane's FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager

from fastapi import APIRouter, FastAPI

from flightdeck import __version__
from flightdeck.api.embedded import embedded_aws
from flightdeck.api.errors import install_error_handlers
from flightdeck.api.local_deployments import local_deployments_follow_server
from flightdeck.api.routes import (
    alerts,
    auth,
    aws_accounts,
    cli_login,
    clusters,
    deployment_config,
    deployments,
    notifications,
    organizations,
    policy_changes,
    reference,
    sso,
    tokens,
    workspaces,
)
from flightdeck.api.security_headers import SecurityHeadersMiddleware
from flightdeck.aws.session import SessionFactory
from flightdeck.config import Settings, get_settings, secure_data_dir
from flightdeck.console import mount_console
from flightdeck.db.engine import make_engine, make_session_factory
from flightdeck.db.migrate import upgrade

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with ExitStack() as stack:
            if settings.embedded_emulator and not settings.aws_endpoint_url:
                app.state.settings, app.state.aws = stack.enter_context(embedded_aws(settings))
            # Stopped after the workers (exit order), before the emulator.
            stack.enter_context(
                local_deployments_follow_server(app.state.settings, app.state.session_factory)
            )
            if settings.run_worker_in_server:
                from flightdeck.services.background import BackgroundWorkers

                workers = BackgroundWorkers(
                    app.state.session_factory, app.state.settings, app.state.aws
                )
                stack.callback(workers.stop)
                workers.start()
            yield
        app.state.engine.dispose()

    secure_data_dir(settings.data_dir)
    if migrate:
        upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)

    app = FastAPI(
        title="flightdeck",
        version=__version__,
        openapi_url="/openapi.json",
        docs_url=None,  # the console serves /docs and /redoc from local assets
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    # The one AWS session factory of the process (replaced by the emulator's when embedded).
    app.state.aws = SessionFactory.from_settings(settings)
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    install_error_handlers(app)
    app.add_middleware(SecurityHeadersMiddleware, production=settings.mode == "production")

    api = APIRouter(prefix=API_PREFIX)
    for module in (
        auth,
        tokens,
        organizations,
        workspaces,
        aws_accounts,
        policy_changes,
        clusters,
        deployments,
        deployment_config,
        notifications,
        alerts,
        reference,
        sso,
        cli_login,
    ):
        api.include_router(module.router)
    app.include_router(api)

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    mount_console(app)
    return app
