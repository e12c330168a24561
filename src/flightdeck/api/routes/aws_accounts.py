"""Onboarding an organization's AWS accounts: role template, registration, verification,
preflight checks."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from flightdeck.api.deps import AwsDep, CurrentUser, SessionDep, SettingsDep
from flightdeck.api.errors import error_responses
from flightdeck.api.schemas import (
    AwsAccountIn,
    AwsAccountOut,
    CheckOut,
    CheckReportOut,
    PreflightIn,
    RoleSetupOut,
)
from flightdeck.aws.checks import CheckResult, overall
from flightdeck.aws.permissions import MANAGED_POLICY_NAME, POLICY_VERSION, ROLE_NAME
from flightdeck.aws.role_template import STACK_NAME, quick_create_url, role_template_yaml
from flightdeck.services import access, onboarding, orgs
from flightdeck.services.platform import platform_account_id

router = APIRouter(
    prefix="/organizations/{organization_id}/aws",
    tags=["aws"],
    responses=error_responses(401, 403, 404, 422, 502, 503),
)


def _report(results: list[CheckResult]) -> CheckReportOut:
    return CheckReportOut(
        status=overall(results), checks=[CheckOut.model_validate(r.to_dict()) for r in results]
    )


@router.get(
    "/role-template",
    response_class=Response,
    responses={200: {"content": {"application/yaml": {}}}},
)
def role_template(
    organization_id: str,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    sessions: AwsDep,
) -> Response:
    """CloudFormation YAML for the cross-account role (ExternalId is a parameter)."""
    access.require_member(session, user, organization_id)
    return Response(
        role_template_yaml(platform_account_id(settings, sessions)), media_type="application/yaml"
    )


@router.get("/role-setup", response_model=RoleSetupOut)
def role_setup(
    organization_id: str,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    sessions: AwsDep,
) -> RoleSetupOut:
    """Everything an Owner needs to create the role, including the quick-create link
    (which carries the external ID, hence Owners only)."""
    external_id = orgs.reveal_external_id(session, user, organization_id)
    template_url = settings.role_template_url or str(request.url_for("public_role_template"))
    try:
        link: str | None = quick_create_url(template_url, "us-east-1", external_id)
        note = None
    except ValueError:
        # The CloudFormation console must fetch the template itself: an https (S3) URL.
        link = None
        note = (
            "no quick-create link: set FLIGHTDECK_ROLE_TEMPLATE_URL to an https URL "
            "(e.g. an S3 object) holding this template; or use the CLI command"
        )
    return RoleSetupOut(
        platform_account_id=platform_account_id(settings, sessions),
        role_name=ROLE_NAME,
        policy_name=MANAGED_POLICY_NAME,
        policy_version=POLICY_VERSION,
        stack_name=STACK_NAME,
        template_url=template_url,
        quick_create_url=link,
        note=note,
        cli_command="flightdeck aws role create --profile <your-admin-profile>",
    )


@router.get("/accounts", response_model=list[AwsAccountOut])
def list_accounts(
    organization_id: str, user: CurrentUser, session: SessionDep
) -> list[AwsAccountOut]:
    return [
        AwsAccountOut.model_validate(a)
        for a in onboarding.list_accounts(session, user, organization_id)
    ]


@router.post(
    "/accounts",
    responses=error_responses(409),
    status_code=status.HTTP_201_CREATED,
    response_model=AwsAccountOut,
)
def register_account(
    organization_id: str, body: AwsAccountIn, user: CurrentUser, session: SessionDep
) -> AwsAccountOut:
    return AwsAccountOut.model_validate(
        onboarding.register_account(
            session, user, organization_id, account_id=body.account_id, role_arn=body.role_arn
        )
    )


@router.get("/accounts/{account}", response_model=AwsAccountOut)
def show_account(
    organization_id: str, account: str, user: CurrentUser, session: SessionDep
) -> AwsAccountOut:
    return AwsAccountOut.model_validate(
        onboarding.get_account(session, user, organization_id, account)
    )


@router.post("/accounts/{account}/verify", response_model=AwsAccountOut)
def verify_account(
    organization_id: str,
    account: str,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    sessions: AwsDep,
) -> AwsAccountOut:
    record, _ = onboarding.verify_account(
        session, user, organization_id, account, settings, sessions
    )
    return AwsAccountOut.model_validate(record)


@router.post("/accounts/{account}/preflight", response_model=CheckReportOut)
def preflight(
    organization_id: str,
    account: str,
    body: PreflightIn,
    user: CurrentUser,
    session: SessionDep,
    sessions: AwsDep,
) -> CheckReportOut:
    return _report(
        onboarding.run_preflight(
            session,
            user,
            organization_id,
            account,
            region=body.region,
            sessions=sessions,
            vpc_cidr=body.vpc_cidr,
            peer_cidrs=body.peer_cidrs,
        )
    )


@router.post(
    "/hosted-account",
    responses=error_responses(409),
    status_code=status.HTTP_201_CREATED,
    response_model=AwsAccountOut,
)
def hosted_account(
    organization_id: str,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    sessions: AwsDep,
) -> AwsAccountOut:
    """Hosted mode: a platform-owned account with the organization's role, verified."""
    record, _ = onboarding.provision_hosted_account(
        session, user, organization_id, settings, sessions
    )
    return AwsAccountOut.model_validate(record)
