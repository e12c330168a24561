"""A Deployment's environment variables, set and unset a few at a time
(`flightdeck deployment variable`, the console's Environment section).

A change is an ordinary Deployment update (``requests.update_deployment``): one new
generation, validated by the same rules, secret values sealed there and never returned, and
a timeline line naming the variables (never their values) and the components that applying
it restarts (:func:`flightdeck.runtime.base.components_to_restart`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from flightdeck.config import Settings
from flightdeck.db.models import Deployment, User
from flightdeck.services.deployments.requests import (
    DeploymentUpdate,
    check_env_name,
    get_deployment,
    get_manageable,
    update_deployment,
)
from flightdeck.services.errors import InvalidInput


@dataclass(frozen=True)
class EnvironmentVariable:
    """One variable as it may be shown: a secret's value is never here."""

    key: str
    secret: bool
    value: str | None = None


def list_variables(
    session: Session, user: User, organization_id: str, ref: str
) -> list[EnvironmentVariable]:
    """Every variable, by name; for the Deployment's members."""
    deployment = get_deployment(session, user, organization_id, ref)
    plain = dict(deployment.spec.get("environment") or {})
    rows = [EnvironmentVariable(key, False, value) for key, value in plain.items()]
    rows += [EnvironmentVariable(key, True) for key in deployment.secret_environment]
    return sorted(rows, key=lambda row: row.key)


def change_variables(
    session: Session,
    user: User,
    organization_id: str,
    ref: str,
    settings: Settings,
    *,
    values: Mapping[str, str] | None = None,
    secret: bool = False,
    unset: Sequence[str] = (),
) -> Deployment:
    """Set ``values`` (secret ones sealed when ``secret``) and remove ``unset``, in one
    update. A variable set with the other kind moves from one list to the other; unsetting
    one that is not set is refused, so a typo is not silently a no-op."""
    values = dict(values or {})
    deployment = get_manageable(session, user, organization_id, ref)
    field_name = "secret_environment" if secret else "environment"
    if not values and not unset:
        raise InvalidInput(
            "variables: nothing to change; give at least one KEY=VALUE or a key to unset",
            field="variables",
        )
    for key in values:
        check_env_name(key, field_name)
    both = sorted(set(values) & set(unset))
    if both:
        raise InvalidInput(
            f"unset: {', '.join(both)} is both set and unset in one change; keep one",
            field="unset",
        )
    plain = dict(deployment.spec.get("environment") or {})
    sealed = set(deployment.secret_environment)
    for key in unset:
        if key not in plain and key not in sealed:
            raise InvalidInput(
                f"unset: {key!r} is not a variable of {deployment.name}; see "
                f"`flightdeck deployment variable list {deployment.name}`",
                field="unset",
            )
    for key in unset:
        plain.pop(key, None)
    for key, value in values.items():
        plain.pop(key, None)
        if not secret:
            plain[key] = value
    remove = tuple(key for key in sealed if key in unset or (key in values and not secret))
    update = DeploymentUpdate(
        environment=plain,
        secret_environment=values if secret else None,
        remove_secrets=remove,
    )
    return update_deployment(session, user, organization_id, deployment.id, update, settings)
