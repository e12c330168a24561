"""An organization's overview and its settings, with the AWS External ID behind Show."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from flightdeck.api.routes.sso import CALLBACK_PATH
from flightdeck.console import data, security
from flightdeck.console.pages import DbDep, FormDep, UserDep, org_context, render

router = APIRouter(prefix="/o/{organization_id}")


@router.get("")
def overview(organization_id: str, request: Request, user: UserDep, session: DbDep) -> Response:
    ctx = org_context(session, user, organization_id)
    accounts = data.onboarding.list_accounts(session, user, organization_id)
    cluster_list = data.clusters.list_clusters(session, user, organization_id)
    deployment_list = data.deployments.list_deployments(session, user, organization_id)
    workspace_list = data.workspaces.list_workspaces(session, user, organization_id)
    steps = [
        (
            "Create the role in your AWS account and verify it",
            f"/o/{organization_id}/aws",
            any(a.status == "verified" for a in accounts),
        ),
        (
            "Create a cluster",
            f"/o/{organization_id}/clusters/new",
            any(c.phase == "Active" for c in cluster_list),
        ),
        ("Create a workspace", f"/o/{organization_id}/workspaces", bool(workspace_list)),
        (
            "Create a Deployment",
            f"/o/{organization_id}/deployments/new",
            any(d.phase != "Deleted" for d in deployment_list),
        ),
    ]
    return render(
        request,
        "overview.html",
        user=user,
        ctx=ctx,
        section="overview",
        title=ctx.org.name,
        accounts=accounts,
        clusters=cluster_list,
        deployments=deployment_list,
        steps=steps,
    )


def _settings_page(
    request: Request,
    user: data.User,
    session: DbDep,
    organization_id: str,
    external_id: str | None = None,
    *,
    status: int = 200,
    sso_notice: str | None = None,
    sso_error: str | None = None,
    sso_form: dict[str, str] | None = None,
) -> Response:
    """The settings page; after a refused single sign-on form, with the reason and what was
    typed (never the client secret)."""
    ctx = org_context(session, user, organization_id)
    is_owner = ctx.role == "owner"
    providers = data.sso.list_providers(session, user, organization_id) if is_owner else []
    enforcement = data.sso_enforcement.status(session, user, organization_id) if is_owner else None
    owners = (
        [m for m in data.orgs.list_members(session, user, organization_id) if m.role == "owner"]
        if is_owner
        else []
    )
    return render(
        request,
        "settings.html",
        status=status,
        user=user,
        ctx=ctx,
        section="settings",
        title="Organization settings",
        external_id=external_id,
        hosted_mode=security.settings_of(request).hosted_mode,
        sso_providers=providers,
        sso_enforcement=enforcement,
        sso_notice=sso_notice,
        sso_error=sso_error,
        sso_form=sso_form or {},
        sso_callback_url=security.settings_of(request).resolved_public_url + CALLBACK_PATH,
        owners=owners,
        rule_text=data.sso_roles.rule_text,
        rule_syntax=data.sso_roles.RULE_SYNTAX,
        txt_record_name=data.sso.txt_record_name,
        txt_record_value=data.sso.txt_record_value,
    )


@router.get("/settings")
def settings_page(
    organization_id: str, request: Request, user: UserDep, session: DbDep
) -> Response:
    return _settings_page(request, user, session, organization_id)


@router.post("/settings/external-id")
def reveal_external_id(
    organization_id: str, request: Request, user: UserDep, session: DbDep, form: FormDep
) -> Response:
    """Show: the same audited reveal as the API's, Owners only (others get 403); the page
    that holds the value is never cached."""
    del form
    value = data.orgs.reveal_external_id(session, user, organization_id)
    return _settings_page(request, user, session, organization_id, external_id=value)
