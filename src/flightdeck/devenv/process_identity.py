"""Is this pid still the process we started? Start time plus a per-start token, never a port.

A pid alone can be reused by an unrelated process after ours exits, and a port can be taken by
anyone. The kernel's start time of a pid changes when the pid is reused, and the token is a
random value put in the environment of every process one start launches (readable in
``/proc/<pid>/environ`` by its owner and root), which no other start has.
"""

from __future__ import annotations

import secrets
from pathlib import Path

RUN_TOKEN_VARIABLE = "FLIGHTDECK_RUN_TOKEN"


def new_run_token() -> str:
    return secrets.token_hex(16)


def process_start_time(pid: int) -> int | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ")".
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])  # field 22 of stat(5), counted from field 3


def carries_token(pid: int, token: str) -> bool | None:
    """Whether ``pid``'s environment holds ``token``; None when it cannot be read."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        return None  # another user's process: only its start time can tell
    return f"{RUN_TOKEN_VARIABLE}={token}".encode() in environ.split(b"\0")


def is_ours(pid: int, start_time: int | None, token: str | None) -> bool:
    """``pid`` runs and is the very process recorded with ``start_time`` and ``token``."""
    started = process_start_time(pid)
    if started is None:
        return False
    if start_time is not None and started != start_time:
        return False
    return not token or carries_token(pid, token) is not False
