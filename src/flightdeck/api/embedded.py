"""The embedded default's AWS: an in-process emulator the whole control plane points at.

The platform's identity becomes the emulator's platform account (a session factory holding
its keys and endpoint; the process environment is left alone), and a ``customer`` profile
(customer-admin credentials for the emulator's customer account) is written to files under
the data directory, so `flightdeck aws role create --profile customer` works.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from flightdeck.aws.session import SessionFactory, StaticCredentials
from flightdeck.config import Settings

log = logging.getLogger("flightdeck")


@contextmanager
def embedded_aws(settings: Settings) -> Iterator[tuple[Settings, SessionFactory]]:
    """The settings pointed at a fresh emulator, and the factory acting as its platform."""
    from flightdeck.aws.emulator import start_emulator, write_aws_profile

    emulator = start_emulator()
    aws_dir = settings.data_dir / "aws"
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
        emulator.stop()
