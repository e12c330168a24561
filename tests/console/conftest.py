"""Console tests: the API's test client fixtures (HTTP tests), and for the browser tests a
real `flightdeck server` on loopback driven by Playwright through Debian's Chromium."""

from __future__ import annotations

from api.conftest import cheap_password_hashing, client, settings

__all__ = ["cheap_password_hashing", "client", "settings"]
