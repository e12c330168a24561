"""Who listens on a local TCP port: proof that a health check talks to the Airflow we started.

A port that was free when it was chosen can be taken by another program before Airflow binds
it, and then that program answers the health check. Linux tells whose socket it is: the
listening socket's inode in ``/proc/net/tcp{,6}`` and the ``socket:[inode]`` links under
``/proc/<pid>/fd``. Each component runs in its own session, so "ours" means "a process of
one of our sessions".
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_LISTEN = "0A"


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != _LISTEN:
                continue
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port:
                inodes.add(fields[9])
    return inodes


def listening_pids(port: int) -> set[int]:
    """Pids holding a listening socket on ``port`` (those this process may inspect)."""
    targets = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    found: set[int] = set()
    if not targets:
        return found
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if str(fd.readlink()) in targets:
                        found.add(int(entry.name))
                        break
    return found


def port_owner(port: int, sessions: set[int]) -> bool | None:
    """True: a process of ``sessions`` listens on ``port``; False: someone else does (also
    one we may not inspect); None: nobody listens yet. Without ``/proc`` (not Linux) it
    cannot be told, and the answer is True, as if there were no check."""
    if not Path("/proc/net/tcp").exists():
        return True
    if not _listening_inodes(port):
        return None
    for pid in listening_pids(port):
        with contextlib.suppress(OSError):
            if os.getsid(pid) in sessions:
                return True
    return False
