"""``flightdeck emulator --state-dir`` in a subprocess, for restart tests.

moto keeps its resources in process-wide state, so a restart is only a restart when it is a
new process: these helpers start one, wait for its URL, and stop it gently or with SIGKILL.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from flightdeck.aws.emulator import static_credentials

_LISTENING = re.compile(r"AWS emulator listening on (http://\S+)")
CUSTOMER_ACCOUNT = "222222222222"
PLATFORM_ACCOUNT = "111111111111"


@dataclass
class EmulatorProcess:
    process: subprocess.Popen[str]
    endpoint_url: str
    output: list[str]

    def client(self, service: str, account_id: str = CUSTOMER_ACCOUNT, **kwargs: Any) -> Any:
        creds = static_credentials(account_id)
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=kwargs.pop("region_name", "us-east-1"),
            aws_access_key_id=kwargs.pop("aws_access_key_id", creds.access_key_id),
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=kwargs.pop("aws_session_token", None),
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )

    def terminate(self) -> str:
        """SIGTERM, as an init system or Ctrl-C would stop it; returns what it printed."""
        self.process.send_signal(signal.SIGTERM)
        assert self.process.stdout is not None and self.process.stderr is not None
        # Read through the text wrappers: they may hold lines read ahead of ``output``.
        out = self.process.stdout.read()
        err = self.process.stderr.read()
        self.process.wait(timeout=120)
        self.process.stdout.close()
        self.process.stderr.close()
        assert self.process.returncode == 0, err
        return "".join(self.output) + out

    def kill(self) -> None:
        """SIGKILL: no chance to write anything more."""
        self.process.kill()
        self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()
        if self.process.stderr is not None:
            self.process.stderr.close()


def flightdeck_command() -> list[str]:
    return [str(Path(sys.executable).with_name("flightdeck"))]


def start_emulator_process(state_dir: Path, *extra: str, timeout: float = 180.0) -> EmulatorProcess:
    process = subprocess.Popen(
        [*flightdeck_command(), "emulator", "--port", "0", "--state-dir", str(state_dir), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert process.stdout is not None
    output: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        match = _LISTENING.search(line)
        if match:
            return EmulatorProcess(process, match.group(1), output)
    out, err = process.communicate(timeout=60)
    raise AssertionError(f"the emulator did not start: {''.join(output)}{out}{err}")


def run_emulator_expecting_failure(state_dir: Path) -> tuple[int, str]:
    """Start an emulator that should refuse at once; returns its exit code and stderr."""
    result = subprocess.run(
        [*flightdeck_command(), "emulator", "--port", "0", "--state-dir", str(state_dir)],
        capture_output=True,
        text=True,
        timeout=180,
        env=os.environ.copy(),
    )
    return result.returncode, result.stderr
