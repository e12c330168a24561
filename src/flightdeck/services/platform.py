"""The platform's own AWS identity (the control plane's default credential chain)."""

from __future__ import annotations

from functools import lru_cache

from flightdeck.config import Settings


def platform_account_id(settings: Settings) -> str:
    """The configured platform account, else the one the default credentials belong to."""
    if settings.platform_account_id:
        return settings.platform_account_id
    return _caller_account(settings.aws_endpoint_url or "")


@lru_cache(maxsize=4)
def _caller_account(_endpoint_key: str) -> str:
    from flightdeck.aws import session as aws

    sts = aws.client(aws.platform_session(), "sts")
    return str(sts.get_caller_identity()["Account"])
