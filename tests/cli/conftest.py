"""CLI tests run the real `flightdeck` executable against a real server process on loopback."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
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
    database_url: str | None = None  # None: the one in FLIGHTDECK_DATA_DIR


def run_cli(*args: str, env: dict[str, str] | None = None, input_text: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLIGHTDECK, *args], capture_output=True, text=True,
                          env=env or dict(os.environ), input=input_text, timeout=timeout,
                          check=False)


def sign_up_and_verify(env: dict[str, str], email: str, *signup_args: str,
                       database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    """`flightdeck signup`, then what its user does on a server without SMTP: read the
    verification mail from the local outbox and run `flightdeck verify-email` with it.
    ``database_url`` is the server's when it is not in the data directory."""
    env = dict(env)
    signup = run_cli("signup", "--email", email, *signup_args, env=env)
    assert signup.returncode == 0, signup.stderr
    outbox_env = {**env, "FLIGHTDECK_DATABASE_URL": database_url} if database_url else env
    listed = run_cli("notifications", "list", "--local", "--to", email, "--json",
                     env=outbox_env)
    assert listed.returncode == 0, listed.stderr
    tokens = [found.group(0) for mail in json.loads(listed.stdout)
              if (found := re.search(r"fdv_[A-Za-z0-9_-]+", mail["body"]))]
    assert tokens, f"no verification mail to {email}: {listed.stdout}"
    verified = run_cli("verify-email", tokens[0], env=env)
    assert verified.returncode == 0, verified.stderr
    return verified


def owner_cli(server: Server, config_dir: Path) -> tuple[Callable[..., str], dict[str, str]]:
    """An Owner of a new organization "Acme" with a workspace "data", signed up on
    ``server``; returns how that Owner runs the CLI: ``cli(*args, ok=True)`` asserts the exit
    status and that no traceback was printed, and gives stdout (stderr when refused); and
    the environment it runs in."""
    assert server.database_url
    env = {**os.environ, "FLIGHTDECK_CONFIG_DIR": str(config_dir),
           "FLIGHTDECK_PASSWORD": "correct horse battery staple"}

    def cli(*args: str, ok: bool = True) -> str:
        result = run_cli(*args, env=env)
        assert (result.returncode == 0) is ok, f"{args}: {result.stdout}{result.stderr}"
        assert "Traceback" not in result.stderr
        return result.stdout if ok else result.stderr

    sign_up_and_verify(env, "owner@acme.example", "--organization", "Acme",
                       database_url=server.database_url)
    cli("workspace", "create", "data")
    return cli, env


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    for running in _serve(tmp_path, FLIGHTDECK_DATABASE_URL=database_url,
                          FLIGHTDECK_RUN_WORKER_IN_SERVER="false",
                          FLIGHTDECK_EMBEDDED_EMULATOR="false"):
        running.database_url = database_url
        yield running


@pytest.fixture
def embedded_server(tmp_path: Path) -> Iterator[Server]:
    """`flightdeck server` exactly as the README runs it: SQLite in the data directory, the
    embedded AWS emulator and the in-process reconcile worker."""
    yield from _serve(tmp_path)


_BANNER = re.compile(r"flightdeck control plane on (http://127\.0\.0\.1:\d+) ")


def _serve(tmp_path: Path, **settings: str) -> Iterator[Server]:
    """`flightdeck server --port 0`: the server binds any free port (no race with another
    process for a port picked in advance) and its banner names the one it got."""
    log = tmp_path / "server.log"
    env = dict(os.environ, **settings)
    with log.open("wb") as handle:
        process = subprocess.Popen([FLIGHTDECK, "server", "--port", "0"], env=env,
                                   stdout=handle, stderr=subprocess.STDOUT)
    url = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited: {log.read_text()}")
        if not url:
            banner = _BANNER.search(log.read_text(errors="replace"))
            url = banner.group(1) if banner else ""
        try:
            if url and httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    else:
        process.kill()
        pytest.fail(f"server did not become healthy: {log.read_text()}")
    assert not url.endswith(":0"), url
    os.environ["FLIGHTDECK_URL"] = url
    yield Server(url=url, process=process, log=log)
    os.environ.pop("FLIGHTDECK_URL", None)
    process.terminate()
    process.wait(timeout=10)
