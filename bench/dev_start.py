"""How long `flightdeck dev start` takes to a healthy Airflow, next to a bare `airflow standalone`.

Measured in one run on this machine:
  cold      - `dev start` in a new project with an empty venv cache (installs Airflow with uv;
              uv's own download cache is left as it is unless --cold-uv-cache is given)
  warm      - `dev kill` then `dev start` (venv cached; new metadata DB, like standalone)
  restart   - `dev stop` then `dev start` (venv and DB kept: the everyday case)
  standalone- `airflow standalone` from the same venv in a fresh AIRFLOW_HOME, timed until
              its health endpoint reports every component healthy
Goals: warm <= 1.2x standalone, cold <= 90 s. Prints figures; asserts nothing.

With --astro the project is instead shaped as `astro dev init` makes it (an Astro Runtime
FROM line, pandas and pyarrow in requirements.txt, a DAG passing a DataFrame), so the venv
also holds the runtime's preinstalled packages, and the run adds:
  resolution- resolving that project's environment with an empty uv cache, once limited to
              the Airflow release's day (--exclude-newer, what `dev` does) and once not:
              the extra cost of the constrained resolution on a cold cache

Usage: python bench/dev_start.py [--airflow-version 3.3.2] [--cold-uv-cache] [--astro]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

FLIGHTDECK = str(Path(sys.executable).parent / "flightdeck")


def cli(*args: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run([FLIGHTDECK, "dev", *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"flightdeck dev {' '.join(args)} failed:\n{result.stderr}{result.stdout}")
    return elapsed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def standalone(python: Path, major: int, workdir: Path) -> float:
    home = workdir / "standalone-home"
    port = free_port()
    env = {
        **os.environ,
        # standalone starts its components as `airflow ...`: the venv must be on PATH.
        "PATH": os.pathsep.join([str(python.parent), os.environ.get("PATH", "")]),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__WEBSERVER__WEB_SERVER_PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
    }
    path = "/api/v2/monitor/health" if major >= 3 else "/health"
    wanted = ["metadatabase", "scheduler", "triggerer"] + (["dag_processor"] if major >= 3 else [])
    log = (workdir / "standalone.log").open("w")
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(python), "-m", "airflow", "standalone"], env=env, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        while time.perf_counter() - started < 300:
            try:
                body = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5).json()
                if all((body.get(k) or {}).get("status") == "healthy" for k in wanted):
                    return time.perf_counter() - started
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
        sys.exit(f"airflow standalone was not healthy after 300 s; see {log.name}")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


ASTRO_DAG = """
import pandas as pd
import pendulum
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False)
def dataframe_pipeline():
    @task
    def extract() -> pd.DataFrame:
        return pd.DataFrame({"visits": [3, 4]})

    @task
    def total(frame: pd.DataFrame) -> int:
        return int(frame["visits"].sum())

    total(extract())


dataframe_pipeline()
"""


def write_astro_project(project: Path) -> None:
    """The layout `astro dev init` writes, with real dependencies."""
    from flightdeck.devenv.astro_runtimes import RUNTIME_LINES

    newest = [line for line in RUNTIME_LINES if line.newest and "-" in line.newest][-1]
    (project / "dags").mkdir(parents=True)
    (project / "include").mkdir()
    (project / ".astro").mkdir()
    (project / ".astro" / "config.yaml").write_text("project:\n  name: bench\n")
    (project / "Dockerfile").write_text(f"FROM astrocrpublic.azurecr.io/runtime:{newest.newest}\n")
    (project / "requirements.txt").write_text("pandas\npyarrow\n")
    (project / "packages.txt").write_text("")
    (project / "dags" / "pipeline.py").write_text(ASTRO_DAG)


def resolution_seconds(project: Path, workdir: Path, constrained: bool) -> float:
    """Resolving the project's whole environment (`uv pip compile`) with an empty uv cache."""
    from flightdeck.devenv import supervisor, venvs
    from flightdeck.devenv.dockerfile import read_dockerfile
    from flightdeck.devenv.project import Project

    target = Project(project)
    steps = read_dockerfile(project / "Dockerfile")
    resolution = supervisor.resolution_for(target, target.load_config(), steps)
    cache = workdir / f"uv-cache-{'constrained' if constrained else 'free'}"
    previous = os.environ.get("UV_CACHE_DIR")
    os.environ["UV_CACHE_DIR"] = str(cache)
    try:
        started = time.perf_counter()
        venvs.resolve(resolution, limited=constrained)
        return time.perf_counter() - started
    finally:
        if previous is None:
            os.environ.pop("UV_CACHE_DIR", None)
        else:
            os.environ["UV_CACHE_DIR"] = previous
        shutil.rmtree(cache, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--airflow-version", default=None)
    parser.add_argument("--cold-uv-cache", action="store_true",
                        help="also start uv with an empty download cache (needs the network)")
    parser.add_argument("--astro", action="store_true",
                        help="an `astro dev init`-shaped project with pandas and pyarrow")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="flightdeck-bench-"))
    env = {**os.environ, "FLIGHTDECK_DEV_CACHE_DIR": str(workdir / "venvs")}
    if args.cold_uv_cache:
        env["UV_CACHE_DIR"] = str(workdir / "uv-cache")
    project = workdir / "project"
    if args.astro:
        write_astro_project(project)
    else:
        init = ["init", str(project)]
        if args.airflow_version:
            init += ["--airflow-version", args.airflow_version]
        cli(*init, env=env)
    at = ["--project-dir", str(project)]
    try:
        cold = cli("start", *at, env=env)
        cli("kill", *at, env=env)
        warm = cli("start", *at, env=env)
        cli("stop", *at, env=env)
        restart = cli("start", *at, env=env)
        cli("kill", *at, env=env)
        from flightdeck.airflow_versions import airflow_major
        from flightdeck.devenv.project import Project

        version = Project(project).load_config().airflow_version
        (venv,) = [p for p in (workdir / "venvs").iterdir() if p.is_dir()]
        bare = standalone(venv / "bin" / "python", airflow_major(version), workdir)
    finally:
        subprocess.run([FLIGHTDECK, "dev", "kill", *at], env=env, capture_output=True)
    print(f"Airflow {version}, {os.cpu_count()} CPUs" + (" (Astro project)" if args.astro else ""))
    print(f"{'cold dev start (venv built)':<36}{cold:7.1f} s   goal <= 90 s: "
          f"{'met' if cold <= 90 else 'NOT met'}")
    print(f"{'warm dev start (venv cached)':<36}{warm:7.1f} s   {warm / bare:5.2f}x standalone "
          f"(goal <= 1.2x: {'met' if warm <= 1.2 * bare else 'NOT met'})")
    print(f"{'restart (venv and DB kept)':<36}{restart:7.1f} s   {restart / bare:5.2f}x standalone")
    print(f"{'airflow standalone':<36}{bare:7.1f} s")
    if args.astro:
        constrained = resolution_seconds(project, workdir, constrained=True)
        free = resolution_seconds(project, workdir, constrained=False)
        print(f"{'resolution, cold uv cache, limited':<36}{constrained:7.1f} s   "
              f"{constrained - free:+.1f} s vs unlimited ({free:.1f} s)")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
