"""`flightdeck worker`: a reconcile worker process (production runs several)."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(
        once: Annotated[
            bool, typer.Option(help="Run one pass over due clusters, Deployments and role "
                                    "policies, and exit.")
        ] = False,
    ) -> None:
        """Reconcile clusters and Deployments, govern role policies, evaluate alert rules,
        deliver mail and alerts. Safe to run many: every cluster, Deployment and account is
        leased to one worker at a time, and each alert is recorded once."""
        import logging
        import signal
        import threading

        from flightdeck.aws.session import SessionFactory
        from flightdeck.cli.settings import load_settings
        from flightdeck.db.engine import make_engine, make_session_factory
        from flightdeck.db.migrate import upgrade
        from flightdeck.services.background import BackgroundWorkers
        from flightdeck.services.workers import build_workers

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        settings = load_settings()
        if settings.runtime == "local":
            from flightdeck.cli.server_cmd import customer_code_isolation

            typer.echo(f"customer code: {customer_code_isolation(settings)}", err=True)
        upgrade(settings.resolved_database_url)
        factory = make_session_factory(make_engine(settings.resolved_database_url))
        sessions = SessionFactory.from_settings(settings)
        if once:
            built = build_workers(factory, settings, sessions)
            count = built.clusters.run_once(limit=1000)
            deployments = built.deployments.run_once(limit=1000)
            accounts = built.governance.run_once()
            built.alerts.run_once(limit=1000)
            typer.echo(f"reconciled {count} cluster(s) and {deployments} Deployment(s); "
                       f"checked the role policy of {accounts} AWS account(s)", err=True)
            return
        workers = BackgroundWorkers(factory, settings, sessions).start()
        stopped = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopped.set())
        typer.echo(f"worker {workers.workers.worker_id} running; Ctrl-C to stop", err=True)
        stopped.wait()
        workers.stop()
