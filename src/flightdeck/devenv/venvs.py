"""One cached virtualenv per (Airflow version, requirements), built with uv.

Installing Airflow takes tens of seconds and the same environment serves every project with
the same pins, so environments live in the user cache, keyed by a hash of what went in.
A lock file serialises concurrent builds and a marker file says a build finished, so an
interrupted install is rebuilt rather than used half-made.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.textfile import read_project_text

LAYOUT_VERSION = "1"  # bump when what goes into every venv changes
BASE_PACKAGES = ("apache-airflow-providers-amazon", "pytest")
_COMPLETE = ".flightdeck-complete"


def cache_dir() -> Path:
    """``FLIGHTDECK_DEV_CACHE_DIR`` or ``$XDG_CACHE_HOME/flightdeck/venvs`` (``~/.cache``)."""
    explicit = os.environ.get("FLIGHTDECK_DEV_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "flightdeck" / "venvs"


def uv_binary() -> str:
    from uv import find_uv_bin

    return str(find_uv_bin())


def requirement_lines(requirements_file: Path) -> list[str]:
    if not requirements_file.exists():
        return []
    text = read_project_text(requirements_file)
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return sorted(line for line in lines if line)


def airflow_requirement(version: str) -> str:
    return f"apache-airflow=={version}"


def venv_key(airflow_version: str, requirements: list[str], extra: Sequence[str] = ()) -> str:
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    parts = [LAYOUT_VERSION, python, airflow_version, *BASE_PACKAGES, *requirements]
    if extra:  # only when present, so venvs of projects without them keep their key
        parts += ["# Dockerfile RUN pip install", *sorted(extra)]
    material = "\n".join(parts)
    digest = hashlib.sha256(material.encode()).hexdigest()[:16]
    return f"airflow-{airflow_version.replace('*', 'x')}-py{python}-{digest}"


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(
    airflow_version: str,
    requirements_file: Path,
    echo: object = None,
    extra: Sequence[str] = (),
) -> Path:
    """Return the ready venv for this Airflow version and requirements, building it if needed.

    ``extra`` are more requirement specifiers (a Dockerfile's ``RUN pip install`` packages).
    """
    requirements = requirement_lines(requirements_file)
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    venv = root / venv_key(airflow_version, requirements, extra)
    if (venv / _COMPLETE).exists():
        return venv
    with (root / f"{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / _COMPLETE).exists():  # another process built it while we waited
            return venv
        if callable(echo):
            echo(f"Installing Airflow {airflow_version} into {venv} (first run only)...")
        shutil.rmtree(venv, ignore_errors=True)
        _build(venv, airflow_version, requirements_file if requirements else None, extra)
        (venv / _COMPLETE).write_text(airflow_version + "\n")
    return venv


def _build(
    venv: Path, airflow_version: str, requirements_file: Path | None, extra: Sequence[str] = ()
) -> None:
    uv = uv_binary()
    env = {**os.environ, "UV_NO_PROGRESS": "1"}
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], env, airflow_version)
    install = [uv, "pip", "install", "--quiet", "--python", str(venv_python(venv))]
    install += [airflow_requirement(airflow_version), *BASE_PACKAGES, *extra]
    if requirements_file is not None:
        install += ["-r", str(requirements_file)]
    try:
        _run(install, env, airflow_version)
    except DevEnvError:
        shutil.rmtree(venv, ignore_errors=True)
        raise


def _run(command: list[str], env: dict[str, str], airflow_version: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode == 0:
        return
    output = (result.stderr or result.stdout).strip()
    if "apache-airflow==" in output and ("no version" in output or "not found" in output.lower()):
        raise DevEnvError(
            f"Airflow version {airflow_version} is not published on PyPI; set airflow_version "
            "in .flightdeck/config.yaml (or the Dockerfile) to a released version"
        )
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    detail = next((line for line in lines if "requirements" in line or "No solution" in line), "")
    detail = detail or (lines[0] if lines else f"exit code {result.returncode}")
    raise DevEnvError(
        f"Installing Airflow {airflow_version} and requirements.txt failed: {detail[:300]}; "
        "fix requirements.txt (or the Airflow version) and run the command again"
    )
