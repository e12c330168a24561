"""The embedded default's AWS: an in-process emulator the whole control plane points at.

The platform's identity becomes the emulator's platform account (a session factory holding
its keys and endpoint; the process environment is left alone), and a ``customer`` profile
(customer-admin credentials for the emulator's customer account) is written to files under
the data directory, so `flightdeck aws role create --profile customer` works.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from flightdeck.api.server_lock import ServerLock
from flightdeck.aws.session import SessionFactory, StaticCredentials
from flightdeck.config import Settings

if TYPE_CHECKING:
    from flightdeck.aws.emulator import RunningEmulator

log = logging.getLogger("flightdeck")

EMULATOR_STATE_DIR = "aws-emulator"


def emulator_state_dir(settings: Settings) -> Path:
    """Where the embedded emulator keeps every AWS resource between runs of the server."""
    return settings.data_dir / EMULATOR_STATE_DIR


def own_data_dir(settings: Settings) -> ServerLock:
    """Refuse a data directory another server runs on; only its owner writes the profile."""
    return ServerLock.take(settings.data_dir)


def start_owned_emulator(settings: Settings) -> tuple[RunningEmulator, Callable[[], None]]:
    """The data directory's emulator, started under the directory's lock; and how to stop both.

    `flightdeck server` takes the lock before anything else and releases it itself; an
    in-process server (the quickstart) takes it here and lets it go with the emulator.
    """
    from flightdeck.aws.emulator import start_emulator

    taken_here = not ServerLock.held_here(settings.data_dir)
    lock = own_data_dir(settings)

    def release() -> None:
        if taken_here:
            lock.release()

    try:
        emulator = start_emulator(state_dir=emulator_state_dir(settings))
    except BaseException:
        release()
        raise

    def stop() -> None:
        try:
            emulator.stop()
        finally:
            release()

    return emulator, stop


@contextmanager
def embedded_aws(settings: Settings) -> Iterator[tuple[Settings, SessionFactory]]:
    """The settings pointed at the data directory's emulator, and the factory acting as its
    platform."""
    from flightdeck.aws.emulator import write_aws_profile

    emulator, stop_emulator = start_owned_emulator(settings)
    aws_dir = settings.data_dir / "aws"
    aws_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # credentials: owner-only
    config_file, credentials_file = aws_dir / "config", aws_dir / "credentials"
    write_aws_profile(
        "customer",
        emulator.customer_credentials(),
        settings.aws_region,
        emulator.endpoint_url,
        config_file=config_file,
        credentials_file=credentials_file,
    )
    log.warning(
        "embedded AWS emulator on %s (platform account %s, customer account %s); "
        "customer profile: AWS_CONFIG_FILE=%s AWS_SHARED_CREDENTIALS_FILE=%s --profile customer",
        emulator.endpoint_url,
        emulator.platform_account_id,
        emulator.customer_account_id,
        config_file,
        credentials_file,
    )
    embedded = settings.model_copy(
        update={
            "aws_endpoint_url": emulator.endpoint_url,
            "platform_account_id": emulator.platform_account_id,
            "max_requeue_seconds": settings.max_requeue_seconds or 2.0,
        }
    )
    platform = emulator.platform_credentials()
    sessions = SessionFactory.from_settings(
        embedded,
        credentials=StaticCredentials(
            platform.access_key_id, platform.secret_access_key, platform.session_token
        ),
    )
    try:
        yield embedded, sessions
    finally:
        stop_emulator()
