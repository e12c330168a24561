"""Memory of the embedded default while it is up: proportional set size (PSS), by part.

Starts `flightdeck quickstart` (without --exit: it stays up) in a fresh data directory, waits
until its DAG run succeeded and the Deployment sits idle, then sums PSS from
/proc/<pid>/smaps_rollup (shared pages are split between the processes sharing them, so the
parts add up to the whole):
  deployment - every process of the one local Deployment (those carrying its AIRFLOW_HOME)
  control    - the quickstart process: API, worker, AWS emulator (moto) in one process
  total      - both
Goal: at most 600 MiB for one idle local Deployment. Prints figures; asserts nothing.

Usage: python bench/embedded_memory.py [--airflow-version 3.3.2] [--idle 30]
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLIGHTDECK = str(Path(sys.executable).parent / "flightdeck")
MIB = 1024 * 1024


def pss(pid: int) -> int:
    """Bytes of proportional set size of ``pid`` (0 if it is gone or unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


def pids_with_environ(marker: bytes) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if any(v.startswith(marker) for v in (entry / "environ").read_bytes().split(b"\0")):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--airflow-version", default=None)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds idle before measuring")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="flightdeck-memory-"))
    data_dir = work / "qs"
    command = [FLIGHTDECK, "quickstart", "--data-dir", str(data_dir)]
    if args.airflow_version:
        command += ["--airflow-version", args.airflow_version]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    try:
        for line in process.stdout:
            if "Success:" in line:
                break
            if process.poll() is not None:
                sys.exit("quickstart failed before its DAG run succeeded")
        time.sleep(args.idle)
        homes = sorted((data_dir / "deployments").glob("*/.flightdeck/airflow"))
        if not homes:
            sys.exit("no local Deployment found")
        deployment = pids_with_environ(f"AIRFLOW_HOME={homes[0]}".encode())
        deployment_bytes = sum(pss(pid) for pid in deployment)
        control_bytes = pss(process.pid)
        print(f"deployment: {deployment_bytes / MIB:8.1f} MiB PSS in {len(deployment)} processes")
        print(f"control:    {control_bytes / MIB:8.1f} MiB PSS (API, worker, AWS emulator)")
        print(f"total:      {(deployment_bytes + control_bytes) / MIB:8.1f} MiB PSS")
        print(
            f"goal: one idle local Deployment <= 600 MiB -> "
            f"{'met' if deployment_bytes <= 600 * MIB else 'NOT met'}"
        )
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=180)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    main()
