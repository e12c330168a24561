"""AWS accounts: what the customer needs to create the role (template, quick-create link,
CLI command), then register, verify and re-verify, and preflight."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from flightdeck.console import data, security
from flightdeck.console.pages import (
    DbDep,
    FormDep,
    UserDep,
    field,
    org_context,
    redirect,
    render,
)

router = APIRouter(prefix="/o/{organization_id}/aws")

ROLE_CREATE_COMMAND = "flightdeck aws role create --profile <your-admin-profile>"
QUICK_CREATE_REGION = data.reference.DEFAULT_REGION


def _template_url(request: Request) -> str:
    configured = security.settings_of(request).role_template_url
    return configured or str(request.url_for("public_role_template"))


def _accounts_page(
    request: Request,
    user: data.User,
    session: DbDep,
    organization_id: str,
    *,
    status: int = 200,
    **values: Any,
) -> Response:
    ctx = org_context(session, user, organization_id)
    settings = security.settings_of(request)
    return render(
        request,
        "aws_accounts.html",
        status=status,
        user=user,
        ctx=ctx,
        section="aws",
        title="AWS accounts",
        accounts=data.onboarding.list_accounts(session, user, organization_id),
        platform_account_id=data.platform_account_id(settings, security.sessions_of(request)),
        role_name=data.ROLE_NAME,
        policy_name=data.MANAGED_POLICY_NAME,
        policy_version=data.POLICY_VERSION,
        stack_name=data.STACK_NAME,
        template_url=_template_url(request),
        cli_command=ROLE_CREATE_COMMAND,
        hosted_mode=settings.hosted_mode,
        **values,
    )


@router.get("")
def accounts(organization_id: str, request: Request, user: UserDep, session: DbDep) -> Response:
    return _accounts_page(request, user, session, organization_id)


@router.get("/role-template.yaml")
def role_template(
    organization_id: str, request: Request, user: UserDep, session: DbDep
) -> Response:
    """The CloudFormation template to download (ExternalId is a parameter, not in it)."""
    data.access.require_member(session, user, organization_id)
    settings = security.settings_of(request)
    response = Response(
        data.role_template_yaml(data.platform_account_id(settings, security.sessions_of(request))),
        media_type="application/yaml",
        headers={"Content-Disposition": 'attachment; filename="flightdeck-role.yaml"'},
    )
    return security.apply_headers(request, response, no_store=True)


@router.post("/quick-create")
def quick_create(
    organization_id: str, request: Request, user: UserDep, session: DbDep, form: FormDep
) -> Response:
    """The quick-create link carries the External ID: Owners only, audited like Show."""
    del form
    external_id = data.orgs.reveal_external_id(session, user, organization_id)
    try:
        link = data.quick_create_url(_template_url(request), QUICK_CREATE_REGION, external_id)
        note = None
    except ValueError:
        link = None
        note = (
            "No quick-create link: CloudFormation must fetch the template itself, so the "
            "operator sets FLIGHTDECK_ROLE_TEMPLATE_URL to an https URL (an S3 object) holding "
            "this template. Use the template download or the CLI command instead."
        )
    return _accounts_page(
        request, user, session, organization_id, quick_create_link=link, quick_create_note=note
    )


@router.post("/accounts")
def register(
    organization_id: str, request: Request, user: UserDep, session: DbDep, form: FormDep
) -> Response:
    account_id = field(form, "account_id")
    role_arn = field(form, "role_arn") or None
    try:
        account = data.onboarding.register_account(
            session, user, organization_id, account_id=account_id, role_arn=role_arn
        )
    except (data.InvalidInput, data.Conflict) as exc:
        return _accounts_page(
            request,
            user,
            session,
            organization_id,
            status=422,
            error=exc.message,
            values={"account_id": account_id, "role_arn": role_arn or ""},
        )
    data.onboarding.verify_account(
        session,
        user,
        organization_id,
        account.id,
        security.settings_of(request),
        security.sessions_of(request),
    )
    return redirect(request, f"/o/{organization_id}/aws/accounts/{account.id}")


@router.post("/hosted")
def hosted(
    organization_id: str, request: Request, user: UserDep, session: DbDep, form: FormDep
) -> Response:
    del form
    account, _ = data.onboarding.provision_hosted_account(
        session, user, organization_id, security.settings_of(request), security.sessions_of(request)
    )
    return redirect(request, f"/o/{organization_id}/aws/accounts/{account.id}")


def _account_page(
    request: Request,
    user: data.User,
    session: DbDep,
    organization_id: str,
    ref: str,
    **values: Any,
) -> Response:
    ctx = org_context(session, user, organization_id)
    account = data.onboarding.get_account(session, user, organization_id, ref)
    return render(
        request,
        "aws_account.html",
        user=user,
        ctx=ctx,
        section="aws",
        title=f"AWS account {account.account_id}",
        account=account,
        regions=data.reference.REGIONS,
        default_region=data.reference.DEFAULT_REGION,
        default_vpc_cidr=data.reference.DEFAULT_VPC_CIDR,
        **values,
    )


@router.get("/accounts/{account}")
def account_page(
    organization_id: str, account: str, request: Request, user: UserDep, session: DbDep
) -> Response:
    return _account_page(request, user, session, organization_id, account)


@router.post("/accounts/{account}/verify")
def verify(
    organization_id: str,
    account: str,
    request: Request,
    user: UserDep,
    session: DbDep,
    form: FormDep,
) -> Response:
    del form
    record, _ = data.onboarding.verify_account(
        session,
        user,
        organization_id,
        account,
        security.settings_of(request),
        security.sessions_of(request),
    )
    return redirect(request, f"/o/{organization_id}/aws/accounts/{record.id}")


@router.post("/accounts/{account}/preflight")
def preflight(
    organization_id: str,
    account: str,
    request: Request,
    user: UserDep,
    session: DbDep,
    form: FormDep,
) -> Response:
    region = field(form, "region", data.reference.DEFAULT_REGION)
    vpc_cidr = field(form, "vpc_cidr") or data.reference.DEFAULT_VPC_CIDR
    try:
        results = data.onboarding.run_preflight(
            session,
            user,
            organization_id,
            account,
            region=region,
            sessions=security.sessions_of(request),
            vpc_cidr=vpc_cidr,
        )
    except data.InvalidInput as exc:
        return _account_page(
            request,
            user,
            session,
            organization_id,
            account,
            preflight_error=exc.message,
            region=region,
            vpc_cidr=vpc_cidr,
        )
    return _account_page(
        request,
        user,
        session,
        organization_id,
        account,
        preflight=results,
        preflight_verdict=data.overall(results),
        region=region,
        vpc_cidr=vpc_cidr,
    )
