"""The embedded default's AWS: a factory holding the emulator's endpoint and platform keys,
with the process environment left as it was."""

from __future__ import annotations

import os
from pathlib import Path

from flightdeck.api.embedded import embedded_aws
from flightdeck.aws import session as aws
from flightdeck.config import Settings


def aws_environment() -> dict[str, str]:
    """What boto3 and flightdeck read (moto's own switches are the emulator's business)."""
    return {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "FLIGHTDECK_"))}


def test_embedded_aws_gives_a_factory_and_leaves_the_environment_alone(tmp_path: Path) -> None:
    before = aws_environment()
    settings = Settings(data_dir=tmp_path / "data")
    with embedded_aws(settings) as (embedded, sessions):
        assert aws_environment() == before
        assert embedded.aws_endpoint_url and embedded.aws_endpoint_url.startswith("http://127.")
        assert sessions.endpoint_url == embedded.aws_endpoint_url
        assert sessions.platform_account_id() == embedded.platform_account_id
        customer = aws.customer_session(
            "customer",
            config_files=(tmp_path / "data" / "aws" / "config",
                          tmp_path / "data" / "aws" / "credentials"),
        )
        customer_account = aws.client(customer, "sts").get_caller_identity()["Account"]
        assert customer_account != embedded.platform_account_id
    assert aws_environment() == before
    assert settings.aws_endpoint_url is None  # the caller's settings are not changed
