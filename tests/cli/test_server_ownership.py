"""`flightdeck server` owns its data directory and port; refusals are one line and change nothing.

Real servers in subprocesses: a running one (module scope), and second starts that must refuse
without touching its files — same data directory, same port, a foreign program on the port, a
read-only data directory, a damaged emulator state, and a stale lock left by a killed server.
"""

from __future__ import annotations

import json
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

from support.readonly import read_only_directory

pytestmark = pytest.mark.slow

FLIGHTDECK = str(Path(sys.executable).with_name("flightdeck"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(home: Path, data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLIGHTDECK_", "AWS_"))}
    env.update(HOME=str(home), FLIGHTDECK_DATA_DIR=str(data_dir), FLIGHTDECK_PORT=str(port))
    return env


@dataclass
class Server:
    process: subprocess.Popen[str]
    data_dir: Path
    port: int
    home: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_server(home: Path, data_dir: Path, port: int, timeout: float = 240) -> Server:
    log = (home / f"server-{port}.log").open("w")
    process = subprocess.Popen(
        [FLIGHTDECK, "server"],
        env=server_env(home, data_dir, port),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, (home / f"server-{port}.log").read_text()
        try:
            healthy = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            if healthy and (data_dir / "aws" / "config").exists():
                return Server(process, data_dir, port, home)
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise AssertionError("the server did not start")


def second_start(home: Path, data_dir: Path, port: int) -> tuple[int, str]:
    result = subprocess.run(
        [FLIGHTDECK, "server"],
        env=server_env(home, data_dir, port),
        capture_output=True,
        text=True,
        timeout=180,
    )
    return result.returncode, result.stderr + result.stdout


def files_of(directory: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file: what a refused start must leave as it was."""
    if not directory.exists():
        return {}
    return {
        str(p.relative_to(directory)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in directory.rglob("*")
        if p.is_file() and not p.name.startswith("flightdeck.db")
    }


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("home")
    server = start_server(home, home / ".flightdeck", free_port())
    try:
        yield server
    finally:
        server.process.terminate()
        server.process.wait(timeout=120)


def assert_one_line_refusal(code: int, output: str, *needles: str) -> None:
    assert code == 1, output
    lines = [line for line in output.strip().splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    for needle in needles:
        assert needle in lines[0], output


def assert_untouched(server: Server, before: dict[str, tuple[int, int]]) -> None:
    assert files_of(server.data_dir) == before
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
    holder = json.loads((server.data_dir / "server.lock").read_text())
    assert holder["pid"] == server.process.pid


def test_second_server_on_the_same_data_dir_names_the_first(running: Server) -> None:
    before = files_of(running.data_dir)
    code, output = second_start(running.home, running.data_dir, free_port())
    assert_one_line_refusal(code, output, f"pid {running.process.pid}", running.url)
    assert_untouched(running, before)


def test_same_data_dir_and_same_port_still_names_the_first(running: Server) -> None:
    before = files_of(running.data_dir)
    code, output = second_start(running.home, running.data_dir, running.port)
    assert_one_line_refusal(code, output, f"pid {running.process.pid}", running.url)
    assert_untouched(running, before)


def test_a_port_in_use_is_found_before_anything_is_written(running: Server, tmp_path: Path) -> None:
    with socket.socket() as foreign:
        foreign.bind(("127.0.0.1", 0))
        foreign.listen(1)
        port = int(foreign.getsockname()[1])
        data_dir = tmp_path / "other"
        code, output = second_start(tmp_path, data_dir, port)
    assert_one_line_refusal(code, output, f"127.0.0.1:{port}", "--port", "0: any free one")
    assert not data_dir.exists(), "nothing written for a server that cannot listen"


def test_a_server_off_the_default_url_says_how_to_point_the_cli_at_it(running: Server) -> None:
    banner = (running.home / f"server-{running.port}.log").read_text()
    assert f"give `--url {running.url}` to `flightdeck signup`" in banner
    assert f"FLIGHTDECK_URL={running.url}" in banner


def test_a_read_only_data_dir_is_refused(running: Server, tmp_path: Path) -> None:
    data_dir = tmp_path / "readonly"
    data_dir.mkdir()
    with read_only_directory(data_dir):
        code, output = second_start(tmp_path, data_dir, free_port())
    assert_one_line_refusal(code, output, str(data_dir), "writable")
    assert list(data_dir.iterdir()) == []


def test_a_damaged_emulator_state_is_refused(running: Server, tmp_path: Path) -> None:
    data_dir = tmp_path / "damaged"
    state = data_dir / "aws-emulator"
    state.mkdir(parents=True)
    (state / "snapshot.pickle").write_bytes(b'{"kind":"snapshot"}\nnot a pickle')
    before = files_of(data_dir)
    code, output = second_start(tmp_path, data_dir, free_port())
    assert_one_line_refusal(code, output, str(state / "snapshot.pickle"), "aside")
    assert "secret.key" not in files_of(data_dir), "no key for a server that did not start"
    left_alone = {"server.lock"}
    assert {k: v for k, v in files_of(data_dir).items() if k not in left_alone} == {
        k: v for k, v in before.items() if k not in left_alone
    }


def test_a_stale_lock_of_a_killed_server_is_taken_over(tmp_path: Path) -> None:
    data_dir = tmp_path / ".flightdeck"
    server = start_server(tmp_path, data_dir, free_port())
    server.process.kill()
    server.process.wait(timeout=30)
    stale = json.loads((data_dir / "server.lock").read_text())
    assert stale["pid"] == server.process.pid

    again = start_server(tmp_path, data_dir, free_port())
    try:
        holder = json.loads((data_dir / "server.lock").read_text())
        assert holder["pid"] == again.process.pid and holder["url"] == again.url
        log = (tmp_path / f"server-{again.port}.log").read_text()
        assert f"pid {server.process.pid}" in log and "taking over" in log
    finally:
        again.process.terminate()
        again.process.wait(timeout=120)
