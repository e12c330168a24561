"""How much a local Deployment may run at once: sized to this machine, not to the request.

A Kubernetes Deployment's parallelism is max_workers x tasks_per_worker because each worker
is a pod on its own node. On one machine every LocalExecutor slot is a process that stays
up while idle (about 100 MiB each), so the host decides: two per core, and no more than a
quarter of the memory holds, never more than the Deployment asked for.
"""

from __future__ import annotations

import os
from pathlib import Path

SLOTS_PER_CORE = 2
MEMORY_PER_SLOT = 150 * 1024 * 1024  # bytes: an idle task runner plus headroom for the task
MEMORY_SHARE = 0.25
MIN_SLOTS = 2


def total_memory() -> int | None:
    """Bytes of memory on this host (``/proc/meminfo``), None where that is not known."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def host_parallelism(cores: int | None = None, memory: int | None = None) -> int:
    cores = cores or os.cpu_count() or 1
    slots = cores * SLOTS_PER_CORE
    memory = memory if memory is not None else total_memory()
    if memory:
        slots = min(slots, int(memory * MEMORY_SHARE // MEMORY_PER_SLOT))
    return max(MIN_SLOTS, slots)


def local_parallelism(requested: int, cap: int | None = None) -> int:
    """What the local runtime gives Airflow's ``core.parallelism``."""
    slots = min(max(1, requested), host_parallelism())
    return min(slots, cap) if cap is not None else slots
