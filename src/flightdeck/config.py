"""Settings for every flightdeck process, each readable from a ``FLIGHTDECK_*`` variable.

The embedded default (SQLite in a data directory, an in-process AWS emulator) needs no
configuration at all; production mode refuses the defaults that are only safe on a laptop.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORT = 8765  # Airflow owns 8080; stay well clear of it.
SECRET_KEY_FILE = "secret.key"  # the embedded default's own key, in its data directory
MIN_SECRET_KEY_CHARS = 32


class SandboxNetwork(StrEnum):
    """What network the local runtime's customer code gets (docs/runtime-local.md)."""

    # A network namespace per Deployment (and per parse-gate run): its own loopback only,
    # bridged to the host for its Airflow UI port and its loopback AWS endpoint, nothing else.
    ISOLATED = "isolated"
    # The host's network, loopback services included: a single-user laptop only.
    HOST = "host"


def secure_data_dir(data_dir: Path) -> Path:
    """Create the data directory owner-only (0700), its files 0600 and its folders 0700.

    It holds the database, the secret key and the emulator's credentials; files deeper down
    are created owner-only where they are written. Run at every start, so a directory from
    an older version is tightened too.
    """
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data_dir.chmod(0o700)
    for entry in data_dir.iterdir():
        info = entry.lstat()
        if stat.S_ISREG(info.st_mode) and info.st_mode & 0o077:
            entry.chmod(0o600)
        elif stat.S_ISDIR(info.st_mode) and info.st_mode & 0o077:
            entry.chmod(0o700)
    return data_dir


def data_dir_secret_key(data_dir: Path, new_key: str | None = None) -> str:
    """The data directory's random secret key, created (0600) on first use.

    ``new_key`` is the value to store when there is none yet (a fresh random one if not
    given); a key already there always wins.
    """
    path = secure_data_dir(data_dir) / SECRET_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write((new_key or secrets.token_urlsafe(48)) + "\n")
    return path.read_text().strip()


def _stored_secret_key(data_dir: Path) -> str | None:
    try:
        return (data_dir / SECRET_KEY_FILE).read_text().strip() or None
    except FileNotFoundError:
        return None


_defer_key_file: ContextVar[bool] = ContextVar("defer_key_file", default=False)


@contextmanager
def secret_key_file_deferred() -> Iterator[None]:
    """Settings read inside this block keep a new data directory's key in memory.

    ``flightdeck server`` holds its port and the data directory's lock before it writes
    anything, so a server that cannot start leaves no trace; it then calls
    ``Settings.save_secret_key``.
    """
    token = _defer_key_file.set(True)
    try:
        yield
    finally:
        _defer_key_file.reset(token)


class DeployRetention(BaseModel):
    """A Deployment's deploy history: a finished deploy is kept while it is among the newest
    ``deploys`` of its Deployment **and** younger than ``days``; past either bound its record
    and its bundle (in the database and the runtime's copy) are removed. Never removed: the
    deploy serving now, the one ``deploy rollback`` would go back to, and open deploys. So
    at most ``deploys`` + 2 bundles are ever stored, however often code is deployed."""

    deploys: int = Field(default=50, ge=1, le=10_000)
    days: int = Field(default=90, ge=1, le=3650)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLIGHTDECK_", extra="ignore")

    mode: Literal["embedded", "production"] = "embedded"
    data_dir: Path = Field(default_factory=lambda: Path.home() / ".flightdeck")
    database_url: str | None = None
    # Seals Deployment secrets and signs sessions. Required in production; the embedded
    # default makes a random one per data directory (``secret.key``) when none is given.
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    hosted_mode: bool = False
    # Hosted mode: platform-owned AWS accounts (e.g. vended by AWS Organizations), one per
    # organization, comma-separated; the platform administers them through this role.
    hosted_account_pool: str = ""
    hosted_admin_role_name: str = "OrganizationAccountAccessRole"
    session_cookie_name: str = "flightdeck_session"
    # Browser sessions end after this long in any case (absolute lifetime) ...
    session_max_age_seconds: int = 14 * 24 * 3600
    # ... or after this long without a request (idle lifetime).
    session_idle_seconds: int = 12 * 3600
    # Production mode forces Secure cookies whatever this says.
    cookie_secure: bool = False
    # API tokens the CLI gets at `flightdeck login`/`verify-email` expire after this many days.
    cli_token_days: int = 90
    # A sign-up's verification link (and its token) expires after this long.
    email_verification_seconds: int = 24 * 3600
    # Where links in mail point (the console/API as users reach it) [default: host and port].
    public_url: str | None = None
    # Sign-in throttling: after the free failures, each further one locks the key for a
    # doubling time, capped. The per-account lock is short so a stranger cannot lock a user
    # out for long; the per-address lock is long and stops the stranger.
    signin_free_failures_per_account: int = 5
    signin_account_lock_max_seconds: int = 60
    signin_free_failures_per_address: int = 20
    signin_address_lock_max_seconds: int = 900
    # Failures older than this are forgotten.
    signin_failure_window_seconds: int = 900
    run_worker_in_server: bool = True
    # Cap on how long the worker waits before polling AWS again (None: as the engine asks).
    # The embedded emulator answers at once, so the embedded server caps it at 2 seconds.
    max_requeue_seconds: float | None = None

    # AWS: the platform's own identity is boto3's default chain (or ``aws_profile``); only the
    # endpoint differs between real AWS and the embedded emulator. ``aws.session``'s
    # SessionFactory is built from these once at start-up.
    aws_endpoint_url: str | None = None
    aws_profile: str | None = None
    aws_region: str = "us-east-1"
    aws_max_attempts: int = Field(default=5, ge=1, le=20)
    platform_account_id: str | None = None
    embedded_emulator: bool = True
    # Where the CloudFormation console fetches the role template for quick-create links
    # (real AWS requires an S3 URL); defaults to this server's public template route.
    role_template_url: str | None = None

    # Where Deployments run: Airflow processes on this host (the embedded default) or the
    # Apache Airflow Helm chart on each cluster's EKS.
    runtime: Literal["local", "kubernetes"] = "local"
    # The local runtime's customer code: its own network namespace, or the host's network.
    sandbox_network: SandboxNetwork = SandboxNetwork.ISOLATED
    # Largest code bundle `flightdeck deploy` may upload.
    max_bundle_bytes: int = 50 * 1024 * 1024
    # How long each Deployment's deploy history (each deploy's record and its bundle) is
    # kept: see DeployRetention. FLIGHTDECK_DEPLOY_RETENTION='{"deploys": 50, "days": 90}'.
    deploy_retention: DeployRetention = Field(default_factory=lambda: DeployRetention())
    # Deleting a cluster (or a Kubernetes Deployment's metadata database) snapshots each RDS
    # instance first; false deletes without a final snapshot.
    rds_final_snapshot: bool = True

    # Domain verification (single sign-on) reads TXT records through this DNS server
    # (an IP address) and port [default: the system's resolver].
    dns_nameserver: str | None = None
    dns_port: int = Field(default=53, ge=1, le=65535)

    # Platform sign-in options (the sign-in page shows each one configured): GitHub's OAuth
    # app, and Google as an OpenID Connect provider. The URLs change only for GitHub
    # Enterprise or tests.
    github_client_id: str | None = None
    github_client_secret: str | None = None
    github_url: str = "https://github.com"
    github_api_url: str = "https://api.github.com"
    google_client_id: str | None = None
    google_client_secret: str | None = None
    google_issuer: str = "https://accounts.google.com"

    # Alerts: how often the evaluator reads each Deployment's Airflow (an event alerts within
    # this plus delivery), and whether webhooks may target loopback or private addresses
    # [default: allowed in embedded mode, refused in production].
    alert_poll_seconds: float = Field(default=15.0, gt=0, le=60)
    alert_private_targets: bool | None = None

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    mail_from: str = "flightdeck@localhost"

    # A new data directory's key, chosen but not yet written (see secret_key_file_deferred).
    _unsaved_secret_key: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.mode != "production":
            if not self.secret_key:
                try:
                    stored = _stored_secret_key(self.data_dir)
                except OSError as exc:
                    raise ValueError(self._key_problem(exc)) from None
                if stored is not None:
                    self.secret_key = stored
                elif _defer_key_file.get():
                    self.secret_key = secrets.token_urlsafe(48)
                    self._unsaved_secret_key = True
                else:
                    self.secret_key = self._write_secret_key(None)
            return self
        problems = []
        if len(self.secret_key) < MIN_SECRET_KEY_CHARS:
            problems.append(
                "FLIGHTDECK_SECRET_KEY must be set to a random value of at least 32 characters "
                "(for example: python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if not self.database_url or self.database_url.startswith("sqlite"):
            problems.append(
                "FLIGHTDECK_DATABASE_URL must point at PostgreSQL "
                "(postgresql+psycopg://user:password@host/dbname)"
            )
        if self.embedded_emulator:
            problems.append("FLIGHTDECK_EMBEDDED_EMULATOR must be false in production")
        if self.sandbox_network is SandboxNetwork.HOST:
            problems.append(
                "FLIGHTDECK_SANDBOX_NETWORK=host lets customer code reach every loopback "
                "service of this host; use isolated in production"
            )
        if problems:
            raise ValueError("unsafe production settings: " + "; ".join(problems))
        self.cookie_secure = True  # production is served over HTTPS: never a plain cookie
        return self

    def save_secret_key(self) -> None:
        """Write the key chosen under ``secret_key_file_deferred`` (nothing else to do)."""
        if self._unsaved_secret_key:
            self.secret_key = self._write_secret_key(self.secret_key)
            self._unsaved_secret_key = False

    def _write_secret_key(self, key: str | None) -> str:
        try:
            return data_dir_secret_key(self.data_dir, key)
        except OSError as exc:
            raise ValueError(self._key_problem(exc)) from None

    def _key_problem(self, exc: OSError) -> str:
        return (
            f"no FLIGHTDECK_SECRET_KEY, and the data directory {self.data_dir} cannot hold "
            f"one ({exc.strerror}); set FLIGHTDECK_SECRET_KEY or a writable FLIGHTDECK_DATA_DIR"
        )

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def alert_private_targets_allowed(self) -> bool:
        if self.alert_private_targets is not None:
            return self.alert_private_targets
        return self.mode != "production"

    @property
    def deployments_dir(self) -> Path:
        """The local runtime's Deployments (Airflow homes, bundles, logs)."""
        return self.data_dir / "deployments"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'flightdeck.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
