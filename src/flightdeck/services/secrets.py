"""Password hashing (argon2) and random tokens stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

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
