"""Password hashing (argon2), random tokens stored only as hashes, sealed values."""

from __future__ import annotations

import base64
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

_hasher = PasswordHasher()
# Verified against when the email is unknown, so sign-in takes as long either way.
_DUMMY_HASH = _hasher.hash("flightdeck-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token(prefix: str) -> str:
    """A 256-bit random token with a recognisable prefix (e.g. ``fdk_`` for API tokens)."""
    return f"{prefix}{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> str:
    """Tokens carry 256 bits of entropy, so one SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_external_id() -> str:
    """An AWS external ID: 160 bits from the OS CSPRNG, in the characters AWS accepts."""
    return secrets.token_hex(20)


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"flightdeck sealed values v1\0" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(value: str, secret_key: str) -> str:
    """Encrypt a value the platform must give back to a runtime (secret environment
    variables) but never show: authenticated encryption under FLIGHTDECK_SECRET_KEY."""
    return _fernet(secret_key).encrypt(value.encode()).decode()


def unseal(token: str, secret_key: str) -> str:
    """The value :func:`seal` sealed; raises ``ValueError`` under another key."""
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError(
            "a sealed value does not open with FLIGHTDECK_SECRET_KEY; was the key changed?"
        ) from None
