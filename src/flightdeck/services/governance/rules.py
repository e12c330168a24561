"""The rule for changing the customer's role policy, and its timing."""

from __future__ import annotations

from datetime import timedelta

from flightdeck.aws.policy_versions import NOTICE_PERIOD

__all__ = ["NOTICE_PERIOD"]
MAX_RETRY_DELAY = timedelta(hours=1)
UNREACHABLE_RETRY = timedelta(minutes=5)
ROLE_CREATE = "flightdeck aws role create"
CHANGES_COMMAND = "flightdeck aws policy changes"
