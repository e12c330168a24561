"""`flightdeck quickstart --exit` wall time by phase.

Runs the quickstart as a newcomer would, in a fresh data directory, and prints each step's
wall time and its share of the whole. With --runs 2 (the default) the first run may build
the Airflow venv (cold) and the second finds it cached (warm); the ratio warm/cold shows
how much of a first run is the one-time Airflow install. Prints figures; asserts nothing.

Usage: python bench/quickstart_bench.py [--runs 2] [--airflow-version 3.3.2] [--cold]
  --cold  use an empty venv cache for the first run (downloads Airflow with uv)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLIGHTDECK = str(Path(sys.executable).parent / "flightdeck")


def run_once(work: Path, env: dict[str, str], version: str | None) -> tuple[float, list[dict]]:
    timings = work / "timings.json"
    args = [
        FLIGHTDECK,
        "quickstart",
        "--exit",
        "--data-dir",
        str(work / "qs"),
        "--port",
        "0",
        "--timings",
        str(timings),
    ]
    if version:
        args += ["--airflow-version", version]
    started = time.perf_counter()
    result = subprocess.run(args, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"quickstart failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed, json.loads(timings.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--airflow-version")
    parser.add_argument("--cold", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="fd-qs-bench-") as tmp:
        env = dict(os.environ)
        if args.cold:
            env["FLIGHTDECK_DEV_CACHE_DIR"] = str(Path(tmp) / "venvs")
        for index in range(args.runs):
            work = Path(tmp) / f"run{index}"
            work.mkdir()
            results.append(run_once(work, env, args.airflow_version))
    for index, (total, phases) in enumerate(results):
        label = "first" if index == 0 else f"run {index + 1}"
        print(
            f"\nquickstart {label}: {total:.1f} s wall (process start to exit, shutdown included)"
        )
        steps = sum(p["seconds"] for p in phases)
        for phase in phases:
            share = phase["seconds"] / steps if steps else 0.0
            print(f"  {phase['seconds']:7.1f} s  {share:6.1%}  {phase['step']}")
        print(f"  {total - steps:7.1f} s          start-up, summary and shutdown")
    if len(results) > 1:
        print(f"\nratio run 2 / first run: {results[1][0] / results[0][0]:.2f}")


if __name__ == "__main__":
    main()
