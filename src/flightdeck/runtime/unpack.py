"""The child process that unpacks a code bundle, under limits the kernel enforces.

Run as ``python -I -m flightdeck.runtime.unpack REQUEST`` by
:func:`flightdeck.runtime.bundle.safe_extract` (REQUEST is a JSON object: archive, dest,
allowed, max_files, max_bytes, limits; with ``"mode": "scan"`` only the headers are read).
It caps its own CPU time, address space, file size and open files before reading a byte of
the archive, then prints one result line: the counts, or the one-line reason the bundle was
refused. Past a limit the kernel ends it and the parent explains why.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

from flightdeck.runtime.base import CodeRejected
from flightdeck.runtime.bundle import (
    MAX_ARCHIVE_BYTES,
    UNPACK_RESULT_PREFIX,
    UnpackLimits,
    extract_in_this_process,
    scan_in_this_process,
)


def _limit(limits: UnpackLimits, max_bytes: int) -> None:
    # Soft CPU limit sends SIGXCPU (which ends Python); the hard one a second later, SIGKILL.
    cpu = limits.cpu_seconds
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes + 1, max_bytes + 1))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main(argv: list[str]) -> int:
    request = json.loads(argv[0])
    scan_only = request.get("mode") == "scan"
    max_bytes = MAX_ARCHIVE_BYTES if scan_only else int(request["max_bytes"])
    limits = UnpackLimits(**request["limits"])
    _limit(limits, max_bytes)
    try:
        if scan_only:
            result = scan_in_this_process(Path(request["archive"]), limits.header_bytes)
        else:
            result = extract_in_this_process(
                Path(request["archive"]),
                Path(request["dest"]),
                tuple(request["allowed"]),
                int(request["max_files"]),
                max_bytes,
                limits.header_bytes,
            )
    except CodeRejected as exc:
        print(UNPACK_RESULT_PREFIX + json.dumps({"rejected": str(exc)}))
        return 0
    print(UNPACK_RESULT_PREFIX + json.dumps({"files": result.files, "bytes": result.bytes}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
