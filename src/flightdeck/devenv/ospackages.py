"""Whether the OS packages a project's ``packages.txt`` names are on this machine.

A native run cannot install them (they go into the image with ``apt-get``), so each one
is reported present or missing, asked of the host's package database with ``dpkg-query``.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class PackageCheck:
    present: list[str]
    missing: list[str]
    unchecked: list[str]  # no dpkg-query on this machine (not Debian or Ubuntu)

    def note(self) -> str | None:
        """One line for ``dev start``; ``None`` when packages.txt names nothing."""
        parts: list[str] = []
        if self.present:
            parts.append("present on this machine: " + ", ".join(self.present))
        if self.missing:
            parts.append(
                "missing: " + ", ".join(self.missing) + " (install them, e.g. `sudo apt-get "
                "install " + " ".join(self.missing) + "`, or use `flightdeck dev compose`)"
            )
        if self.unchecked:
            parts.append(
                "not checked (no dpkg-query here): " + ", ".join(self.unchecked) + "; "
                "install the equivalents yourself or use `flightdeck dev compose`"
            )
        return "packages.txt: " + "; ".join(parts) if parts else None


def check_packages(names: list[str]) -> PackageCheck:
    """Ask ``dpkg-query`` about each package (installed means status ``install ok installed``)."""
    query = shutil.which("dpkg-query")
    if query is None:
        return PackageCheck([], [], list(names))
    present: list[str] = []
    missing: list[str] = []
    for name in names:
        result = subprocess.run(
            [query, "-W", "-f=${Status}", "--", name],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        installed = result.returncode == 0 and result.stdout.strip().endswith(" installed")
        (present if installed else missing).append(name)
    return PackageCheck(present, missing, [])
