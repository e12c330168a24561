"""``flightdeck emulator``: run the AWS emulator in the foreground for local development.

The control plane, the AWS CLI and any boto3 program reach it through an endpoint URL and the
printed credentials; nothing in them knows it is not AWS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

PLATFORM_PROFILE = "flightdeck-emulator-platform"
CUSTOMER_PROFILE = "flightdeck-emulator-customer"


def register(parent: typer.Typer) -> None:
    # A single command, not a group: its usage promises no COMMAND it does not have.
    parent.command("emulator")(run)


def run(
    host: Annotated[
        str, typer.Option(envvar="FLIGHTDECK_EMULATOR_HOST", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(envvar="FLIGHTDECK_EMULATOR_PORT", help="Port to listen on.")
    ] = 8766,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a non-loopback address. The emulator accepts any credentials.",
        ),
    ] = False,
    platform_account: Annotated[
        str, typer.Option(help="Account id of the platform (the control plane's own).")
    ] = "111111111111",
    customer_account: Annotated[
        list[str] | None,
        typer.Option(help="Account id of a customer; repeat for several. Default 222222222222."),
    ] = None,
    write_profiles: Annotated[
        bool,
        typer.Option(
            "--write-profiles",
            help=f"Write AWS profiles {PLATFORM_PROFILE} and {CUSTOMER_PROFILE} "
            "(AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE, else ~/.aws).",
        ),
    ] = False,
    log_requests: Annotated[
        bool, typer.Option("--log-requests", help="Print one line per request.")
    ] = False,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            envvar="FLIGHTDECK_EMULATOR_STATE_DIR",
            help="Keep every AWS resource in this directory across restarts "
            "(default: in memory only, lost at exit).",
        ),
    ] = None,
) -> None:
    """Run the local AWS emulator (moto plus EC2 quotas and region opt-in) until Ctrl-C."""
    import signal
    import threading

    from flightdeck.aws.emulator import (
        DEFAULT_CUSTOMER_ACCOUNT_IDS,
        EmulatorStateError,
        is_loopback,
        start_emulator,
        write_aws_profile,
    )
    from flightdeck.cli.errors import CliError

    if not allow_remote and not is_loopback(host):
        raise CliError(
            f"refusing to listen on {host}: the emulator accepts any credentials. "
            "Use --host 127.0.0.1, or add --allow-remote if you really mean it."
        )
    customers = tuple(customer_account or DEFAULT_CUSTOMER_ACCOUNT_IDS)
    try:
        emulator = start_emulator(
            host,
            port,
            platform_account_id=platform_account,
            customer_account_ids=customers,
            allow_remote=allow_remote,
            log_requests=log_requests,
            state_dir=state_dir,
        )
    except EmulatorStateError as exc:
        raise CliError(str(exc)) from exc
    except OSError as exc:
        raise CliError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}). "
            "Pick another port with --port, or stop what is using it."
        ) from exc
    except (ValueError, RuntimeError) as exc:
        raise CliError(str(exc)) from exc

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        platform = emulator.platform_credentials()
        customer = emulator.customer_credentials()
        url = emulator.endpoint_url
        echo = typer.echo
        echo(f"AWS emulator listening on {url}")
        echo(f"  platform account:  {emulator.platform_account_id}")
        echo(f"  customer accounts: {', '.join(emulator.customer_account_ids)}")
        if emulator.store is not None:
            echo(
                f"  state:             {emulator.store.directory} (restored in "
                f"{emulator.store.startup_seconds:.1f} s, {emulator.store.restored_records} "
                "journaled requests replayed)"
            )
        else:
            echo("  state:             in memory only (--state-dir keeps it)")
        echo("")
        echo("Point the control plane (boto3 default chain) at it:")
        echo(f"  export FLIGHTDECK_AWS_ENDPOINT_URL={url} AWS_ENDPOINT_URL={url}")
        echo(f"  export AWS_ACCESS_KEY_ID={platform.access_key_id}")
        echo(f"  export AWS_SECRET_ACCESS_KEY={platform.secret_access_key}")
        echo("  export AWS_DEFAULT_REGION=us-east-1")
        echo(
            f"Customer admin keys for {emulator.customer_account_id}: {customer.access_key_id} / "
            f"{customer.secret_access_key}"
        )
        echo("(Emulator keys only; they mean nothing to real AWS.)")
        if write_profiles:
            write_aws_profile(PLATFORM_PROFILE, platform, "us-east-1", url)
            write_aws_profile(CUSTOMER_PROFILE, customer, "us-east-1", url)
            echo(f"Wrote AWS profiles {PLATFORM_PROFILE} and {CUSTOMER_PROFILE}, e.g.:")
            echo(f"  aws --profile {CUSTOMER_PROFILE} sts get-caller-identity")
        echo(
            f"Control endpoints: {url}/_flightdeck/health is open; the others and moto's "
            f"/moto-api/ need the header X-Flightdeck-Control: {emulator.control_token} "
            "(see docs/emulator.md)"
        )
        echo("Press Ctrl-C to stop.")
        while not stop.wait(timeout=1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        typer.echo("AWS emulator stopped.")
