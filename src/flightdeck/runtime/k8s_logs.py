"""Reading a Kubernetes Deployment's component logs from its pods, through the Kubernetes API.

Each component's pods are found by the chart's labels (``component``, ``release``) in the
Deployment's namespace, and each pod's main container log is read with ``timestamps=true``
(the kubelet's own RFC 3339 stamp on every line), bounded by ``tailLines`` and
``limitBytes``, and never with ``follow=true``: the API answers at once, and
``--follow`` is repeated reads. A read returns, per component, the time of its last line
(epoch microseconds) as its offset; given back, the next read asks only for the seconds
since (``sinceSeconds``) and drops the lines already returned.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flightdeck.runtime.base import MAX_LOG_BYTES, MAX_LOG_LINE_CHARS, LogLine, LogRead, bounded

# The chart's ``component`` label and container name of each log component, by Airflow major:
# Airflow 2 has a webserver where 3 has an api-server, and parses DAGs in the scheduler.
_CHART_COMPONENT = {
    2: {"scheduler": "scheduler", "api-server": "webserver", "triggerer": "triggerer",
        "worker": "worker"},
    3: {"scheduler": "scheduler", "api-server": "api-server", "dag-processor": "dag-processor",
        "triggerer": "triggerer", "worker": "worker"},
}  # fmt: skip


@dataclass(frozen=True)
class PodLogRequest:
    """One pod log read: the path and query parameters sent to the Kubernetes API."""

    component: str
    path: str
    params: Mapping[str, str]


def chart_component(component: str, major: int) -> str | None:
    """The chart's name for ``component`` on Airflow ``major``; ``None`` if it has none."""
    return _CHART_COMPONENT.get(major, _CHART_COMPONENT[3]).get(component)


def pod_selector(chart_name: str, release: str) -> str:
    return f"component={chart_name},release={release}"


def since_seconds(now: datetime, since: datetime | None, after_us: int | None) -> int | None:
    """Whole seconds back to the later of ``since`` and the previous read's last line."""
    starts = [t for t in (since, _from_us(after_us)) if t is not None]
    if not starts:
        return None
    return max(1, math.ceil((now - max(starts)).total_seconds()) + 1)


def log_request(
    namespace: str, pod: str, component: str, container: str, *, tail: int, seconds: int | None
) -> PodLogRequest:
    params = {
        "container": container,
        "timestamps": "true",
        "follow": "false",
        "tailLines": str(tail),
        "limitBytes": str(MAX_LOG_BYTES),
    }
    if seconds is not None:
        params["sinceSeconds"] = str(seconds)
    return PodLogRequest(component, f"/api/v1/namespaces/{namespace}/pods/{pod}/log", params)


def pod_names(listing: Mapping[str, Any] | None) -> list[str]:
    """Pods that have started (a pending pod has no log yet), oldest first."""
    pods = [
        p
        for p in (listing or {}).get("items", [])
        if (p.get("status") or {}).get("phase") in ("Running", "Succeeded", "Failed")
    ]
    pods.sort(key=lambda p: ((p.get("status") or {}).get("startTime") or "", p["metadata"]["name"]))
    return [p["metadata"]["name"] for p in pods]


def parse_line(raw: str) -> tuple[datetime | None, str]:
    """``2026-12-01T14:00:00.123456789Z text`` as (time, text); the kubelet's stamp has up
    to nine fractional digits, Python's parser takes six."""
    stamp, sep, text = raw.partition(" ")
    if not sep:
        return None, raw
    head, dot, rest = stamp.rstrip("Z").partition(".")
    digits = "".join(c for c in rest if c.isdigit())[:6]
    try:
        parsed = datetime.fromisoformat(head + (f".{digits}" if dot and digits else ""))
    except ValueError:
        return None, raw
    return parsed.replace(tzinfo=UTC), text


def to_us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _from_us(value: int | None) -> datetime | None:
    """An offset back as a time; 0 (nothing read yet) is none."""
    return datetime.fromtimestamp(value / 1_000_000, UTC) if value else None


def collect(
    texts: Iterable[tuple[str, str]],
    mask: Callable[[str], str],
    *,
    components: Iterable[str],
    since: datetime | None,
    tail: int,
    offsets: Mapping[str, int] | None,
) -> LogRead:
    """Lines of ``texts`` ((component, a pod's log text) pairs), masked, oldest first: those
    from ``since`` on and after each component's offset; the newest ``tail`` of them."""
    lines: list[LogLine] = []
    read_to = {name: (offsets or {}).get(name, 0) for name in components}
    for component, text in texts:
        after = _from_us((offsets or {}).get(component))
        for raw in text.splitlines():
            moment, line = parse_line(raw)
            if moment is not None and (
                (after is not None and moment <= after) or (since is not None and moment < since)
            ):
                continue
            lines.append(LogLine(component, mask(bounded(line, MAX_LOG_LINE_CHARS)), moment))
            if moment is not None:
                read_to[component] = max(read_to.get(component, 0), to_us(moment))
    epoch = datetime.min.replace(tzinfo=UTC)
    lines.sort(key=lambda item: item.timestamp or epoch)
    truncated = len(lines) > tail
    return LogRead(tuple(lines[-tail:]), read_to, truncated)
