"""One cached virtualenv per (Airflow version, requirements), built with uv.

Installing Airflow takes tens of seconds and the same environment serves every project with
the same pins, so environments live in the user cache, keyed by a hash of what went in.
Airflow is only supported with the dependency versions of its release: a constraints file
the user names pins them; otherwise uv resolves Airflow and the project's requirements
together from what PyPI had on the release's day (``--exclude-newer``), so a dependency
released later (pandas 3 under Airflow 2.10) never arrives by surprise.
A lock file serialises concurrent builds and a marker file says a build finished, so an
interrupted install is rebuilt rather than used half-made.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from flightdeck.airflow_versions import ceilings_for, resolution_cutoff
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


@dataclass(frozen=True)
class Constraints:
    """A constraints file (Airflow's own, usually) the user named: its text decides versions."""

    source: str  # the path or URL as given
    text: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]


def load_constraints(source: str, base: Path, field: str = "--constraints") -> Constraints:
    """Read a constraints file from a path (relative to ``base``) or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        import httpx

        try:
            response = httpx.get(source, timeout=60, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise DevEnvError(
                f"{field}: could not download {source} ({type(exc).__name__}); check the URL"
            ) from None
        return Constraints(source, response.text)
    path = base / source
    if not path.is_file():
        raise DevEnvError(f"{field}: no file {source!r}; give a constraints file or a URL")
    return Constraints(source, read_project_text(path, field))


def venv_key(
    airflow_version: str,
    requirements: list[str],
    extra: Sequence[str] = (),
    preinstalled: Sequence[str] = (),
    constraints: Constraints | None = None,
) -> str:
    """The cache name: a hash of everything that decides what the resolution installs."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    parts = [LAYOUT_VERSION, python, airflow_version, *BASE_PACKAGES, *requirements]
    if extra:  # only when present, so venvs of projects without them keep their key
        parts += ["# Dockerfile RUN pip install", *sorted(extra)]
    if preinstalled:
        parts += ["# Astro Runtime preinstalled", *sorted(preinstalled)]
    if constraints is not None:
        parts += ["# constraints", constraints.digest]
    else:
        parts += ["# exclude-newer", str(resolution_cutoff(airflow_version))]
        parts += ["# ceilings", *ceilings_for(airflow_version)]
    material = "\n".join(parts)
    digest = hashlib.sha256(material.encode()).hexdigest()[:16]
    return f"airflow-{airflow_version.replace('*', 'x')}-py{python}-{digest}"


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


@dataclass(frozen=True)
class Resolution:
    """What one environment is resolved from: Airflow, the project's pins and what bounds them."""

    airflow_version: str
    requirements_file: Path
    extra: tuple[str, ...] = ()  # a Dockerfile's RUN pip install packages
    preinstalled: tuple[str, ...] = ()  # what the project's Astro Runtime image ships
    constraints: Constraints | None = None

    @property
    def requirements(self) -> list[str]:
        return requirement_lines(self.requirements_file)

    @property
    def exclude_newer(self) -> str | None:
        """Without a constraints file: nothing published after the Airflow release's day."""
        return None if self.constraints is not None else resolution_cutoff(self.airflow_version)

    def key(self) -> str:
        return venv_key(
            self.airflow_version, self.requirements, self.extra, self.preinstalled,
            self.constraints,
        )  # fmt: skip

    def bound(self) -> str:
        """How versions are bounded, for messages."""
        if self.constraints is not None:
            return f"constraints {self.constraints.source}"
        if self.exclude_newer is not None:
            ceilings = ceilings_for(self.airflow_version)
            known = f"; {', '.join(ceilings)} for this Airflow" if ceilings else ""
            day = self.exclude_newer[:10]
            return f"packages published before {day}, the day after Airflow's release{known}"
        return "the newest packages (no release date known for this Airflow)"


def ensure_venv(
    airflow_version: str,
    requirements_file: Path,
    echo: object = None,
    extra: Sequence[str] = (),
    preinstalled: Sequence[str] = (),
    constraints: Constraints | None = None,
) -> Path:
    """Return the ready venv for this Airflow version and requirements, building it if needed.

    ``extra`` are more requirement specifiers (a Dockerfile's ``RUN pip install`` packages),
    ``preinstalled`` the Astro Runtime image's packages, ``constraints`` the user's file.
    """
    resolution = Resolution(
        airflow_version, requirements_file, tuple(extra), tuple(preinstalled), constraints
    )
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    venv = root / resolution.key()
    if (venv / _COMPLETE).exists():
        return venv
    with (root / f"{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / _COMPLETE).exists():  # another process built it while we waited
            return venv
        if callable(echo):
            echo(f"Installing Airflow {airflow_version} into {venv} (first run only)...")
        shutil.rmtree(venv, ignore_errors=True)
        build(venv, resolution)
        (venv / _COMPLETE).write_text(airflow_version + "\n")
    return venv


def build(venv: Path, resolution: Resolution) -> None:
    """Create ``venv`` and install the resolution into it (removed again if that fails)."""
    uv = uv_binary()
    env = {**os.environ, "UV_NO_PROGRESS": "1"}
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], env, resolution)
    install = [uv, "pip", "install", "--quiet", "--python", str(venv_python(venv))]
    specs, options = _resolution_arguments(resolution, venv)
    try:
        _run(install + specs + options, env, resolution)
    except DevEnvError:
        shutil.rmtree(venv, ignore_errors=True)
        raise


def resolve(resolution: Resolution, limited: bool = True) -> dict[str, str]:
    """Resolve without installing (``uv pip compile``): name -> version. ``limited=False``
    drops the release-date and ceiling limits (the benchmark's unconstrained baseline)."""
    import tempfile

    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    command = [uv_binary(), "pip", "compile", "--quiet", "--python-version", python]
    env = {**os.environ, "UV_NO_PROGRESS": "1"}
    with tempfile.TemporaryDirectory(prefix="flightdeck-resolve-") as directory:
        specs, options = _resolution_arguments(resolution, Path(directory), limited)
        spec = Path(directory) / "requirements.in"
        spec.write_text("\n".join(specs) + "\n", encoding="utf-8")
        files = [str(spec)]
        if "-r" in options:  # compile takes requirement files as arguments, not -r
            at = options.index("-r")
            files.append(options[at + 1])
            del options[at : at + 2]
        result = subprocess.run(
            [*command, *options, *files], capture_output=True, text=True, env=env, check=False
        )
    if result.returncode != 0:
        _raise_failure(result, resolution)
    pins: dict[str, str] = {}
    for line in result.stdout.splitlines():
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep:
            pins[_normalise(name)] = version.strip()
    return pins


def _resolution_arguments(
    resolution: Resolution, workdir: Path, limited: bool = True
) -> tuple[list[str], list[str]]:
    """The requirement specifiers and uv's options that add to and bound them (the files
    they name are written to ``workdir``)."""
    version = resolution.airflow_version
    specs = [airflow_requirement(version), *BASE_PACKAGES, *resolution.preinstalled]
    specs += list(resolution.extra)
    options: list[str] = []
    if resolution.requirements:
        options += ["-r", str(resolution.requirements_file)]
    if resolution.constraints is not None:
        constraints_file = workdir / "flightdeck-constraints.txt"
        constraints_file.write_text(resolution.constraints.text, encoding="utf-8")
        options += ["--constraint", str(constraints_file)]
    elif limited:
        if resolution.exclude_newer is not None:
            options += ["--exclude-newer", resolution.exclude_newer]
        ceilings = ceilings_for(version)
        if ceilings:
            ceilings_file = workdir / "flightdeck-ceilings.txt"
            ceilings_file.write_text("\n".join(ceilings) + "\n", encoding="utf-8")
            options += ["--constraint", str(ceilings_file)]
    return specs, options


def installed_packages(venv: Path) -> dict[str, str]:
    """Distribution name (normalised) -> version of what ``venv`` holds."""
    result = subprocess.run(
        [uv_binary(), "pip", "freeze", "--python", str(venv_python(venv))],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise DevEnvError(f"Could not list the packages of {venv}: {result.stderr.strip()[:200]}")
    packages: dict[str, str] = {}
    for line in result.stdout.splitlines():
        name, sep, version = line.partition("==")
        if sep:
            packages[_normalise(name)] = version.strip()
    return packages


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


class ResolutionConflict(DevEnvError):
    """uv found no set of versions satisfying Airflow and the project together."""

    def __init__(self, message: str, packages: list[str], explanation: str) -> None:
        super().__init__(message)
        self.packages = packages  # the specifiers the resolver named, "pandas==3.0.0"
        self.explanation = explanation  # uv's reasoning, on one line


_SPECIFIER = re.compile(
    r"(?<![\w.-])(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[A-Za-z0-9,._-]+\])?)"
    r"(?P<spec>(?:==|>=|<=|!=|~=|<|>)[A-Za-z0-9.*+!]+(?:,\s*(?:==|>=|<=|!=|~=|<|>)[A-Za-z0-9.*+!]+)*)"
)
_NO_VERSION = re.compile(r"there is no version of (?P<spec>\S+?)(?:\s|,|$)")


def parse_conflict(output: str) -> tuple[list[str], str] | None:
    """The specifiers in conflict and uv's explanation, from uv's resolver output (``None``
    when the failure is not a resolution conflict)."""
    if "No solution found" not in output:
        return None
    _, _, reasoning = output.partition("No solution found when resolving dependencies")
    lines = [line.strip(" \t│╰─▶\u00d7:").removeprefix("cause:") for line in reasoning.splitlines()]
    explanation = re.sub(r"\s+", " ", " ".join(line for line in lines if line)).strip()
    # uv's own option, not one of ours: the fix is an older pin or a constraints file.
    explanation = re.sub(r"\s*Consider using `exclude-newer-package`[^.]*\.", "", explanation)
    seen: list[str] = []
    for match in _SPECIFIER.finditer(explanation):
        spec = f"{match.group('name')}{match.group('spec')}".rstrip(".,")
        if spec not in seen:
            seen.append(spec)
    return seen, explanation


def _run(command: list[str], env: dict[str, str], resolution: Resolution) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        _raise_failure(result, resolution)


def _raise_failure(result: subprocess.CompletedProcess[str], resolution: Resolution) -> NoReturn:
    """One message for a failed uv run: an unpublished Airflow, a conflict, or uv's own line."""
    airflow_version = resolution.airflow_version
    output = (result.stderr or result.stdout).strip()
    if f"{airflow_requirement(airflow_version)}" in output and (
        "no version of apache-airflow==" in output or "not found" in output.lower()
    ):
        raise DevEnvError(
            f"Airflow version {airflow_version} is not published on PyPI; set airflow_version "
            "in .flightdeck/config.yaml (or the Dockerfile) to a released version"
        )
    conflict = parse_conflict(output)
    if conflict is not None:
        packages, explanation = conflict
        named = ", ".join(packages[:8]) or "see below"
        raise ResolutionConflict(
            f"Dependency conflict resolving Airflow {airflow_version} with requirements.txt "
            f"({resolution.bound()}) between {named}: {explanation[:600]}; change the pins in "
            "requirements.txt (or the Airflow version) and run the command again",
            packages,
            explanation,
        )
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    built = re.search(r"Failed to build `(?P<package>[^`]+)`", output)
    if built is not None:
        raise DevEnvError(
            f"Installing Airflow {airflow_version} and requirements.txt failed: "
            f"{built.group('package')} has no wheel for this machine and building it from "
            "source failed (it usually needs OS libraries or headers, e.g. from packages.txt); "
            "install those, or pin a version with a wheel, and run the command again"
        )
    detail = next((line for line in lines if "requirements" in line or "No solution" in line), "")
    detail = detail or (lines[0] if lines else f"exit code {result.returncode}")
    raise DevEnvError(
        f"Installing Airflow {airflow_version} and requirements.txt failed: {detail[:300]}; "
        "fix requirements.txt (or the Airflow version) and run the command again"
    )
