"""The one exception the local-development layer raises for a problem the developer can fix.

The CLI turns it into a single ``Error: ...`` line; the message names the file, field or
line at fault and what to do about it, so nobody has to read a traceback.
"""

from __future__ import annotations


class DevEnvError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
