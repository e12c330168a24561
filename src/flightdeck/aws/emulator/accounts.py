"""Which AWS account an emulator request belongs to, and the credentials that reach each account.

moto keeps one namespace of resources per account. It picks the account from the request
(``x-moto-account-id`` header, else the access key: keys minted by ``sts:AssumeRole`` into
``arn:aws:iam::<acct>:role/...`` belong to ``<acct>``, unknown keys to moto's default account).
The emulator adds one rule in front: well-known static keys (``AKIAFD<account>EM``) name their
account directly, so the platform's and a customer's admin credentials survive a moto reset
(assumed-role keys do not: they live in moto's IAM state). Unknown keys go to the platform
account rather than moto's ``123456789012`` so "any credentials" behave like the platform's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

DEFAULT_PLATFORM_ACCOUNT_ID = "111111111111"
DEFAULT_CUSTOMER_ACCOUNT_IDS: tuple[str, ...] = ("222222222222",)

_STATIC_KEY = re.compile(r"^AKIAFD(?P<account>\d{12})EM$")
# Same shape moto's BaseResponse uses: a 20-character key id followed by "/" in a SigV4 scope.
_AUTH_SCOPE = re.compile(
    r"Credential=(?P<key>[A-Z0-9]{16,128})/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/"
)
_QUERY_SCOPE = re.compile(
    r"X-Amz-Credential=(?P<key>[A-Z0-9]{16,128})/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/"
)
_ACCOUNT_ID = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class AwsCredentials:
    """Static credentials for one emulator account; ``repr`` hides the secret parts."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:
        return f"AwsCredentials(access_key_id={self.access_key_id!r}, secret_access_key='***')"

    def as_env(self) -> dict[str, str]:
        """The environment variables boto3's default chain reads."""
        env = {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
        }
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return env


def validate_account_id(account_id: str) -> str:
    if not _ACCOUNT_ID.match(account_id):
        raise ValueError(f"an AWS account id is 12 digits, got {account_id!r}")
    return account_id


def static_credentials(account_id: str) -> AwsCredentials:
    """Administrator-like credentials the emulator maps to ``account_id`` without any IAM state."""
    validate_account_id(account_id)
    return AwsCredentials(
        access_key_id=f"AKIAFD{account_id}EM",
        secret_access_key=f"flightdeck-emulator-secret-{account_id}",
    )


@dataclass(frozen=True)
class RequestScope:
    """What the SigV4 credential scope of a request says: key id, region, signing service."""

    access_key_id: str | None
    region: str | None
    service: str | None


def request_scope(environ: Mapping[str, Any]) -> RequestScope:
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    match = _AUTH_SCOPE.search(auth)
    if match is None:
        match = _QUERY_SCOPE.search(unquote(str(environ.get("QUERY_STRING", ""))))
    if match is None:
        return RequestScope(None, None, None)
    return RequestScope(match["key"], match["region"], match["service"])


def account_for_access_key(access_key_id: str | None, platform_account_id: str) -> str:
    """Resolve the account like moto does, with static keys first and the platform as fallback."""
    if not access_key_id:
        return platform_account_id
    static = _STATIC_KEY.match(access_key_id)
    if static:
        return static["account"]
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.iam.models import get_account_id_from

    account_id = str(get_account_id_from(access_key_id))
    if account_id == DEFAULT_ACCOUNT_ID:
        # moto's answer for "key unknown": treat it as the platform's own identity.
        return platform_account_id
    return account_id
