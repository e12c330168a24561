"""The one place that builds boto3 sessions and clients.

Three identities (see DESIGN.md): the platform's default chain (``platform_session``), the
customer role assumed with the organization's ExternalId (``assumed_role_session``, credentials
re-assumed before they expire) and, on the customer's own machine only, their own credentials
(``customer_session``). Every client comes from ``client()`` so the endpoint (the emulator in
development and tests, real AWS otherwise) and the retry policy are decided here and nowhere
else. boto3 is imported lazily so CLI start-up stays fast.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flightdeck.config import get_settings

if TYPE_CHECKING:
    import boto3
    from botocore.client import BaseClient
    from botocore.config import Config

DEFAULT_REGION = "us-east-1"
# Standard mode retries throttling and 5xx with jittered backoff; bounded so a reconcile step
# hands a persistent throttle back to the worker loop (which retries later) instead of hanging.
MAX_ATTEMPTS = 5
CONNECT_TIMEOUT_SECONDS = 10
READ_TIMEOUT_SECONDS = 60
ASSUMED_ROLE_DURATION_SECONDS = 3600

# Creating boto3 sessions is not thread-safe (boto/boto3#1592); clients from one session are.
_session_lock = threading.RLock()


def endpoint_url() -> str | None:
    """Where AWS calls go: ``FLIGHTDECK_AWS_ENDPOINT_URL``, else None (boto3 then honours
    ``AWS_ENDPOINT_URL`` and a profile's ``endpoint_url`` itself)."""
    return get_settings().aws_endpoint_url or None


def client_config(**overrides: Any) -> Config:
    """The retry and timeout policy for every client."""
    from botocore.config import Config

    settings: dict[str, Any] = {
        "retries": {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "read_timeout": READ_TIMEOUT_SECONDS,
        "user_agent_extra": "flightdeck",
    }
    settings.update(overrides)
    return Config(**settings)


def _new_session(**kwargs: Any) -> boto3.Session:
    import boto3

    with _session_lock:
        return boto3.Session(**kwargs)


def platform_session(region: str | None = None) -> boto3.Session:
    """The control plane's own identity: boto3's default credential chain."""
    return _new_session(region_name=region)


def customer_session(
    profile: str | None = None,
    region: str | None = None,
    config_files: tuple[Path, Path] | None = None,
) -> boto3.Session:
    """A customer's own credentials, for CLI commands run on their machine (never the server).

    ``config_files`` (config, credentials) replaces ``~/.aws`` for this session only, e.g.
    the profile the embedded emulator writes. Raises ``botocore.exceptions.ProfileNotFound``
    for an unknown profile name.
    """
    if config_files is None:
        return _new_session(profile_name=profile, region_name=region)
    import botocore.session

    core = botocore.session.Session()
    core.set_config_variable("config_file", str(config_files[0]))
    core.set_config_variable("credentials_file", str(config_files[1]))
    return _new_session(profile_name=profile, region_name=region, botocore_session=core)


def client(session: boto3.Session, service: str, region: str | None = None, **config: Any) -> Any:
    """A client for ``service`` with flightdeck's endpoint and retry policy.

    ``config`` overrides single ``botocore.config.Config`` options (e.g. ``retries``).
    Returned as ``Any``: boto3 clients are generated at run time.
    """
    created: BaseClient = session.client(
        service,
        region_name=region or session.region_name or DEFAULT_REGION,
        endpoint_url=endpoint_url(),
        config=client_config(**config),
    )
    return created


def assumed_role_session(
    role_arn: str,
    external_id: str | None,
    session_name: str,
    base_session: boto3.Session | None = None,
    region: str | None = None,
    duration_seconds: int = ASSUMED_ROLE_DURATION_SECONDS,
) -> boto3.Session:
    """A session acting as ``role_arn``, whose credentials re-assume the role before expiry.

    The first AssumeRole happens here, so a wrong ExternalId or missing trust fails now
    (``botocore.exceptions.ClientError`` with ``AccessDenied``) rather than on first use.
    """
    import boto3
    import botocore.session
    from botocore.credentials import RefreshableCredentials

    base = base_session or platform_session()
    sts_region = region or base.region_name or DEFAULT_REGION

    def fetch() -> dict[str, str]:
        # A fresh STS client per refresh: the base session's own credentials may rotate too.
        parameters: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": session_name,
            "DurationSeconds": duration_seconds,
        }
        if external_id is not None:
            parameters["ExternalId"] = external_id
        credentials = client(base, "sts", sts_region).assume_role(**parameters)["Credentials"]
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": credentials["Expiration"].isoformat(),
        }

    refreshable = RefreshableCredentials.create_from_metadata(
        metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
    )
    with _session_lock:
        core = botocore.session.get_session()
        # botocore has no public setter for a session's credentials (boto/boto3#443).
        core._credentials = refreshable
        core.set_config_variable("region", region or base.region_name or DEFAULT_REGION)
        return boto3.Session(botocore_session=core)


@contextmanager
def record_calls(session: boto3.Session) -> Iterator[list[tuple[str, str]]]:
    """Record ``(signing name, operation)`` of every API call made through ``session``.

    The signing name is the IAM action prefix (``servicequotas``, ``ec2``), so each pair maps
    to a declared permission ``f"{service}:{operation}"``. Clients copy the session's event
    hooks when created: create them inside the ``with`` block.
    """
    calls: list[tuple[str, str]] = []
    active = True

    def on_call(model: Any, **_: Any) -> None:
        if active:
            calls.append((str(model.service_model.signing_name), str(model.name)))

    session.events.register("before-call", on_call)
    try:
        yield calls
    finally:
        active = False
        session.events.unregister("before-call", on_call)


def effective_endpoint_url() -> str | None:
    """The endpoint calls will reach when no profile overrides it; for display only."""
    return endpoint_url() or os.environ.get("AWS_ENDPOINT_URL")
