"""Astro Runtime lines and the Airflow each is built on, so any runtime tag maps to a version.

Astro Runtime names a runtime release, not an Airflow release: Airflow 2 runtimes are
``major.minor.patch`` and each runtime major tracks one Airflow 2 minor; Airflow 3 runtimes
are ``<airflow major.minor>-<runtime patch>``. Images come as ``-base`` and ``-slim`` variants
and with ``-python-3.x`` suffixes, and astro-cli accepts floating tags (``runtime:3.1``,
``astro-runtime:12``) meaning the newest release of that line.

Source of the data: Astronomer's published Astro Runtime documentation (the "Runtime
versioning" table of the runtime image architecture page, the runtime release notes and
the runtime provider package reference at astronomer.io/docs/runtime). ``newest`` is the
newest release of a line listed there when this table was written; ``None`` where we could
not source one (the line still resolves to its Airflow minor). Runtime patches can carry
Airflow patches, so a line maps to an Airflow minor and the installer takes its newest patch.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from flightdeck.devenv.errors import DevEnvError


@dataclass(frozen=True)
class RuntimeLine:
    line: str  # "3.1" for Airflow 3 runtimes, "12" for an Airflow 2 runtime major
    airflow: str  # the Airflow minor the line is built on, as "X.Y.*"
    newest: str | None = None  # the newest release of the line we know of


RUNTIME_LINES: tuple[RuntimeLine, ...] = (
    RuntimeLine("4", "2.2.*"),
    RuntimeLine("5", "2.3.*"),
    RuntimeLine("6", "2.4.*"),
    RuntimeLine("7", "2.5.*"),
    RuntimeLine("8", "2.6.*"),
    RuntimeLine("9", "2.7.*"),
    RuntimeLine("10", "2.8.*"),
    RuntimeLine("11", "2.9.*"),
    RuntimeLine("12", "2.10.*", "12.8.0"),
    RuntimeLine("13", "2.11.*"),
    RuntimeLine("3.0", "3.0.*"),
    RuntimeLine("3.1", "3.1.*", "3.1-12"),
    RuntimeLine("3.2", "3.2.*", "3.2-6"),
    RuntimeLine("3.3", "3.3.*", "3.3-2"),
)
_BY_LINE = {line.line: line for line in RUNTIME_LINES}

_VARIANT = re.compile(r"(?:-python-3\.\d+)?(?:-(?:base|slim))?(?:-python-3\.\d+)?$")
_AF3 = re.compile(r"^(?P<line>3\.\d+)(?:-(?P<patch>\d+))?$")
_AF2 = re.compile(r"^(?P<line>\d+)(?:\.\d+(?:\.\d+)?)?$")


@dataclass(frozen=True)
class RuntimeTag:
    """What a runtime image tag means: its line, the release it names and the Airflow."""

    tag: str
    line: RuntimeLine
    release: str | None  # the exact release; for a floating tag, the line's newest known
    floating: bool

    @property
    def airflow(self) -> str:
        return self.line.airflow


def resolve_runtime_tag(tag: str) -> RuntimeTag:
    """Map an Astro Runtime image tag (pinned or floating, any variant) to its line."""
    version = _VARIANT.sub("", tag, count=1)
    match = _AF3.match(version) or _AF2.match(version)
    line = _BY_LINE.get(match.group("line")) if match else None
    if match is None or line is None:
        raise DevEnvError(
            f"Dockerfile: unknown Astro Runtime tag {tag!r}; nearest known: "
            f"{', '.join(nearest_lines(version))} (or set airflow_version in "
            ".flightdeck/config.yaml)"
        )
    floating = version == line.line or (match.re is _AF2 and version.count(".") < 2)
    if not floating:
        release: str | None = version
    elif line.newest and (version == line.line or line.newest.startswith(version + ".")):
        release = line.newest
    else:
        release = None
    return RuntimeTag(tag, line, release, floating)


def nearest_lines(version: str, count: int = 3) -> list[str]:
    """The known runtime lines closest to ``version``, shown with their newest release."""
    names = [line.line for line in RUNTIME_LINES]
    head = version.split("-", 1)[0]
    candidates = {head, head.split(".", 1)[0], ".".join(head.split(".")[:2])}
    close: list[str] = []
    for candidate in sorted(candidates, key=len, reverse=True):
        for name in difflib.get_close_matches(candidate, names, n=count, cutoff=0.3):
            if name not in close:
                close.append(name)
    chosen = close[:count] or names[-count:]
    return [_shown(_BY_LINE[name]) for name in chosen]


def _shown(line: RuntimeLine) -> str:
    newest = f", newest {line.newest}" if line.newest else ""
    return f"{line.line} (Airflow {line.airflow.removesuffix('.*')}{newest})"
