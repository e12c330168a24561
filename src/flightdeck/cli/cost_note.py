"""The cost note of `deployment get` and `cluster get`, from the API's ``cost`` object."""

from __future__ import annotations

from typing import Any


def cost_lines(cost: dict[str, Any] | None) -> list[str]:
    """A headline (what it costs now, or what hibernation saves) then one line per resource."""
    if not cost:
        return ["-"]
    if cost["running"]:
        head = f"${cost['hourly_usd']:.4f}/hour on demand in {cost['region']}"
    else:
        head = f"$0/hour now; not incurring ${cost['not_incurred_hourly_usd']:.4f}/hour"
    lines = [f"{head} ({cost['note']})"]
    lines += [
        f"  {line['count']} x {line['what']}: ${line['hourly_usd']:.4f}/hour"
        for line in cost["lines"]
    ]
    lines.append(f"  prices: {cost['source']}")
    return lines
