"""The platform's own AWS identity (the control plane's configured credentials)."""

from __future__ import annotations

from flightdeck.aws.session import SessionFactory
from flightdeck.config import Settings


def platform_account_id(settings: Settings, sessions: SessionFactory) -> str:
    """The configured platform account, else the one ``sessions``' platform identity is in."""
    return settings.platform_account_id or sessions.platform_account_id()
