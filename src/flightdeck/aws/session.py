"""The one place that builds boto3 sessions and clients.

A :class:`SessionFactory` is built once per process from the settings at start-up (endpoint,
the platform's credentials or profile, region, retry policy) and passed to everything that
calls AWS: the cluster engine bridge, onboarding and verification, governance, monitoring and
the Kubernetes runtime. Nothing here reads cached settings or the process environment for the
endpoint: a session the factory makes carries its factory's endpoint, and ``client()`` uses
it. Three identities: the platform's own (``SessionFactory.platform_session``), the customer
role assumed with the organization's ExternalId (``SessionFactory.assumed_role_session``,
cached) and, on the customer's own machine only, their own credentials
(``customer_session``, where boto3 resolves the endpoint from the profile as usual).

Thread safety
    One factory is shared by every thread of a process. Creating a boto3 session or client is
    not thread-safe (boto/boto3#1592), so every creation here holds one process-wide lock;
    clients are thread-safe once created and may be shared between threads. The factory's
    only mutable state, the cache of role sessions, has its own lock.

Credential refresh
    A role session holds botocore ``RefreshableCredentials``: botocore calls AssumeRole again
    (a fresh STS client from the base session each time) before the credentials expire, under
    its own lock, so a cached role session stays usable for as long as the role may be
    assumed. When a refresh fails, the call that needed it raises and the caller's pass fails
    and is retried. The cache holds sessions, keyed by role ARN, ExternalId, session name and
    region (with the clients built from them, see ``RoleClients``), least recently used first
    out. Static platform keys (the embedded emulator's)
    never expire; a profile's or the default chain's refresh as boto3 does.

boto3 is imported lazily so CLI start-up stays fast.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3
    from botocore.client import BaseClient
    from botocore.config import Config

    from flightdeck.config import Settings

DEFAULT_REGION = "us-east-1"
# Standard mode retries throttling and 5xx with jittered backoff; bounded so a reconcile step
# hands a persistent throttle back to the worker loop (which retries later) instead of hanging.
MAX_ATTEMPTS = 5
CONNECT_TIMEOUT_SECONDS = 10
READ_TIMEOUT_SECONDS = 60
ASSUMED_ROLE_DURATION_SECONDS = 3600
ROLE_SESSION_CACHE_SIZE = 512

_session_lock = threading.RLock()


@dataclass(frozen=True)
class RetryPolicy:
    """Retries and timeouts of every client a factory makes."""

    max_attempts: int = MAX_ATTEMPTS
    connect_timeout_seconds: float = CONNECT_TIMEOUT_SECONDS
    read_timeout_seconds: float = READ_TIMEOUT_SECONDS


@dataclass(frozen=True)
class _SessionOptions:
    """What a session made by a factory carries besides its credentials."""

    endpoint_url: str | None
    retry: RetryPolicy


# Sessions made here -> their factory's endpoint and retry policy (gone with the session).
_OPTIONS: weakref.WeakKeyDictionary[Any, _SessionOptions] = weakref.WeakKeyDictionary()
_DEFAULT_OPTIONS = _SessionOptions(None, RetryPolicy())


@dataclass(frozen=True)
class StaticCredentials:
    """Keys given to a factory (e.g. the embedded emulator's platform account); never shown."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


def client_config(retry: RetryPolicy | None = None, **overrides: Any) -> Config:
    """The retry and timeout policy for a client; ``overrides`` replace single options."""
    from botocore.config import Config

    policy = retry or RetryPolicy()
    settings: dict[str, Any] = {
        "retries": {"mode": "standard", "total_max_attempts": policy.max_attempts},
        "connect_timeout": policy.connect_timeout_seconds,
        "read_timeout": policy.read_timeout_seconds,
        "user_agent_extra": "flightdeck",
    }
    settings.update(overrides)
    return Config(**settings)


def _new_session(options: _SessionOptions | None = None, **kwargs: Any) -> boto3.Session:
    import boto3

    with _session_lock:
        session = boto3.Session(**kwargs)
        if options is not None:
            _OPTIONS[session] = options
    return session


def client(session: boto3.Session, service: str, region: str | None = None, **config: Any) -> Any:
    """A client for ``service`` with the endpoint and retry policy of the factory that made
    ``session`` (boto3's own endpoint resolution for a session no factory made).

    ``config`` overrides single ``botocore.config.Config`` options (e.g. ``retries``).
    Returned as ``Any``: boto3 clients are generated at run time.
    """
    with _session_lock:
        options = _OPTIONS.get(session, _DEFAULT_OPTIONS)
        created: BaseClient = session.client(
            service,
            region_name=region or session.region_name or DEFAULT_REGION,
            endpoint_url=options.endpoint_url,
            config=client_config(options.retry, **config),
        )
    return created


def endpoint_of(session: boto3.Session) -> str | None:
    """The endpoint clients of ``session`` reach: its factory's, else None (boto3 decides)."""
    with _session_lock:
        return _OPTIONS.get(session, _DEFAULT_OPTIONS).endpoint_url


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


def assumed_role_session(
    base_session: boto3.Session,
    role_arn: str,
    external_id: str | None,
    session_name: str,
    region: str | None = None,
    duration_seconds: int = ASSUMED_ROLE_DURATION_SECONDS,
) -> boto3.Session:
    """A new session acting as ``role_arn`` through ``base_session``, with its endpoint and
    retry policy, whose credentials re-assume the role before expiry.

    The first AssumeRole happens here, so a wrong ExternalId or missing trust fails now
    (``botocore.exceptions.ClientError`` with ``AccessDenied``) rather than on first use.
    Not cached: verification wants every attempt to be a real AssumeRole.
    """
    import botocore.session
    from botocore.credentials import RefreshableCredentials

    sts_region = region or base_session.region_name or DEFAULT_REGION

    def fetch() -> dict[str, str]:
        # A fresh STS client per refresh: the base session's own credentials may rotate too.
        parameters: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": session_name,
            "DurationSeconds": duration_seconds,
        }
        if external_id is not None:
            parameters["ExternalId"] = external_id
        answer = client(base_session, "sts", sts_region).assume_role(**parameters)
        credentials = answer["Credentials"]
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
        core.set_config_variable("region", sts_region)
        options = _OPTIONS.get(base_session, _DEFAULT_OPTIONS)
    return _new_session(options, botocore_session=core)


class RoleClients:
    """Clients acting through one session in one region, each service's built once: the one
    client cache (building a boto3 client costs tens of milliseconds, and every reconcile or
    Deployment pass asks for the same few). Satisfies ``provision.AwsClients``."""

    def __init__(self, session: boto3.Session, region: str) -> None:
        self.session = session
        self.region = region
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = client(self.session, service, self.region)
            return self._clients[service]


class SessionFactory:
    """Sessions for the platform's identity and the customer roles it assumes, all with one
    endpoint and retry policy. Build one per process (:meth:`from_settings`) and share it."""

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region: str = DEFAULT_REGION,
        profile: str | None = None,
        credentials: StaticCredentials | None = None,
        retry: RetryPolicy | None = None,
        role_cache_size: int = ROLE_SESSION_CACHE_SIZE,
    ) -> None:
        if profile and credentials:
            raise ValueError("give the platform identity as a profile or as keys, not both")
        self.endpoint_url = endpoint_url or None
        self.region = region
        self.profile = profile or None
        self._credentials = credentials
        self._options = _SessionOptions(self.endpoint_url, retry or RetryPolicy())
        self._roles: OrderedDict[tuple[str, str | None, str, str], RoleClients] = OrderedDict()
        self._roles_lock = threading.Lock()
        self._role_cache_size = role_cache_size
        self._account_id: str | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, *, credentials: StaticCredentials | None = None
    ) -> SessionFactory:
        """The factory the settings describe; ``credentials`` are keys the process was given
        (the embedded emulator's), else the profile or boto3's default chain is used."""
        return cls(
            endpoint_url=settings.aws_endpoint_url,
            region=settings.aws_region,
            profile=None if credentials else settings.aws_profile,
            credentials=credentials,
            retry=RetryPolicy(max_attempts=settings.aws_max_attempts),
        )

    def __repr__(self) -> str:
        return f"SessionFactory(endpoint_url={self.endpoint_url!r}, region={self.region!r})"

    def platform_session(self, region: str | None = None) -> boto3.Session:
        """The control plane's own identity."""
        keys: dict[str, Any] = {}
        if self._credentials is not None:
            keys = {
                "aws_access_key_id": self._credentials.access_key_id,
                "aws_secret_access_key": self._credentials.secret_access_key,
                "aws_session_token": self._credentials.session_token,
            }
        return _new_session(
            self._options, profile_name=self.profile, region_name=region or self.region, **keys
        )

    def role_clients(
        self,
        role_arn: str,
        external_id: str | None,
        session_name: str,
        region: str | None = None,
    ) -> RoleClients:
        """The cached clients acting as ``role_arn`` in ``region``: the role is assumed on
        first use (its error raised here) and refreshed by botocore before expiry."""
        key = (role_arn, external_id, session_name, region or self.region)
        with self._roles_lock:
            cached = self._roles.get(key)
            if cached is not None:
                self._roles.move_to_end(key)
                return cached
        session = assumed_role_session(
            self.platform_session(key[3]), role_arn, external_id, session_name, key[3]
        )
        clients = RoleClients(session, key[3])
        with self._roles_lock:
            clients = self._roles.setdefault(key, clients)
            self._roles.move_to_end(key)
            while len(self._roles) > self._role_cache_size:
                self._roles.popitem(last=False)
        return clients

    def assumed_role_session(
        self,
        role_arn: str,
        external_id: str | None,
        session_name: str,
        region: str | None = None,
    ) -> boto3.Session:
        """The cached session acting as ``role_arn`` (see :meth:`role_clients`)."""
        return self.role_clients(role_arn, external_id, session_name, region).session

    def platform_account_id(self) -> str:
        """The account of the platform's identity (asked once: it never changes)."""
        with self._roles_lock:
            known = self._account_id
        if known is None:
            known = str(self.client("sts").get_caller_identity()["Account"])
            with self._roles_lock:
                self._account_id = known
        return known

    def client(self, service: str, region: str | None = None, **config: Any) -> Any:
        """A client acting as the platform."""
        return client(self.platform_session(region), service, region, **config)


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
