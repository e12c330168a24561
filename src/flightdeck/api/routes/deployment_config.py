"""A Deployment's configuration while it runs: its environment variables, and the
connections, variables and pools of its Airflow (reached through that Airflow's REST API).

Reads are for the Deployment's members, writes for those who may update it. No secret
value is ever sent back: secret variables are listed by name, Airflow objects masked.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from flightdeck.api.deps import CurrentUser, SessionDep, SettingsDep
from flightdeck.api.errors import error_responses
from flightdeck.api.routes.deployments import deployment_out
from flightdeck.api.schemas import (
    AirflowConnectionIn,
    AirflowConnectionOut,
    AirflowObjectWriteOut,
    AirflowPoolIn,
    AirflowPoolOut,
    AirflowSettingsIn,
    AirflowSettingsOut,
    AirflowVariableIn,
    AirflowVariableOut,
    DeploymentOut,
    EnvironmentChangeIn,
    EnvironmentVariableOut,
)
from flightdeck.devenv.project import Connection, Pool
from flightdeck.services.deployments import airflow_objects as objects
from flightdeck.services.deployments import variables
from flightdeck.services.deployments.airflow_objects import ObjectKind

router = APIRouter(
    prefix="/organizations/{organization_id}/deployments/{deployment}",
    tags=["deployments"],
    responses=error_responses(401, 403, 404, 422),
)
KEY = Annotated[str, Path(max_length=250)]


# -- environment variables ------------------------------------------------------------------
@router.get("/environment", response_model=list[EnvironmentVariableOut])
def list_environment(
    organization_id: str, deployment: str, user: CurrentUser, session: SessionDep
) -> list[EnvironmentVariableOut]:
    """Every environment variable; a secret one by name only."""
    rows = variables.list_variables(session, user, organization_id, deployment)
    return [EnvironmentVariableOut(key=r.key, secret=r.secret, value=r.value) for r in rows]


@router.patch("/environment", responses=error_responses(409), response_model=DeploymentOut)
def change_environment(
    organization_id: str,
    deployment: str,
    body: EnvironmentChangeIn,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> DeploymentOut:
    """Set and unset variables in one change; the worker applies it by restarting only the
    components that read them (the timeline names them)."""
    row = variables.change_variables(
        session,
        user,
        organization_id,
        deployment,
        settings,
        values=body.variables,
        secret=body.secret,
        unset=tuple(body.unset),
    )
    return deployment_out(row)


# -- Airflow objects ------------------------------------------------------------------------
@router.get(
    "/airflow/connections",
    responses=error_responses(409),
    response_model=list[AirflowConnectionOut],
)
def list_connections(
    organization_id: str,
    deployment: str,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> list[AirflowConnectionOut]:
    """The Airflow connections, passwords and sensitive extra fields masked."""
    rows = objects.list_objects(
        session, user, organization_id, deployment, ObjectKind.CONNECTION, settings
    )
    return [AirflowConnectionOut.model_validate(asdict(row)) for row in rows]


@router.put(
    "/airflow/connections/{key}",
    responses=error_responses(409),
    response_model=AirflowObjectWriteOut,
)
def set_connection(
    organization_id: str,
    deployment: str,
    key: KEY,
    body: AirflowConnectionIn,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> AirflowObjectWriteOut:
    connection = Connection(
        conn_id=key,
        conn_type=body.conn_type,
        host=body.host,
        schema=body.schema_,
        login=body.login,
        password=body.password,
        port=body.port,
        extra=body.extra,
    )
    action = objects.set_connection(
        session, user, organization_id, deployment, connection, settings
    )
    return AirflowObjectWriteOut(key=key, action=action)


@router.get(
    "/airflow/variables", responses=error_responses(409), response_model=list[AirflowVariableOut]
)
def list_airflow_variables(
    organization_id: str,
    deployment: str,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> list[AirflowVariableOut]:
    """The Airflow variables; a sensitive one's value masked."""
    rows = objects.list_objects(
        session, user, organization_id, deployment, ObjectKind.VARIABLE, settings
    )
    return [AirflowVariableOut.model_validate(asdict(row)) for row in rows]


@router.put(
    "/airflow/variables/{key}", responses=error_responses(409), response_model=AirflowObjectWriteOut
)
def set_airflow_variable(
    organization_id: str,
    deployment: str,
    key: KEY,
    body: AirflowVariableIn,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> AirflowObjectWriteOut:
    action = objects.set_variable(
        session, user, organization_id, deployment, key, body.value, settings
    )
    return AirflowObjectWriteOut(key=key, action=action)


@router.get("/airflow/pools", responses=error_responses(409), response_model=list[AirflowPoolOut])
def list_pools(
    organization_id: str,
    deployment: str,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> list[AirflowPoolOut]:
    rows = objects.list_objects(
        session, user, organization_id, deployment, ObjectKind.POOL, settings
    )
    return [AirflowPoolOut.model_validate(asdict(row)) for row in rows]


@router.put(
    "/airflow/pools/{key}", responses=error_responses(409), response_model=AirflowObjectWriteOut
)
def set_pool(
    organization_id: str,
    deployment: str,
    key: KEY,
    body: AirflowPoolIn,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> AirflowObjectWriteOut:
    pool = Pool(
        name=key,
        slots=body.slots,
        description=body.description,
        include_deferred=body.include_deferred,
    )
    action = objects.set_pool(session, user, organization_id, deployment, pool, settings)
    return AirflowObjectWriteOut(key=key, action=action)


@router.delete(
    "/airflow/{kind}/{key}",
    responses=error_responses(409),
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
def delete_object(
    organization_id: str,
    deployment: str,
    kind: Annotated[str, Path(pattern="^(connections|variables|pools)$")],
    key: KEY,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """Delete one connection, variable or pool of the Deployment's Airflow."""
    objects.delete_object(
        session, user, organization_id, deployment, ObjectKind(kind[:-1]), key, settings
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/airflow/settings", responses=error_responses(409), response_model=AirflowSettingsOut)
def apply_settings(
    organization_id: str,
    deployment: str,
    body: AirflowSettingsIn,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> AirflowSettingsOut:
    """Upsert the connections, pools and variables of an Astro ``airflow_settings.yaml``."""
    counts = objects.apply_settings(
        session, user, organization_id, deployment, body.settings, settings
    )
    return AirflowSettingsOut(**counts)
