"""Which AWS identity a project's Airflow uses: the developer's own, never a service key.

Natively Airflow inherits the developer's environment, so a named profile (including SSO
profiles made by ``aws configure sso``) only has to be recorded; botocore does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from flightdeck.devenv.errors import DevEnvError


@dataclass(frozen=True)
class ProfileInfo:
    name: str
    sso: bool
    region: str | None


def profile_info(name: str) -> ProfileInfo:
    """Look ``name`` up in the AWS config/credentials files botocore reads (env vars honoured)."""
    import botocore.session

    session = botocore.session.Session()
    if name not in session.available_profiles:
        known = ", ".join(sorted(session.available_profiles)) or "none"
        raise DevEnvError(
            f"--profile {name!r} is not in your AWS config (profiles found: {known}); create it "
            "with `aws configure --profile NAME` or `aws configure sso`"
        )
    config = session.full_config.get("profiles", {}).get(name, {})
    sso = any(key in config for key in ("sso_session", "sso_start_url"))
    return ProfileInfo(name=name, sso=sso, region=config.get("region"))
