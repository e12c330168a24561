"""AWS accounts: what the customer needs to create the role (template, quick-create link,
CLI command), then register, verify and re-verify, and preflight."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from flightdeck.console import data, security
from flightdeck.console.pages import FormDep, OrgDep, OrgPage, field

router = APIRouter(prefix="/o/{organization_id}/aws")

SECTION = "aws"
ROLE_CREATE_COMMAND = "flightdeck aws role create --profile <your-admin-profile>"
QUICK_CREATE_REGION = data.reference.DEFAULT_REGION


def _template_url(request: Request) -> str:
    configured = security.settings_of(request).role_template_url
    return configured or str(request.url_for("public_role_template"))


def _accounts_page(page: OrgPage, **values: Any) -> Response:
    request = page.request
    settings = security.settings_of(request)
    return page.render(
        "aws_accounts.html",
        section=SECTION,
        title="AWS accounts",
        accounts=data.onboarding.list_accounts(page.session, page.user, page.org_id),
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
def accounts(page: OrgDep) -> Response:
    return _accounts_page(page)


@router.get("/role-template.yaml")
def role_template(page: OrgDep) -> Response:
    """The CloudFormation template to download (ExternalId is a parameter, not in it)."""
    request = page.request
    settings = security.settings_of(request)
    response = Response(
        data.role_template_yaml(data.platform_account_id(settings, security.sessions_of(request))),
        media_type="application/yaml",
        headers={"Content-Disposition": 'attachment; filename="flightdeck-role.yaml"'},
    )
    return security.apply_headers(request, response, no_store=True)


@router.post("/quick-create")
def quick_create(page: OrgDep, form: FormDep) -> Response:
    """The quick-create link carries the External ID: Owners only, audited like Show."""
    del form
    external_id = data.orgs.reveal_external_id(page.session, page.user, page.org_id)
    try:
        link = data.quick_create_url(_template_url(page.request), QUICK_CREATE_REGION, external_id)
        note = None
    except ValueError:
        link = None
        note = (
            "No quick-create link: CloudFormation must fetch the template itself, so the "
            "operator sets FLIGHTDECK_ROLE_TEMPLATE_URL to an https URL (an S3 object) holding "
            "this template. Use the template download or the CLI command instead."
        )
    return _accounts_page(page, quick_create_link=link, quick_create_note=note)


@router.post("/accounts")
def register(page: OrgDep, form: FormDep) -> Response:
    account_id = field(form, "account_id")
    role_arn = field(form, "role_arn") or None

    def register_and_verify() -> str:
        account = data.onboarding.register_account(
            page.session, page.user, page.org_id, account_id=account_id, role_arn=role_arn
        )
        _verify(page, account.id)
        return f"/aws/accounts/{account.id}"

    return page.submit(
        register_and_verify,
        lambda **refused: _accounts_page(
            page, values={"account_id": account_id, "role_arn": role_arn or ""}, **refused
        ),
    )


def _verify(page: OrgPage, account: str) -> data.AwsAccount:
    record, _ = data.onboarding.verify_account(
        page.session,
        page.user,
        page.org_id,
        account,
        security.settings_of(page.request),
        security.sessions_of(page.request),
    )
    return record


@router.post("/hosted")
def hosted(page: OrgDep, form: FormDep) -> Response:
    del form
    account, _ = data.onboarding.provision_hosted_account(
        page.session,
        page.user,
        page.org_id,
        security.settings_of(page.request),
        security.sessions_of(page.request),
    )
    return page.redirect(f"/aws/accounts/{account.id}")


def _account_page(page: OrgPage, ref: str, **values: Any) -> Response:
    account = data.onboarding.get_account(page.session, page.user, page.org_id, ref)
    return page.render(
        "aws_account.html",
        section=SECTION,
        title=f"AWS account {account.account_id}",
        account=account,
        regions=data.reference.REGIONS,
        default_region=data.reference.DEFAULT_REGION,
        default_vpc_cidr=data.reference.DEFAULT_VPC_CIDR,
        **values,
    )


@router.get("/accounts/{account}")
def account_page(account: str, page: OrgDep) -> Response:
    return _account_page(page, account)


@router.post("/accounts/{account}/verify")
def verify(account: str, page: OrgDep, form: FormDep) -> Response:
    del form
    return page.redirect(f"/aws/accounts/{_verify(page, account).id}")


@router.post("/accounts/{account}/preflight")
def preflight(account: str, page: OrgDep, form: FormDep) -> Response:
    region = field(form, "region", data.reference.DEFAULT_REGION)
    vpc_cidr = field(form, "vpc_cidr") or data.reference.DEFAULT_VPC_CIDR
    shown = {"region": region, "vpc_cidr": vpc_cidr}
    try:
        results = data.onboarding.run_preflight(
            page.session,
            page.user,
            page.org_id,
            account,
            region=region,
            sessions=security.sessions_of(page.request),
            vpc_cidr=vpc_cidr,
        )
    except data.InvalidInput as exc:
        return _account_page(page, account, preflight_error=exc.message, **shown)
    return _account_page(
        page, account, preflight=results, preflight_verdict=data.overall(results), **shown
    )
