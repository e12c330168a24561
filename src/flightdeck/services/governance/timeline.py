"""An account's governance timeline: events in the order they happened."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from flightdeck.db.models import AwsAccount, AwsAccountEvent


class Timeline:
    """Writes account events with strictly increasing times, so a timeline keeps the order
    things happened in even when several events share one instant of the (injected) clock."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self.now = now
        self._last_stamp: datetime | None = None

    def event(
        self,
        session: Session,
        account: AwsAccount,
        kind: str,
        message: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        session.add(
            AwsAccountEvent(
                organization_id=account.organization_id,
                aws_account_ref=account.id,
                kind=kind,
                message=message,
                detail=detail or {},
                created_at=self.stamp(),
            )
        )

    def stamp(self) -> datetime:
        stamp = self.now()
        if self._last_stamp is not None and stamp <= self._last_stamp:
            stamp = self._last_stamp + timedelta(microseconds=1)
        self._last_stamp = stamp
        return stamp
