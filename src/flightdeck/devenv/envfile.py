r"""A strict reader and careful writer for a project's ``.env`` file, with Docker Compose's rules.

Airflow's processes get these variables, so a typo must stop ``dev start`` with the
file and line named instead of silently starting Airflow with half a configuration.
The syntax is the one Docker Compose documents for ``.env`` files (so an Astro project's
``.env`` means the same here as in its containers): ``export`` prefixes, full-line and
`` #`` inline comments, single quotes taken literally, double quotes with ``\n \r \t \\ \"``
escapes, quoted values over several lines, and ``$VAR`` / ``${VAR}`` / ``${VAR:-default}``
/ ``${VAR-default}`` / ``${VAR:?error}`` / ``${VAR:+alt}`` interpolation (``$$`` is a ``$``).
Names resolve from earlier lines of the file first, then from ``environ``.
Writing keeps the developer's comments and order and replaces only the keys we own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.textfile import read_project_text

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "$": "$"}
_EXPORT = re.compile(r"^export[ \t]+")


class _Interpolator:
    """Expands ``$`` expressions of one value; errors name the file, line and key."""

    def __init__(
        self, lookup: Mapping[str, str], where: str, escapes: bool, strict: bool = False
    ) -> None:
        self.lookup = lookup
        self.where = where
        self.escapes = escapes
        self.strict = strict

    def _get(self, name: str) -> str:
        value = self.lookup.get(name)
        if value is None and self.strict:
            raise DevEnvError(
                f"{self.where}: ${name} is not defined on an earlier line; write $$ for a "
                "literal dollar sign"
            )
        return value or ""

    def expand(self, text: str) -> str:
        return self._scan(text, 0, nested=False)[0]

    def _scan(self, text: str, pos: int, nested: bool) -> tuple[str, int]:
        out: list[str] = []
        while pos < len(text):
            char = text[pos]
            if nested and char == "}":
                return "".join(out), pos
            if char == "\\" and self.escapes and pos + 1 < len(text):
                follow = text[pos + 1]
                out.append(_ESCAPES.get(follow, "\\" + follow))
                pos += 2
            elif char == "$":
                value, pos = self._dollar(text, pos)
                out.append(value)
            else:
                out.append(char)
                pos += 1
        if nested:
            raise DevEnvError(f"{self.where}: a '${{' is never closed; add the closing '}}'")
        return "".join(out), pos

    def _dollar(self, text: str, pos: int) -> tuple[str, int]:
        follow = text[pos + 1 : pos + 2]
        if follow == "$":
            return "$", pos + 2
        if follow == "{":
            return self._braced(text, pos + 2)
        if match := _NAME.match(text, pos + 1):
            return self._get(match.group()), match.end()
        return "$", pos + 1  # not a variable: kept as it is, as Compose does

    def _braced(self, text: str, pos: int) -> tuple[str, int]:
        match = _NAME.match(text, pos)
        if match is None:
            raise DevEnvError(
                f"{self.where}: '${{' must be followed by a variable name; write $$ for a "
                "literal dollar sign"
            )
        name, pos = match.group(), match.end()
        operator = next(
            (op for op in (":-", ":?", ":+", "-", "?", "+", "}") if text.startswith(op, pos)), None
        )
        if operator is None and pos >= len(text):
            raise DevEnvError(f"{self.where}: a '${{' is never closed; add the closing '}}'")
        if operator is None:
            raise DevEnvError(
                f"{self.where}: unsupported expression after ${{{name}; use ${{{name}}}, "
                f"${{{name}:-default}} or ${{{name}-default}}"
            )
        if operator == "}":
            return self._get(name), pos + 1
        word, end = self._scan(text, pos + len(operator), nested=True)
        value = self.lookup.get(name)
        is_set = value is not None if operator in {"-", "?", "+"} else bool(value)
        if operator.endswith("-"):
            return (value if is_set and value is not None else word), end + 1
        if operator.endswith("+"):
            return (word if is_set else ""), end + 1
        if not is_set:
            raise DevEnvError(f"{self.where}: {name} is required: {word or 'it is not set'}")
        return value or "", end + 1


def parse_env_text(
    text: str,
    source: str = ".env",
    environ: Mapping[str, str] | None = None,
    strict: bool = False,
) -> dict[str, str]:
    """Parse ``KEY=VALUE`` lines with Compose's rules (see the module); refuse anything else.

    ``environ`` is what ``$VAR`` may name besides earlier lines (the process environment
    when ``None``); pass ``{}`` where the caller's environment must not leak in. ``strict``
    refuses a name that is not defined instead of reading it as empty (Compose's choice),
    so a Deployment's secret holding a ``$`` is not silently cut short.
    """
    return _parse(text, source, environ, strict)[0]


def _parse(
    text: str, source: str, environ: Mapping[str, str] | None, strict: bool = False
) -> tuple[dict[str, str], list[tuple[int, int, str]]]:
    """The values, and each assignment's (first line, line after it, key) for rewriting."""
    base = os.environ if environ is None else environ
    values: dict[str, str] = {}
    spans: list[tuple[int, int, str]] = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        number = index + 1
        raw = lines[index].removesuffix("\r")
        index += 1
        if "\x00" in raw:
            raise DevEnvError(
                f"{source} line {number}: contains a NUL byte, which no environment variable "
                "can hold; remove it"
            )
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = _EXPORT.sub("", line, count=1)
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
        where = f"{source} line {number} ({key})"
        lookup = _Lookup(values, base)
        value = value.strip()
        if value[:1] in {"'", '"'}:
            inner, index = _quoted(value, lines, index, source, number, key)
            if value[0] == "'":
                values[key] = inner.replace("\\'", "'")
            else:
                values[key] = _Interpolator(lookup, where, True, strict).expand(inner)
            spans.append((number - 1, index, key))
            continue
        # An unquoted value ends at " #" (an inline comment), like docker compose reads it.
        comment = value.find(" #")
        unquoted = (value[:comment] if comment != -1 else value).strip()
        values[key] = _Interpolator(lookup, where, False, strict).expand(unquoted)
        spans.append((number - 1, index, key))
    return values, spans


class _Lookup(Mapping[str, str]):
    """Earlier lines of the file first, then the environment."""

    def __init__(self, values: dict[str, str], base: Mapping[str, str]) -> None:
        self._file = values
        self._base = base

    def __getitem__(self, name: str) -> str:
        return self._file[name] if name in self._file else self._base[name]

    def __iter__(self) -> Iterator[str]:
        return iter({**self._base, **self._file})

    def __len__(self) -> int:
        return len({**self._base, **self._file})


def _quoted(
    value: str, lines: list[str], index: int, source: str, number: int, key: str
) -> tuple[str, int]:
    """The text inside the quotes (escapes kept), which may run over the next lines."""
    quote = value[0]
    text = value[1:]
    inner: list[str] = []
    while True:
        pos = 0
        while pos < len(text):
            char = text[pos]
            if char == "\\" and pos + 1 < len(text):
                inner.append(text[pos : pos + 2])
                pos += 2
                continue
            if char == quote:
                rest = text[pos + 1 :].strip()
                if rest and not rest.startswith("#"):
                    raise DevEnvError(
                        f"{source} line {index}: unexpected text after "
                        f"the quoted value of {key}; remove it or start it with '#'"
                    )
                return "".join(inner), index
            inner.append(char)
            pos += 1
        if index >= len(lines):
            raise DevEnvError(
                f"{source} line {number}: the value of {key} opens a {quote} quote that is "
                "never closed; close it (a quoted value may span lines)"
            )
        text = lines[index].removesuffix("\r")
        if "\x00" in text:
            raise DevEnvError(
                f"{source} line {index + 1}: contains a NUL byte, which no environment "
                "variable can hold; remove it"
            )
        index += 1
        inner.append("\n")


def read_env_file(path: Path) -> dict[str, str]:
    """Read ``path`` if it exists; a missing file is an empty environment."""
    if not path.exists():
        return {}
    return parse_env_text(read_project_text(path), source=path.name)


def _quote(value: str) -> str:
    """``value`` written so that the parser reads it back unchanged (no interpolation)."""
    if value == "" or re.search(r"[\s#'\"\\$]", value):
        if "'" not in value and "\\" not in value:
            return "'" + value + "'"
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")
        return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"'
    return value


def update_env_file(path: Path, updates: dict[str, str | None], comment: str | None = None) -> None:
    """Set (or, with ``None``, remove) keys in place and append new ones; write atomically.

    The existing file is parsed first so a broken ``.env`` is reported, not made worse; an
    assignment spanning several lines (a quoted multi-line value) is replaced as a whole.
    """
    text = read_project_text(path) if path.exists() else ""
    _, spans = _parse(text, path.name, None)
    lines = text.splitlines()
    starts = {start: (end, key) for start, end, key in spans}
    remaining = dict(updates)
    out: list[str] = []
    index = 0
    while index < len(lines):
        span = starts.get(index)
        if span is not None and span[1] in remaining:
            value = remaining.pop(span[1])
            if value is not None:
                out.append(f"{span[1]}={_quote(value)}")
            index = max(span[0], index + 1)
            continue
        out.append(lines[index])
        index += 1
    new = {k: v for k, v in remaining.items() if v is not None}
    if new:
        if out and out[-1].strip():
            out.append("")
        if comment:
            out.append(f"# {comment}")
        out.extend(f"{k}={_quote(v)}" for k, v in new.items())
    result = "\n".join(out) + "\n"
    written = _parse(result, path.name, None)[0]  # what we write must read back
    if any(written.get(k) != v for k, v in updates.items() if v is not None):
        raise DevEnvError(f"{path.name}: a value would not read back unchanged; report this")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(result, encoding="utf-8")
    tmp.replace(path)


def expand_variables(text: str, lookup: Mapping[str, str], where: str) -> str:
    """``$VAR`` / ``${VAR:-default}`` expansion with the ``.env`` rules (no escapes), for
    other files that use the same syntax (a Dockerfile's ``ENV`` and ``ARG``)."""
    return _Interpolator(lookup, where, escapes=False).expand(text)
