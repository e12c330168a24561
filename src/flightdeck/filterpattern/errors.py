"""The one error a bad filter pattern raises: where it went wrong and how to fix it."""

from __future__ import annotations


class FilterPatternError(ValueError):
    """A filter pattern CloudWatch Logs would refuse (or that we cannot evaluate faithfully).

    `position` is the 1-based column in the pattern where the problem starts, so a caller can
    put a caret under it; `reason` says what is wrong and what to write instead.
    """

    def __init__(self, reason: str, position: int) -> None:
        super().__init__(f"column {position}: {reason}")
        self.reason = reason
        self.position = position
