"""What a project's Dockerfile adds on top of its base image, applied to a native run.

An Astro project's Dockerfile is usually ``FROM`` plus a few ``ENV``/``ARG`` lines and
perhaps ``RUN pip install``: those mean the same natively (variables for Airflow's
processes, packages for the venv). Anything else (``COPY``, ``USER``, other ``RUN``
commands …) only makes sense in an image, so it is reported once, never silently dropped.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from flightdeck.devenv.envfile import expand_variables
from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.textfile import read_project_text

# Paths that describe the image's file system: natively the host's own values must stay.
CONTAINER_ONLY = frozenset({"PATH", "HOME", "AIRFLOW_HOME", "PYTHONPATH", "LD_LIBRARY_PATH"})
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PIP = (("pip", "install"), ("pip3", "install"), ("uv", "pip", "install"))
# Options of `pip install` that take a value; the packages are the other words.
_PIP_VALUE_OPTIONS = frozenset(
    {"-i", "--index-url", "--extra-index-url", "-f", "--find-links", "-c", "--constraint"}
)


@dataclass
class DockerfileSteps:
    """The native meaning of a Dockerfile: its variables, its pip packages, what is left."""

    environment: dict[str, str] = field(default_factory=dict)
    requirements: list[str] = field(default_factory=list)
    not_applied: list[str] = field(default_factory=list)  # "COPY (line 4)"
    skipped_variables: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        """One line per kind of thing a native run does not do, for ``dev start`` to print."""
        notes: list[str] = []
        if self.not_applied:
            notes.append(
                "Dockerfile: " + ", ".join(self.not_applied) + " not applied in a native run; "
                "use `flightdeck dev compose` to run the project in its image"
            )
        if self.skipped_variables:
            notes.append(
                "Dockerfile: ENV " + ", ".join(self.skipped_variables) + " name paths inside "
                "the image; the host's values are used"
            )
        return notes


def _instructions(text: str) -> list[tuple[int, str, str]]:
    """(line number, INSTRUCTION, arguments), joining ``\\`` continuations, skipping comments."""
    out: list[tuple[int, str, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # comment lines inside a continuation are dropped, as Docker does
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        joined = " ".join(part.strip() for part in pending if part.strip())
        pending = []
        word, _, rest = joined.partition(" ")
        out.append((start, word.upper(), rest.strip()))
    if pending:
        joined = " ".join(pending)
        word, _, rest = joined.partition(" ")
        out.append((start, word.upper(), rest.strip()))
    return out


def _pairs(arguments: str, instruction: str, number: int) -> list[tuple[str, str | None]]:
    where = f"Dockerfile line {number}"
    try:
        words = shlex.split(arguments, posix=True)
    except ValueError:
        raise DevEnvError(f"{where}: {instruction} has an unclosed quote; close it") from None
    if instruction == "ENV" and words and "=" not in words[0]:
        # The old form: ENV KEY the rest of the line is the value
        key, _, value = arguments.partition(" ")
        words = [f"{key}={value.strip()}"]
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        key, sep, value = word.partition("=")
        if not _KEY.match(key):
            raise DevEnvError(
                f"{where}: {instruction} {key[:40]!r} is not a valid variable name; use "
                "letters, digits and '_'"
            )
        pairs.append((key, value if sep else None))
    return pairs


def _pip_packages(command: str) -> list[str] | None:
    """The packages of a ``pip install`` command, or ``None`` when it is something else."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if words[:2] in (["python", "-m"], ["python3", "-m"]):
        words = words[2:]
    for prefix in _PIP:
        if tuple(words[: len(prefix)]) == prefix:
            rest = words[len(prefix) :]
            break
    else:
        return None
    packages: list[str] = []
    remaining = iter(rest)
    for word in remaining:
        if word in _PIP_VALUE_OPTIONS:
            next(remaining, None)
        elif word in {"-r", "--requirement"}:
            if not _is_project_requirements(next(remaining, "")):
                return None  # a file made inside the image: not something we can apply
        elif word in {"-e", "--editable"}:
            return None
        elif not word.startswith("-") and not _is_airflow(word):
            packages.append(word)
    return packages


def _is_project_requirements(path: str) -> bool:
    """The project's own requirements.txt (copied into the image): installed natively anyway."""
    return path.rsplit("/", 1)[-1] == "requirements.txt"


def _is_airflow(spec: str) -> bool:
    """``apache-airflow`` itself: natively its version comes from FROM or config.yaml."""
    name = re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0].strip().lower().replace("_", "-")
    return name == "apache-airflow"


def _copies_project_lists(arguments: str) -> bool:
    """``COPY requirements.txt …`` / ``COPY packages.txt …``: natively read in place."""
    words = [w for w in arguments.split() if not w.startswith("--")]
    return len(words) >= 2 and all(
        w.lstrip("./") in {"requirements.txt", "packages.txt"} for w in words[:-1]
    )


def read_dockerfile(path: Path) -> DockerfileSteps:
    """Read ``path`` (a missing file is an empty set of steps); ``$VAR`` in ``ENV`` and
    ``ARG`` values names earlier ``ENV``/``ARG`` lines, as in a build (undefined is empty)."""
    steps = DockerfileSteps()
    if not path.exists():
        return steps
    seen_from = False
    values: dict[str, str] = {}
    for number, instruction, arguments in _instructions(read_project_text(path)):
        if instruction == "FROM" and not seen_from:
            seen_from = True
            continue
        if instruction in {"ENV", "ARG"}:
            for key, raw in _pairs(arguments, instruction, number):
                if raw is None:
                    continue  # ARG without a default: given at build time, nothing to apply
                value = expand_variables(raw, values, f"Dockerfile line {number} ({key})")
                values[key] = value
                if key in CONTAINER_ONLY:
                    steps.skipped_variables.append(key)
                else:
                    steps.environment[key] = value
            continue
        if instruction in {"COPY", "ADD"} and _copies_project_lists(arguments):
            continue
        if instruction == "RUN":
            commands = [part.strip() for part in arguments.split("&&")]
            found = [_pip_packages(command) for command in commands]
            if commands and all(packages is not None for packages in found):
                steps.requirements += [p for packages in found if packages for p in packages]
                continue
        steps.not_applied.append(f"{instruction} (line {number})")
    return steps
