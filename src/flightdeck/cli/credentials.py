"""Where the CLI keeps its API tokens: one per control-plane URL, in a 0600 file in the
user's config directory, with the URL commands use when none is given.

Only ``login``/``signup --url`` change that default URL: a URL given for one command
through ``FLIGHTDECK_URL`` (as the quickstart suggests for its own short-lived server)
gets its own token and leaves the default, and the token stored for it, as they were.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
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
    token_from_environment: bool = False  # FLIGHTDECK_TOKEN: nothing to forget on logout


@dataclass
class _Stored:
    default_url: str | None = None
    tokens: dict[str, str] = field(default_factory=dict)


def _normal(url: str) -> str:
    return url.rstrip("/")


def _read() -> _Stored:
    path = credentials_path()
    try:
        data = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        return _Stored()
    if "url" in data:  # the older one-server file: {"url": ..., "token": ...}
        url = _normal(str(data["url"]))
        return _Stored(url, {url: str(data["token"])} if data.get("token") else {})
    tokens = data.get("tokens")
    return _Stored(
        data.get("default_url"),
        {_normal(k): str(v) for k, v in tokens.items()} if isinstance(tokens, dict) else {},
    )


def _write(stored: _Stored) -> Path:
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"default_url": stored.default_url, "tokens": stored.tokens}, handle)
    path.chmod(0o600)
    return path


def load(url: str | None = None) -> Credentials:
    """The URL to talk to (``url``, else FLIGHTDECK_URL, else the stored default, else
    http://127.0.0.1:8765) and its token (FLIGHTDECK_TOKEN, for CI, else the one stored for
    that URL)."""
    stored = _read()
    chosen = _normal(url or os.environ.get("FLIGHTDECK_URL") or stored.default_url or DEFAULT_URL)
    environment_token = os.environ.get("FLIGHTDECK_TOKEN")
    if environment_token:
        return Credentials(chosen, environment_token, token_from_environment=True)
    return Credentials(chosen, stored.tokens.get(chosen))


def save(url: str, token: str, make_default: bool) -> Path:
    """Store ``token`` for ``url``; ``make_default`` when the user chose the URL with --url."""
    stored = _read()
    stored.tokens[_normal(url)] = token
    if make_default:
        stored.default_url = _normal(url)
    return _write(stored)


def forget(url: str) -> bool:
    """Drop the token stored for ``url``; whether there was one."""
    stored = _read()
    if stored.tokens.pop(_normal(url), None) is None:
        return False
    _write(stored)
    return True
