"""``flightdeck emulator``: help, refusing remote hosts, and a real run in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import httpx
from typer.testing import CliRunner

from flightdeck.cli.main import app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_help_describes_the_options() -> None:
    result = CliRunner().invoke(app, ["emulator", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--allow-remote", "--write-profiles"):
        assert option in result.output


def test_non_loopback_host_is_refused_without_allow_remote() -> None:
    flightdeck = Path(sys.executable).with_name("flightdeck")
    result = subprocess.run(
        [str(flightdeck), "emulator", "--host", "0.0.0.0", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "--allow-remote" in result.stderr


def test_emulator_runs_until_terminated(isolated_home: Path) -> None:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    flightdeck = Path(sys.executable).with_name("flightdeck")
    process = subprocess.Popen(
        [str(flightdeck), "emulator", "--port", str(port), "--write-profiles"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()
            try:
                if httpx.get(f"{endpoint}/_flightdeck/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "emulator did not start within 60 s"
            time.sleep(0.2)

        platform = boto3.client(
            "sts",
            region_name="us-east-1",
            endpoint_url=endpoint,
            aws_access_key_id="AKIAFD111111111111EM",
            aws_secret_access_key="anything",
        )
        assert platform.get_caller_identity()["Account"] == "111111111111"
        # --write-profiles wrote a customer profile that carries the endpoint itself.
        customer = boto3.Session(profile_name="flightdeck-emulator-customer").client("sts")
        assert customer.get_caller_identity()["Account"] == "222222222222"
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert f"AWS emulator listening on {endpoint}" in out
    assert "111111111111" in out
    assert "222222222222" in out
    assert "AWS emulator stopped." in out
