"""A Deployment's Airflow objects: its connections, variables and pools (list, set,
delete), through the same services the API calls, so the same people may read and change
them and the same masking applies (a password or sensitive value is never sent to the
browser)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData

from flightdeck.console import data, security
from flightdeck.console.pages import FormDep, OrgDep, OrgPage, field
from flightdeck.console.views.deployments import SECTION
from flightdeck.devenv.project import Connection, Pool

router = APIRouter(prefix="/o/{organization_id}/deployments")
KINDS = {kind.collection: kind for kind in data.airflow_objects.ObjectKind}
FORMS = {
    "connection": ("connection_id", "conn_type", "host", "port", "schema", "login", "extra"),
    "variable": ("key", "value"),
    "pool": ("name", "slots", "description"),
}


def _can_manage(page: OrgPage, deployment: data.Deployment) -> bool:
    try:
        data.access.require_workspace(
            page.session, page.user, page.org_id, deployment.workspace_id, admin=True
        )
    except data.DomainError:
        return False
    return True


def _page(
    page: OrgPage, ref: str, *, kept: dict[str, dict[str, str]] | None = None, **extra: Any
) -> Response:
    deployment = data.deployments.get_deployment(page.session, page.user, page.org_id, ref)
    settings = security.settings_of(page.request)
    lists: dict[str, list[Any]] = {}
    unreachable = ""
    try:
        for collection, kind in KINDS.items():
            lists[collection] = list(
                data.airflow_objects.list_objects(
                    page.session, page.user, page.org_id, deployment.id, kind, settings
                )
            )
    except (data.Conflict, data.InvalidInput) as exc:
        unreachable = exc.message
    values = {form: dict.fromkeys(names, "") for form, names in FORMS.items()}
    for form, given in (kept or {}).items():
        values[form] |= given
    return page.render(
        "deployment_airflow.html",
        status=extra.pop("status", 200),
        section=SECTION,
        title=f"Airflow objects of {deployment.name}",
        deployment=deployment,
        connections=lists.get("connections", []),
        variables=lists.get("variables", []),
        pools=lists.get("pools", []),
        unreachable=unreachable,
        can_manage=_can_manage(page, deployment),
        values=values,
        **extra,
    )


@router.get("/{deployment}/airflow")
def airflow_objects_page(deployment: str, page: OrgDep) -> Response:
    return _page(page, deployment)


def _kept(form: FormData, name: str) -> dict[str, dict[str, str]]:
    """What the form sent, to show it again (never a password)."""
    return {name: {key: field(form, key) for key in FORMS[name]}}


def _submit(
    page: OrgPage, ref: str, form_name: str, kept: dict[str, dict[str, str]], action: Any
) -> Response:
    deployment = data.deployments.get_deployment(page.session, page.user, page.org_id, ref)

    def run() -> str:
        action(deployment.id, security.settings_of(page.request))
        return f"/deployments/{deployment.id}/airflow#{form_name}s-heading"

    return page.submit(
        run,
        lambda **refused: _page(page, deployment.id, kept=kept, form=form_name, **refused),
        refused=(data.InvalidInput, data.Conflict, data.NotFound),
    )


def _int(text: str, name: str) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise data.InvalidInput(f"{name}: must be a whole number", field=name) from None


@router.post("/{deployment}/airflow/connections")
def set_connection(deployment: str, page: OrgDep, form: FormDep) -> Response:
    kept = _kept(form, "connection")
    values = kept["connection"]
    raw_password = form.get("password")
    password = raw_password if isinstance(raw_password, str) and raw_password else None

    def action(ref: str, settings: Any) -> None:
        extra: Any = {}
        if values["extra"]:
            try:
                extra = json.loads(values["extra"])
            except json.JSONDecodeError:
                raise data.InvalidInput(
                    'extra: not valid JSON; give an object such as {"region_name": "eu"}',
                    field="extra",
                ) from None
            if not isinstance(extra, dict):
                raise data.InvalidInput("extra: must be a JSON object", field="extra")
        connection = Connection(
            conn_id=values["connection_id"],
            conn_type=values["conn_type"],
            host=values["host"] or None,
            schema=values["schema"] or None,
            login=values["login"] or None,
            password=password,
            port=_int(values["port"], "port"),
            extra=extra,
        )
        data.airflow_objects.set_connection(
            page.session, page.user, page.org_id, ref, connection, settings
        )

    return _submit(page, deployment, "connection", kept, action)


@router.post("/{deployment}/airflow/variables")
def set_variable(deployment: str, page: OrgDep, form: FormDep) -> Response:
    kept = _kept(form, "variable")
    raw = form.get("value")
    value = raw if isinstance(raw, str) else ""
    kept["variable"]["value"] = ""  # a value may be sensitive: typed again, never echoed

    def action(ref: str, settings: Any) -> None:
        data.airflow_objects.set_variable(
            page.session, page.user, page.org_id, ref, field(form, "key"), value, settings
        )

    return _submit(page, deployment, "variable", kept, action)


@router.post("/{deployment}/airflow/pools")
def set_pool(deployment: str, page: OrgDep, form: FormDep) -> Response:
    kept = _kept(form, "pool")
    values = kept["pool"]

    def action(ref: str, settings: Any) -> None:
        slots = _int(values["slots"], "slots")
        if slots is None:
            raise data.InvalidInput("slots: required; -1 means unlimited", field="slots")
        pool = Pool(name=values["name"], slots=slots, description=values["description"])
        data.airflow_objects.set_pool(page.session, page.user, page.org_id, ref, pool, settings)

    return _submit(page, deployment, "pool", kept, action)


@router.post("/{deployment}/airflow/{collection}/{key}/delete")
def delete_object(
    deployment: str, collection: str, key: str, page: OrgDep, form: FormDep
) -> Response:
    del form
    kind = KINDS.get(collection)
    if kind is None:
        raise data.NotFound(f"no such kind of Airflow object: {collection!r}")

    def action(ref: str, settings: Any) -> None:
        data.airflow_objects.delete_object(
            page.session, page.user, page.org_id, ref, kind, key, settings
        )

    return _submit(page, deployment, str(kind), {}, action)
