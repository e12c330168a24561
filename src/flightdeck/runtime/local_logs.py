"""Reading a local Deployment's component logs: bounded, filtered by time, scrubbed.

Each component (scheduler, api-server, ...) appends to its own file; a read looks at no
more than the last ``MAX_LOG_BYTES`` of each, so a log of gigabytes costs as much as one of
a megabyte. Offsets returned let a caller read only what was written since (``--follow``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from flightdeck.runtime.base import (
    MAX_LOG_BYTES,
    MAX_LOG_LINE_CHARS,
    LogLine,
    LogRead,
    bounded,
)

# Airflow's own lines start "[2026-12-01T14:00:00.123+0000]" or "2026-12-01T14:00:00.123Z".
_STAMP = re.compile(
    r"^\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)"
)


def line_time(line: str) -> datetime | None:
    """The timestamp a log line starts with (UTC when it names no zone), else ``None``."""
    found = _STAMP.match(line)
    if found is None:
        return None
    try:
        stamp = datetime.fromisoformat(found.group(1).replace(",", "."))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _read_tail(path: Path, start: int) -> tuple[str, int, bool]:
    """The text of ``path`` from ``start`` (at most its last MAX_LOG_BYTES), the offset read
    up to, and whether older bytes were skipped. A file shorter than ``start`` was
    replaced, so it is read from its beginning."""
    size = path.stat().st_size
    if start > size:
        start = 0
    skipped = size - start > MAX_LOG_BYTES
    begin = size - MAX_LOG_BYTES if skipped else start
    with path.open("rb") as handle:
        handle.seek(begin)
        data = handle.read(size - begin)
    end = data.rfind(b"\n")  # a line still being written is left for the next read
    if end < 0:
        return "", begin, skipped
    complete = data[: end + 1]
    if skipped:
        complete = complete.split(b"\n", 1)[1]  # the first line was cut in the middle
    return complete.decode(errors="replace"), begin + end + 1, skipped


def read_component_logs(
    files: Mapping[str, Path],
    scrub: Callable[[str], str],
    *,
    since: datetime | None = None,
    tail: int,
    offsets: Mapping[str, int] | None = None,
) -> LogRead:
    """The last ``tail`` lines of ``files`` (component -> log file), oldest first, each
    passed through ``scrub``; with ``since`` only lines from then on, with ``offsets``
    only what was written after them."""
    lines: list[LogLine] = []
    read_to: dict[str, int] = {}
    truncated = False
    for component, path in files.items():
        start = (offsets or {}).get(component, 0)
        if not path.is_file():
            read_to[component] = 0
            continue
        text, read_to[component], skipped = _read_tail(path, start)
        truncated |= skipped
        current: datetime | None = None
        for raw in text.splitlines():
            current = line_time(raw) or current
            if since is not None and (current is None or current < since):
                continue
            lines.append(LogLine(component, scrub(bounded(raw, MAX_LOG_LINE_CHARS)), current))
    if len(files) > 1:
        # Interleave the components by time; a line without any timestamp sorts first.
        epoch = datetime.min.replace(tzinfo=UTC)
        lines.sort(key=lambda item: item.timestamp or epoch)
    if len(lines) > tail:
        lines, truncated = lines[-tail:], True
    return LogRead(tuple(lines), read_to, truncated)
