"""A Deployment's own network namespace: started with its bridges, joined by its processes.

One bridge process per namespace (:mod:`flightdeck.devenv.netbridge`) holds it; the
Deployment's processes join it (:mod:`flightdeck.devenv.netjoin`). The socket directory is
the control plane's, outside every sandbox view.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.netbridge import HOLDER_FILE

READY_TIMEOUT = 60.0  # seconds the bridge may take to set its namespace up (a loaded host)


@dataclass(frozen=True)
class Holder:
    """The process whose network namespace a Deployment's processes join."""

    pid: int
    started: int

    def join_prefix(self) -> list[str]:
        """What goes before a command to start it inside this namespace."""
        module = [
            sys.executable,
            "-I",
            "-m",
            "flightdeck.devenv.netjoin",
        ]  # -I: no PYTHONPATH, no cwd
        return [*module, str(self.pid), str(self.started)]


def loopback_port(url: str | None) -> int | None:
    """The port of ``url`` when it names this host's loopback (the embedded emulator)."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    host = parts.hostname or ""
    if host == "localhost":
        return port
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).is_loopback:
            return port
    return None


def bridge_command(
    user_namespace: bool, inbound: Sequence[int], outbound: Sequence[int]
) -> list[str]:
    command = [sys.executable, "-I", "-m", "flightdeck.devenv.netbridge"]
    if user_namespace:
        command.append("--user-namespace")
    for port in inbound:
        command += ["--inbound", str(port)]
    for port in outbound:
        command += ["--outbound", str(port)]
    return command


def spawn(
    directory: Path,
    log: Path,
    user_namespace: bool,
    inbound: Sequence[int],
    outbound: Sequence[int],
    env: Mapping[str, str],
) -> subprocess.Popen[bytes]:
    """Start the bridge (in a session of its own) from ``directory``, its sockets' home."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)
    (directory / HOLDER_FILE).unlink(missing_ok=True)
    with log.open("a") as out:
        return subprocess.Popen(
            bridge_command(user_namespace, inbound, outbound),
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=directory,
            start_new_session=True,
        )


def wait_ready(
    process: subprocess.Popen[bytes], directory: Path, log: Path, timeout: float = READY_TIMEOUT
) -> Holder:
    """The namespace's holder once the bridge has written it; raises if the bridge ends."""
    deadline = time.monotonic() + timeout
    path = directory / HOLDER_FILE
    while time.monotonic() < deadline:
        if path.exists():
            data = json.loads(path.read_text())
            return Holder(int(data["pid"]), int(data["started"]))
        if process.poll() is not None:
            break
        time.sleep(0.05)
    lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
    last = (lines or ["no output"])[-1][:300]
    raise DevEnvError(f"the Deployment's network namespace could not be set up: {last}")


def read_holder(directory: Path) -> Holder | None:
    """The holder a running bridge wrote, to start one more process in its namespace."""
    path = directory / HOLDER_FILE
    try:
        data = json.loads(path.read_text())
        return Holder(int(data["pid"]), int(data["started"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def end(process: subprocess.Popen[bytes]) -> None:
    """Stop a bridge this process started (its namespace side dies with it)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextlib.contextmanager
def bridged(
    directory: Path,
    log: Path,
    user_namespace: bool,
    outbound: Sequence[int],
    env: Mapping[str, str],
) -> Iterator[Holder]:
    """A namespace for one run (the parse gate): only the outbound bridges, then gone."""
    process = spawn(directory, log, user_namespace, (), outbound, env)
    try:
        yield wait_ready(process, directory, log)
    finally:
        end(process)
