"""Sign-in throttling per account and per client address.

Each key (``account:<email>``, ``address:<ip>``) has a few free failures; every further one
locks it for a doubling time, capped. The account's cap is short, so a stranger guessing at
someone's password delays them by a minute at most; the address's cap is long, so the
stranger is the one who waits. Attempts while locked are refused without checking the
password and do not count. Each lock is audited.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from flightdeck.db.models import SignInThrottle
from flightdeck.db.types import utcnow
from flightdeck.services import audit
from flightdeck.services.errors import TooManyAttempts


@dataclass(frozen=True)
class ThrottlePolicy:
    free_failures_per_account: int = 5
    account_lock_max_seconds: int = 60
    free_failures_per_address: int = 20
    address_lock_max_seconds: int = 900
    failure_window_seconds: int = 900


def account_key(email: str) -> str:
    return f"account:{email}"[:400]


def address_key(address: str) -> str:
    return f"address:{address}"[:400]


def check(session: Session, email: str, address: str, policy: ThrottlePolicy) -> None:
    """Raise ``TooManyAttempts`` while the account or the address is locked."""
    now = utcnow()
    wait = 0.0
    for key in (account_key(email), address_key(address)):
        row = session.get(SignInThrottle, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            wait = max(wait, (row.locked_until - now).total_seconds())
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise TooManyAttempts(
            f"too many failed sign-ins; try again in {seconds} seconds",
            retry_after_seconds=seconds,
        )


def record_failure(session: Session, email: str, address: str, policy: ThrottlePolicy) -> None:
    """Count a wrong password against both keys; the caller commits."""
    now = utcnow()
    for key, free, cap, kind in (
        (
            account_key(email),
            policy.free_failures_per_account,
            policy.account_lock_max_seconds,
            "account",
        ),
        (
            address_key(address),
            policy.free_failures_per_address,
            policy.address_lock_max_seconds,
            "address",
        ),
    ):
        row = _locked_row(session, key, now)
        if now - row.last_failure_at > timedelta(seconds=policy.failure_window_seconds):
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        excess = row.failures - free
        if excess > 0:
            seconds = lock_seconds(excess, cap)
            row.locked_until = now + timedelta(seconds=seconds)
            audit.record(
                session,
                action="auth.sign_in.locked",
                actor=None,
                organization_id=None,
                target=email,
                detail={
                    "by": kind,
                    "address": address,
                    "failures": row.failures,
                    "seconds": seconds,
                },
            )


def record_success(session: Session, email: str) -> None:
    """The right password clears the account's count (never the address's: a stranger
    could otherwise reset theirs by signing in to an account of their own)."""
    row = session.get(SignInThrottle, account_key(email))
    if row is not None:
        session.delete(row)


def lock_seconds(excess: int, cap: int) -> int:
    """1, 2, 4, … seconds for the 1st, 2nd, 3rd … failure past the free ones, at most cap."""
    return int(min(cap, 2 ** min(excess - 1, 30)))


def _locked_row(session: Session, key: str, now: datetime) -> SignInThrottle:
    """The key's row, created if missing, locked for this transaction (concurrent failures
    each count)."""
    dialect = session.get_bind().dialect.name
    values = {"key": key, "failures": 0, "last_failure_at": now, "locked_until": None}
    if dialect == "postgresql":
        session.execute(postgresql.insert(SignInThrottle).values(**values).on_conflict_do_nothing())
    else:
        session.execute(sqlite.insert(SignInThrottle).values(**values).on_conflict_do_nothing())
    row = session.scalar(
        select(SignInThrottle)
        .where(SignInThrottle.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row
