"""Run one Airflow component and keep secrets out of its console log.

Airflow 3's LocalExecutor also copies every task's log lines to the scheduler's console, and
that copy is not passed through Airflow's secret masker (the task log file is). So the
supervisor starts each component through this guard: the component logs JSON, the guard
drops every event that came from a task (those are in the masked task log, where the UI
reads them) and writes the rest as readable lines. Lines that are not JSON (start-up
messages, tracebacks of the component itself) pass through unchanged.

Usage: ``python -m flightdeck.devenv.logguard LOGFILE COMMAND...`` (stdlib only).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from typing import Any

_TASK_KEYS = ("ti_id", "chan")
_SKIP_FIELDS = {"timestamp", "level", "event", "logger", "filename", "lineno"}


def from_task(event: dict[str, Any]) -> bool:
    """True for an event a task (or its supervisor) produced rather than the component."""
    logger = str(event.get("logger") or "")
    if logger == "task" or logger.startswith(("task.", "airflow.task")):
        return True
    return any(key in event for key in _TASK_KEYS)


def render(event: dict[str, Any]) -> str:
    parts = [str(event.get("timestamp", "")), f"[{event.get('level', 'info'):<9}]"]
    parts.append(str(event.get("event", "")))
    if event.get("logger"):
        parts.append(f"[{event['logger']}]")
    if event.get("filename"):
        parts.append(f"loc={event['filename']}:{event.get('lineno', '')}")
    parts += [f"{key}={value}" for key, value in event.items() if key not in _SKIP_FIELDS]
    return " ".join(part for part in parts if part)


def filter_line(line: str) -> str | None:
    """The line to keep (rendered if it was a JSON event), or ``None`` to drop it."""
    stripped = line.strip()
    if not stripped.startswith("{"):
        return line.rstrip("\n")
    try:
        event = json.loads(stripped)
    except ValueError:
        return line.rstrip("\n")
    if not isinstance(event, dict):
        return line.rstrip("\n")
    return None if from_task(event) else render(event)


def main(argv: list[str]) -> int:
    log_path, command = argv[0], argv[1:]
    # The supervisor signals the whole process group; keep reading until the component ends
    # so its shutdown messages are logged too.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with open(log_path, "a", encoding="utf-8") as out:  # noqa: PTH123 - stdlib-only script
        out.write("(task output is not copied here: it is in the masked task logs)\n")
        out.flush()
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors="replace", preexec_fn=_default_signals,
        )
        assert process.stdout is not None
        for line in process.stdout:
            kept = filter_line(line)
            if kept is not None:
                out.write(kept + "\n")
                out.flush()
        return process.wait()


def _default_signals() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
