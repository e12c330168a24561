"""Reading a project's text files with a size limit and a clear answer for bad bytes.

``.env``, ``airflow_settings.yaml``, ``.flightdeck/config.yaml``, the ``Dockerfile`` and the
requirement lists are written by hand (or by other tools), so a stray binary byte or a
huge file must stop ``dev`` commands with the file named, not with a ``UnicodeDecodeError``
traceback or a long stall.
"""

from __future__ import annotations

from pathlib import Path

from flightdeck.devenv.errors import DevEnvError

MAX_PROJECT_FILE_BYTES = 1024 * 1024
"""The largest project file read (1 MiB); real ones are a few kilobytes."""


def read_project_text(path: Path, name: str | None = None) -> str:
    """The file's text; DevEnvError when it is too large, not UTF-8 or unreadable."""
    shown = name or path.name
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PROJECT_FILE_BYTES + 1)
    except IsADirectoryError:
        raise DevEnvError(f"{shown} is a directory; it must be a text file") from None
    except OSError as exc:
        raise DevEnvError(f"{shown}: cannot be read ({exc.strerror})") from None
    if len(data) > MAX_PROJECT_FILE_BYTES:
        raise DevEnvError(
            f"{shown} is larger than {MAX_PROJECT_FILE_BYTES // 1024} KiB; project settings "
            "files are small text files: check that it is the right file"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DevEnvError(
            f"{shown} line {line}: byte 0x{data[exc.start]:02x} is not UTF-8 text; "
            "save the file as UTF-8"
        ) from None
