"""`flightdeck login` through the browser (RFC 8252): the signed-in browser is sent back to
the CLI's loopback listener with a one-time code, which the CLI trades, with its PKCE
verifier, for an API token. Only loopback redirect URIs are accepted, so a code never
leaves the machine the CLI runs on.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import secrets as random
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from flightdeck.db.models import CliLoginCode, User
from flightdeck.db.types import utcnow
from flightdeck.services import audit, auth
from flightdeck.services.errors import InvalidInput, Unauthenticated
from flightdeck.services.secrets import hash_token

CODE_LIFETIME = timedelta(minutes=5)


def check_redirect_uri(redirect_uri: str) -> str:
    """``http://127.0.0.1:<port>/…`` or ``http://[::1]:<port>/…`` (RFC 8252 §7.3) only."""
    parts = urlsplit(redirect_uri)
    try:
        loopback = ipaddress.ip_address(parts.hostname or "").is_loopback
        port = parts.port
    except ValueError:
        loopback, port = False, None
    if parts.scheme != "http" or not loopback or port is None or parts.username or parts.fragment:
        raise InvalidInput(
            "redirect_uri: give the CLI's loopback address, like http://127.0.0.1:53682/callback",
            field="redirect_uri",
        )
    return redirect_uri


def check_challenge(code_challenge: str, method: str) -> str:
    if method != "S256" or not 43 <= len(code_challenge) <= 128:
        raise InvalidInput(
            "code_challenge: give a PKCE S256 challenge (43-128 characters) and "
            "code_challenge_method=S256",
            field="code_challenge",
        )
    return code_challenge


def issue_code(session: Session, user: User, redirect_uri: str, code_challenge: str) -> str:
    now = utcnow()
    session.execute(delete(CliLoginCode).where(CliLoginCode.expires_at < now))
    code = random.token_urlsafe(32)
    session.add(
        CliLoginCode(
            user_id=user.id,
            code_hash=hash_token(code),
            code_challenge=code_challenge,
            redirect_uri=redirect_uri,
            expires_at=now + CODE_LIFETIME,
        )
    )
    session.commit()
    return code


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", errors="replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def redeem(
    session: Session,
    *,
    code: str,
    code_verifier: str,
    redirect_uri: str,
    token_name: str,
    token_days: int | None,
) -> tuple[User, auth.IssuedToken]:
    """The user and a new API token for a code, once: a replayed code, another redirect URI
    or a verifier that does not match the challenge is refused; the code is spent anyway."""
    record = session.scalar(select(CliLoginCode).where(CliLoginCode.code_hash == hash_token(code)))
    refused = Unauthenticated(
        "code: unknown, expired or already used, or not this login's verifier; "
        "run `flightdeck login` again"
    )
    if record is None:
        raise refused
    session.delete(record)
    session.commit()
    if (
        record.expires_at <= utcnow()
        or record.redirect_uri != redirect_uri
        or not random.compare_digest(_s256(code_verifier), record.code_challenge)
    ):
        raise refused
    user = session.get(User, record.user_id)
    if user is None:
        raise refused
    issued = auth.create_api_token(session, user, token_name, token_days)
    audit.record(
        session, action="auth.cli_browser_login", actor=user, organization_id=None, target=user.id
    )
    session.commit()
    return user, issued
