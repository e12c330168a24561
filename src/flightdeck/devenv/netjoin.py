"""Run a command in the network namespace a Deployment's bridge holds (Linux ``setns``).

Every Airflow process of one Deployment must share one network namespace, so the scheduler,
the task processes and the API server reach each other on its loopback. The namespace is
held by the bridge's namespace side (:mod:`flightdeck.devenv.netbridge`); each process is
started through this program, which joins it and then ``exec``s the sandbox launcher.

Unprivileged, the namespace belongs to a user namespace bubblewrap made: joining it first
gives the capability the network ``setns`` needs (its owner may always enter it), and the
``exec`` drops it again. As root there is no user namespace to enter. The holder is named by
pid and start time, checked before and after its namespace is opened, so a reused pid is
never joined.

Usage: ``python -m flightdeck.devenv.netjoin PID START_TIME COMMAND...``
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from flightdeck.devenv.process_identity import process_start_time

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
NS_GET_USERNS = 0xB701  # ioctl: the user namespace owning a namespace


def _setns(fd: int, kind: int, what: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, kind) != 0:
        raise OSError(ctypes.get_errno(), f"cannot enter the {what}")


def join(pid: int, started: int) -> None:
    """Move this process into ``pid``'s network namespace (and its owner user namespace)."""
    gone = f"the Deployment's network namespace (holder {pid}) is gone; restart the Deployment"
    if process_start_time(pid) != started:
        raise OSError(gone)
    net = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if process_start_time(pid) != started:
            raise OSError(gone)
        owner = fcntl.ioctl(net, NS_GET_USERNS)
        try:
            if os.fstat(owner).st_ino != Path("/proc/self/ns/user").stat().st_ino:
                _setns(owner, CLONE_NEWUSER, "user namespace of the network namespace")
        finally:
            os.close(owner)
        _setns(net, CLONE_NEWNET, "Deployment's network namespace")
    finally:
        os.close(net)


def main(argv: Sequence[str]) -> int:
    if len(argv) < 3:
        print("usage: netjoin PID START_TIME COMMAND...", file=sys.stderr)
        return 2
    try:
        join(int(argv[0]), int(argv[1]))
    except (OSError, ValueError) as exc:
        print(f"netjoin: {exc}", file=sys.stderr)
        return 1
    os.execvp(argv[2], list(argv[2:]))  # noqa: S606 - the sandbox launcher, as given
    return 127  # not reached: execvp replaces this process or raises


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
