"""Deployments: create on one of the organization's Active clusters, status live, its
configuration changed, environment variables (add, change, remove; secret ones only as
"set"), deploy history, Open Airflow with its login shown on request (audited). Its
Airflow's connections, variables and pools: ``deployment_airflow``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select
from starlette.datastructures import FormData

from flightdeck.console import data, security
from flightdeck.console.pages import Confirmation, FormDep, OrgDep, OrgPage, field
from flightdeck.db.types import utcnow
from flightdeck.devenv.envfile import parse_env_text
from flightdeck.devenv.errors import DevEnvError
from flightdeck.services.costs import deployment_cost_of
from flightdeck.services.deployments.schedule import schedule_of

router = APIRouter(prefix="/o/{organization_id}/deployments")

SECTION = "deployments"
SETTLED_PHASES = ("Healthy", "Unhealthy", "Deleted", "Failed")
NUMBER_FIELDS = ("scheduler_count", "min_workers", "max_workers", "tasks_per_worker")
# The API's field names, so the console's messages are the API's, word for word.
PLAIN_FIELD = "environment"
SECRET_FIELD = "secret_environment"


def _defaults() -> dict[str, str]:
    request = data.deployments.DeploymentRequest(name="", workspace="", cluster="")
    return {
        "name": "",
        "workspace": "",
        "cluster": "",
        "airflow_version": data.DEFAULT_AIRFLOW_VERSION,
        "executor": request.executor,
        "scheduler_size": request.scheduler_size,
        **{name: str(getattr(request, name)) for name in NUMBER_FIELDS},
        "environment": "",
        "secret_environment": "",
        "is_development": "",
    }


def _values(form: FormData) -> dict[str, str]:
    return {key: field(form, key, default) for key, default in _defaults().items()}


def parse_env(text: str, field_name: str) -> dict[str, str]:
    """``KEY=value`` lines read like a project's ``.env`` (the dev parser, one set of rules).

    ``$NAME`` may only name an earlier line: the control plane's own environment never
    leaks into a Deployment, and an undefined name is refused rather than read as empty.
    """
    try:
        return parse_env_text(text, field_name, environ={}, strict=True)
    except DevEnvError as exc:
        raise data.InvalidInput(str(exc), field=field_name) from None


def _number(values: dict[str, str], name: str) -> int:
    try:
        return int(values[name])
    except ValueError:
        raise data.InvalidInput(f"{name}: must be a whole number", field=name) from None


def _new_page(page: OrgPage, values: dict[str, str], **extra: Any) -> Response:
    active = [
        c
        for c in data.clusters.list_clusters(page.session, page.user, page.org_id)
        if c.phase == "Active" and c.desired_state == "present"
    ]
    values["secret_environment"] = ""  # a secret is never sent back to the browser
    return page.render(
        "deployment_new.html",
        section=SECTION,
        title="Create a Deployment",
        clusters=active,
        workspaces=data.workspaces.list_workspaces(page.session, page.user, page.org_id),
        executors=data.EXECUTORS,
        scheduler_sizes=data.SCHEDULER_SIZES,
        values=values,
        **extra,
    )


@router.get("")
def deployment_list(page: OrgDep) -> Response:
    rows = data.deployments.list_deployments(page.session, page.user, page.org_id)
    # Only the names: every member may list the organization's clusters (OrgDep checked
    # membership), and their status documents are not needed here.
    names = dict(
        page.session.execute(
            select(data.Cluster.id, data.Cluster.name).where(
                data.Cluster.organization_id == page.org_id
            )
        )
        .tuples()
        .all()
    )
    return page.render(
        "deployments.html",
        section=SECTION,
        title="Deployments",
        deployments=rows,
        cluster_names=names,
    )


@router.get("/new")
def new_deployment(page: OrgDep) -> Response:
    return _new_page(page, _defaults())


@router.post("")
def create_deployment(page: OrgDep, form: FormDep) -> Response:
    values = _values(form)

    def create() -> str:
        numbers: dict[str, Any] = {name: _number(values, name) for name in NUMBER_FIELDS}
        deployment = data.deployments.create_deployment(
            page.session,
            page.user,
            page.org_id,
            data.deployments.DeploymentRequest(
                name=values["name"],
                workspace=values["workspace"],
                cluster=values["cluster"],
                airflow_version=values["airflow_version"],
                executor=values["executor"],
                scheduler_size=values["scheduler_size"],
                **numbers,
                environment=parse_env(values["environment"], "environment"),
                secret_environment=parse_env(values["secret_environment"], "secret_environment"),
                is_development=values.get("is_development") == "on",
            ),
            security.settings_of(page.request),
        )
        return f"/deployments/{deployment.id}"

    return page.submit(
        create,
        lambda **refused: _new_page(page, values, **refused),
        refused=(data.InvalidInput, data.Conflict, data.NotFound),
    )


def _can_manage(page: OrgPage, deployment: data.Deployment) -> bool:
    """Whether the API would let this user change the Deployment (its workspace's Admins
    and Organization Owners): the page shows the forms only then."""
    try:
        data.access.require_workspace(
            page.session, page.user, page.org_id, deployment.workspace_id, admin=True
        )
    except data.DomainError:
        return False
    return deployment.desired_state == "present"


def _deployment_view(page: OrgPage, ref: str) -> dict[str, Any]:
    deployment = data.deployments.get_deployment(page.session, page.user, page.org_id, ref)
    cluster = page.session.get(data.Cluster, deployment.cluster_id)
    settings = security.settings_of(page.request)
    plan = schedule_of(deployment)
    return {
        "deployment": deployment,
        "schedule": plan,
        "next_change": plan.next_change(utcnow()) if plan else None,
        "cost": deployment_cost_of(deployment),
        "cluster_name": cluster.name if cluster else deployment.cluster_id,
        "environment": dict(deployment.spec.get("environment", {})),
        "secret_keys": sorted(deployment.secret_environment),
        "airflow_url": deployment.status.get("url"),
        "components": dict(deployment.status.get("components") or {}),
        "deployment_dir": settings.deployments_dir / deployment.id,
        "live": deployment.phase not in SETTLED_PHASES,
        "can_manage": _can_manage(page, deployment),
    }


def _deployment_page(page: OrgPage, ref: str, **extra: Any) -> Response:
    view = _deployment_view(page, ref)
    deployment = view["deployment"]
    deploys = data.deployments.list_deploys(page.session, page.user, page.org_id, deployment.id)
    return page.render(
        "deployment.html",
        section=SECTION,
        title=f"Deployment {deployment.name}",
        deploys=deploys,
        events=data.timeline.list_events(page.session, deployment),
        env_values=extra.pop("env_values", None) or {"name": "", "value": "", "secret": ""},
        config=extra.pop("config", None) or config_values(deployment),
        executors=data.EXECUTORS,
        scheduler_sizes=data.SCHEDULER_SIZES,
        **view,
        **extra,
    )


@router.get("/{deployment}")
def deployment_page(deployment: str, page: OrgDep) -> Response:
    return _deployment_page(page, deployment)


@router.get("/{deployment}/_live")
def deployment_live(deployment: str, page: OrgDep) -> Response:
    return page.render("deployment_live.html", **_deployment_view(page, deployment))


# -- configuration --------------------------------------------------------------------------------
CONFIG_FIELDS = ("airflow_version", "executor", "scheduler_size", *NUMBER_FIELDS)


def config_values(record: data.Deployment) -> dict[str, str]:
    """The edit form's values: what is in force now, as text."""
    spec = record.spec
    queue = spec.get("worker_queue", {})
    return {
        "airflow_version": str(spec.get("airflow_version", "")),
        "executor": str(spec.get("executor", "")),
        "scheduler_size": str(spec.get("scheduler_size", "")),
        "scheduler_count": str(spec.get("scheduler_count", "")),
        **{name: str(queue.get(name, "")) for name in NUMBER_FIELDS if name != "scheduler_count"},
    }


@router.post("/{deployment}/configuration")
def update_configuration(deployment: str, page: OrgDep, form: FormDep) -> Response:
    """The API's update with every setting of the form; the service decides what changed
    (and what that restarts), and a refusal re-shows the form as sent, by its field."""
    record = data.deployments.get_deployment(page.session, page.user, page.org_id, deployment)
    values = {name: field(form, name) for name in CONFIG_FIELDS}

    def update() -> str:
        numbers: dict[str, Any] = {name: _number(values, name) for name in NUMBER_FIELDS}
        data.deployments.update_deployment(
            page.session,
            page.user,
            page.org_id,
            record.id,
            data.deployments.DeploymentUpdate(
                airflow_version=values["airflow_version"],
                executor=values["executor"],
                scheduler_size=values["scheduler_size"],
                **numbers,
            ),
            security.settings_of(page.request),
        )
        return f"/deployments/{record.id}#config-heading"

    return page.submit(
        update,
        lambda **refused: _deployment_page(
            page,
            record.id,
            status=refused["status"],
            config=values,
            config_error=refused["error"],
            config_error_field=refused["error_field"],
        ),
        refused=(data.InvalidInput, data.Conflict),
    )


# -- sign-in to its Airflow ---------------------------------------------------------------------
@router.post("/{deployment}/airflow-login")
def show_airflow_login(deployment: str, page: OrgDep, form: FormDep) -> Response:
    """The API's audited airflow-login (the workspace's Admins and Owners): the page that
    holds the password is never cached, and it is shown on this answer only."""
    del form
    record = data.deployments.get_deployment(page.session, page.user, page.org_id, deployment)
    try:
        login = data.operate.airflow_login(
            page.session, page.user, page.org_id, record.id, security.settings_of(page.request)
        )
    except data.Conflict as exc:
        return _deployment_page(page, record.id, status=409, login_error=exc.message)
    return _deployment_page(page, record.id, airflow_login=login)


# -- environment variables ----------------------------------------------------------------------
def _field_error(exc: data.InvalidInput, form_field: str) -> dict[str, Any]:
    return {"status": 422, "error": exc.message, "error_field": form_field}


@router.post("/{deployment}/environment")
def set_variable(deployment: str, page: OrgDep, form: FormDep) -> Response:
    """Add a variable or change one; a secret's old value is never shown, so changing a
    secret means typing its new value."""
    name = field(form, "name")
    raw_value = form.get("value")
    value = raw_value if isinstance(raw_value, str) else ""
    secret = field(form, "secret") == "yes"
    api_field = SECRET_FIELD if secret else PLAIN_FIELD
    kept = {"name": name, "value": "" if secret else value, "secret": "yes" if secret else ""}
    record = data.deployments.get_deployment(page.session, page.user, page.org_id, deployment)
    # The service's own rules, checked one input at a time so the error sits by its field.
    try:
        data.deployments.check_env_name(name, api_field)
    except data.InvalidInput as exc:
        return _deployment_page(page, record.id, env_values=kept, **_field_error(exc, "env-name"))
    try:
        data.deployments.check_env_value(name, value, api_field)
    except data.InvalidInput as exc:
        return _deployment_page(page, record.id, env_values=kept, **_field_error(exc, "env-value"))

    return _change_variable(page, record, name, value, secret=secret, kept=kept)


@router.post("/{deployment}/environment/{name}/remove")
def remove_variable(deployment: str, name: str, page: OrgDep, form: FormDep) -> Response:
    del form
    record = data.deployments.get_deployment(page.session, page.user, page.org_id, deployment)
    secret = name in record.secret_environment
    if not secret and name not in record.spec.get("environment", {}):
        return page.redirect(f"/deployments/{record.id}#env-heading")  # already gone

    return _change_variable(page, record, name, None, secret=secret)


def _change_variable(
    page: OrgPage,
    record: data.Deployment,
    name: str,
    value: str | None,
    *,
    secret: bool,
    kept: dict[str, str] | None = None,
) -> Response:
    """Through the API's own update; a refusal re-shows the page with the form as sent."""

    def update() -> str:
        data.variables.change_variables(
            page.session,
            page.user,
            page.org_id,
            record.id,
            security.settings_of(page.request),
            values=None if value is None else {name: value},
            secret=secret,
            unset=(name,) if value is None else (),
        )
        return f"/deployments/{record.id}#env-heading"

    return page.submit(
        update,
        lambda **refused: _deployment_page(page, record.id, env_values=kept, **refused),
    )


@router.post("/{deployment}/wake-up")
def wake_up(deployment: str, page: OrgDep, form: FormDep) -> Response:
    """The Hibernating card's button: the API's own wake-up."""
    del form
    record = data.deployments.get_deployment(page.session, page.user, page.org_id, deployment)

    def wake() -> str:
        data.deployments.wake_up_deployment(page.session, page.user, page.org_id, record.id)
        return f"/deployments/{record.id}"

    return page.submit(wake, lambda **refused: _deployment_page(page, record.id, **refused))


# -- deletion -------------------------------------------------------------------------------------
def _confirmation(page: OrgPage, ref: str) -> tuple[data.Deployment, Confirmation]:
    record = data.deployments.get_deployment(page.session, page.user, page.org_id, ref)
    return record, Confirmation(
        kind="Deployment",
        name=record.name,
        path=f"/deployments/{record.id}",
        consequence="Airflow stops and its metadata is removed. This cannot be undone.",
    )


@router.get("/{deployment}/delete")
def confirm_delete(deployment: str, page: OrgDep) -> Response:
    return page.confirm(_confirmation(page, deployment)[1], section=SECTION)


@router.post("/{deployment}/delete")
def delete_deployment(deployment: str, page: OrgDep, form: FormDep) -> Response:
    record, confirmation = _confirmation(page, deployment)
    return page.delete_confirmed(
        form,
        confirmation,
        lambda: data.deployments.request_deletion(page.session, page.user, page.org_id, record.id),
        section=SECTION,
    )
