"""Helpers shared by the ``flightdeck dev`` tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

FLIGHTDECK = str(Path(sys.executable).parent / "flightdeck")
# One Airflow install serves every test of a run (and later runs on this machine).
VENV_CACHE = os.environ.get("FLIGHTDECK_TEST_VENV_CACHE", "/tmp/flightdeck-test-venvs")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the real ``flightdeck`` console script, as a developer would."""
    return subprocess.run(
        [FLIGHTDECK, *args], capture_output=True, text=True, env=env or dict(os.environ),
        cwd=cwd, timeout=timeout, check=False,
    )
