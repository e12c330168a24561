"""A strict reader and careful writer for a project's ``.env`` file.

Airflow's processes get these variables, so a typo must stop ``dev start`` with the
file and line named instead of silently starting Airflow with half a configuration.
Writing keeps the developer's comments and order and replaces only the keys we own.
"""

from __future__ import annotations

import re
from pathlib import Path

from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.textfile import read_project_text

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_env_text(text: str, source: str = ".env") -> dict[str, str]:
    """Parse ``KEY=VALUE`` lines (optional ``export``, quotes, comments); refuse anything else."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if "\x00" in raw:
            raise DevEnvError(
                f"{source} line {number}: contains a NUL byte, which no environment variable "
                "can hold; remove it"
            )
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep:
            raise DevEnvError(
                f"{source} line {number}: expected KEY=VALUE but found {key[:40]!r}; "
                "add '=' and a value or comment the line out with '#'"
            )
        if not _KEY.match(key):
            raise DevEnvError(
                f"{source} line {number}: {key[:40]!r} is not a valid variable name; "
                "use letters, digits and '_' and do not start with a digit"
            )
        values[key] = _unquote(value.strip(), source, number, key)
    return values


def _unquote(value: str, source: str, number: int, key: str) -> str:
    if value[:1] in {"'", '"'}:
        quote = value[0]
        end = value.find(quote, 1)
        if end == -1:
            raise DevEnvError(
                f"{source} line {number}: the value of {key} opens a {quote} quote that is "
                "never closed; close it on the same line"
            )
        rest = value[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            raise DevEnvError(
                f"{source} line {number}: unexpected text after the quoted value of {key}; "
                "remove it or start it with '#'"
            )
        inner = value[1:end]
        return inner.replace("\\n", "\n") if quote == '"' else inner
    # An unquoted value ends at " #" (an inline comment), like docker compose reads it.
    comment = value.find(" #")
    return (value[:comment] if comment != -1 else value).strip()


def read_env_file(path: Path) -> dict[str, str]:
    """Read ``path`` if it exists; a missing file is an empty environment."""
    if not path.exists():
        return {}
    return parse_env_text(read_project_text(path), source=path.name)


def _quote(value: str) -> str:
    if value == "" or re.search(r"[\s#'\"\\]", value):
        return "'" + value + "'" if "'" not in value else '"' + value.replace('"', '\\"') + '"'
    return value


def update_env_file(path: Path, updates: dict[str, str | None], comment: str | None = None) -> None:
    """Set (or, with ``None``, remove) keys in place and append new ones; write atomically.

    The existing file is parsed first so a broken ``.env`` is reported, not made worse.
    """
    text = read_project_text(path) if path.exists() else ""
    parse_env_text(text, source=path.name)
    remaining = dict(updates)
    out: list[str] = []
    for raw in text.splitlines():
        stripped = raw.strip()
        body = stripped[len("export ") :] if stripped.startswith("export ") else stripped
        key = body.partition("=")[0].strip()
        if stripped and not stripped.startswith("#") and key in remaining:
            value = remaining.pop(key)
            if value is not None:
                out.append(f"{key}={_quote(value)}")
            continue
        out.append(raw)
    new = {k: v for k, v in remaining.items() if v is not None}
    if new:
        if out and out[-1].strip():
            out.append("")
        if comment:
            out.append(f"# {comment}")
        out.extend(f"{k}={_quote(v)}" for k, v in new.items())
    result = "\n".join(out) + "\n"
    parse_env_text(result, source=path.name)  # what we write must read back
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(result, encoding="utf-8")
    tmp.replace(path)
