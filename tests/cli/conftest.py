"""CLI tests run the real `flightdeck` executable against a real server process on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

FLIGHTDECK = str(Path(sys.executable).parent / "flightdeck")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def run_cli(*args: str, env: dict[str, str] | None = None, input_text: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLIGHTDECK, *args], capture_output=True, text=True,
                          env=env or dict(os.environ), input=input_text, timeout=timeout,
                          check=False)


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    yield from _serve(tmp_path, FLIGHTDECK_DATABASE_URL=database_url,
                      FLIGHTDECK_RUN_WORKER_IN_SERVER="false",
                      FLIGHTDECK_EMBEDDED_EMULATOR="false")


@pytest.fixture
def embedded_server(tmp_path: Path) -> Iterator[Server]:
    """`flightdeck server` exactly as the README runs it: SQLite in the data directory, the
    embedded AWS emulator and the in-process reconcile worker."""
    yield from _serve(tmp_path)


def _serve(tmp_path: Path, **settings: str) -> Iterator[Server]:
    port = free_port()
    log = tmp_path / "server.log"
    env = dict(os.environ, **settings)
    with log.open("wb") as handle:
        process = subprocess.Popen([FLIGHTDECK, "server", "--port", str(port)], env=env,
                                   stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited: {log.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail(f"server did not become healthy: {log.read_text()}")
    os.environ["FLIGHTDECK_URL"] = url
    yield Server(url=url, process=process, log=log)
    os.environ.pop("FLIGHTDECK_URL", None)
    process.terminate()
    process.wait(timeout=10)
