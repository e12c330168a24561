"""`flightdeck quickstart`: see the whole product work on this machine in minutes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def quickstart(
        exit_after: Annotated[bool, typer.Option(
            "--exit", help="Stop once the DAG run succeeded (exit 0) or at the first failure "
                           "(exit 1, naming the step); default: stay up until Ctrl-C.")] = False,
        data_dir: Annotated[Path | None, typer.Option(
            help="Where the run keeps its state; wiped at the start "
                 "[default: ~/.flightdeck/quickstart].")] = None,
        port: Annotated[int, typer.Option(
            help="Control-plane port (a free one is used if it is taken).")] = 8765,
        airflow_version: Annotated[str | None, typer.Option(
            help="Airflow version of the Deployment [default: flightdeck's default].")] = None,
        timeout: Annotated[float, typer.Option(help="Seconds any one step may take.")] = 900.0,
        timings: Annotated[Path | None, typer.Option(
            help="Also write each step's wall time to this JSON file.")] = None,
    ) -> None:
        """Sign up, create the role as the customer, verify, preflight, provision a cluster,
        run a Deployment, deploy the example project and run its secrets DAG — narrated."""
        import threading

        from flightdeck.airflow_versions import DEFAULT_AIRFLOW_VERSION
        from flightdeck.cli.quickstart import Quickstart, QuickstartFailed, free_port

        root = data_dir or Path.home() / ".flightdeck" / "quickstart"
        run = Quickstart(root.resolve(), free_port(port), airflow_version or
                         DEFAULT_AIRFLOW_VERSION, say=typer.echo, timeout=timeout)
        try:
            outcome = run.run()
        except QuickstartFailed as exc:
            typer.echo(f"\nquickstart failed at step {exc.step!r}: {exc.reason}", err=True)
            run.shutdown()
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            run.shutdown()
            raise typer.Exit(130) from None
        except BaseException:
            run.shutdown()
            raise
        if timings is not None:
            timings.write_text(json.dumps(
                [{"step": step, "seconds": round(seconds, 3)}
                 for step, seconds in outcome.timings], indent=2))
        total = sum(seconds for _, seconds in outcome.timings)
        typer.echo(f"""
Success: a DAG run succeeded on a Deployment of a cluster flightdeck provisioned itself
({total:.0f}s in all).

  Web console    {outcome.control_plane_url}/   (the control plane; API docs at /docs)
                 login: {outcome.owner_email} / {outcome.owner_password}
  Airflow        {outcome.airflow_url}
                 login: {outcome.airflow_username} / {outcome.airflow_password}
  DAG run        {outcome.dag_run_id} of secrets_example (secret values appear as *** in logs)
  CLI            FLIGHTDECK_URL={outcome.control_plane_url} flightdeck login --email \
{outcome.owner_email}
""")
        if exit_after:
            run.shutdown()
            return
        typer.echo("Everything stays up until Ctrl-C.")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            run.shutdown()
