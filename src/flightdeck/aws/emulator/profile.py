"""Write an AWS CLI / boto3 named profile that points at the emulator.

The profile carries ``endpoint_url`` (honoured by boto3 ≥ 1.28 and AWS CLI v2), so a customer
command run with ``--profile`` reaches the emulator without any flightdeck-specific setting.
"""

from __future__ import annotations

import configparser
import io
import os
from pathlib import Path

from flightdeck.aws.emulator.accounts import AwsCredentials
from flightdeck.aws.emulator.statefiles import atomic_write


def _update(path: Path, section: str, values: dict[str, str]) -> None:
    parser = configparser.RawConfigParser()
    if path.exists():
        parser.read(path)
    if parser.has_section(section):
        parser.remove_section(section)
    parser.add_section(section)
    for key, value in values.items():
        parser.set(section, key, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = io.StringIO()
    parser.write(text)
    # Atomic: a customer command reading the file meanwhile sees the old or the new profile.
    atomic_write(path, [text.getvalue().encode()], mode=0o600)


def write_aws_profile(
    profile_name: str,
    creds: AwsCredentials,
    region: str,
    endpoint_url: str | None,
    config_file: Path | None = None,
    credentials_file: Path | None = None,
) -> None:
    """Add or replace ``profile_name`` in the AWS config and credentials files.

    Files default to ``AWS_CONFIG_FILE`` / ``AWS_SHARED_CREDENTIALS_FILE``, else ``~/.aws``.
    """
    home = Path.home() / ".aws"
    config_path = config_file or Path(os.environ.get("AWS_CONFIG_FILE", home / "config"))
    credentials_path = credentials_file or Path(
        os.environ.get("AWS_SHARED_CREDENTIALS_FILE", home / "credentials")
    )
    config_values = {"region": region}
    if endpoint_url:
        config_values["endpoint_url"] = endpoint_url
    section = "default" if profile_name == "default" else f"profile {profile_name}"
    _update(config_path, section, config_values)
    secret_values = {
        "aws_access_key_id": creds.access_key_id,
        "aws_secret_access_key": creds.secret_access_key,
    }
    if creds.session_token:
        secret_values["aws_session_token"] = creds.session_token
    _update(credentials_path, profile_name, secret_values)
