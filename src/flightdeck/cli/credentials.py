"""Where the CLI keeps the control-plane URL and API token: a 0600 file in the user's config dir."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8765"


def config_dir() -> Path:
    explicit = os.environ.get("FLIGHTDECK_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "flightdeck"


def credentials_path() -> Path:
    return config_dir() / "credentials.json"


@dataclass(frozen=True)
class Credentials:
    url: str
    token: str | None


def load() -> Credentials:
    """Environment first (FLIGHTDECK_URL, FLIGHTDECK_TOKEN, for CI), then the stored file."""
    stored: dict[str, str] = {}
    path = credentials_path()
    if path.is_file():
        try:
            stored = json.loads(path.read_text())
        except (OSError, ValueError):
            stored = {}
    url = os.environ.get("FLIGHTDECK_URL") or stored.get("url") or DEFAULT_URL
    token = os.environ.get("FLIGHTDECK_TOKEN") or stored.get("token")
    return Credentials(url=url.rstrip("/"), token=token)


def save(url: str, token: str) -> Path:
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"url": url.rstrip("/"), "token": token}, handle)
    path.chmod(0o600)
    return path


def forget() -> bool:
    path = credentials_path()
    if path.exists():
        path.unlink()
        return True
    return False
