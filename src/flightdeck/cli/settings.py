"""Load settings for commands that run server-side code, turning invalid ones into one line."""

from __future__ import annotations

from flightdeck.cli.errors import CliError
from flightdeck.config import Settings, get_settings


def load_settings() -> Settings:
    from pydantic import ValidationError

    try:
        return get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        where = f"FLIGHTDECK_{field.upper()}: " if field else ""
        raise CliError(f"{where}{message}") from None
