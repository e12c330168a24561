"""The settings page's single sign-on part: verify a claimed domain's TXT record, and turn
enforced SSO on or off."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from flightdeck.console import data, security
from flightdeck.console.pages import DbDep, FormDep, UserDep, field
from flightdeck.console.views.organization import _settings_page

router = APIRouter(prefix="/o/{organization_id}/settings/sso")


@router.post("/domains/{domain}/verify")
def verify_domain(
    organization_id: str,
    domain: str,
    request: Request,
    user: UserDep,
    session: DbDep,
    form: FormDep,
) -> Response:
    """The API's audited check; its refusal (no record yet, taken by another organization)
    is shown on the settings page, next to the record to publish."""
    del form
    settings = security.settings_of(request)
    resolver = data.dns_txt.Resolver(settings.dns_nameserver, settings.dns_port)
    try:
        claim = data.sso.verify_domain(session, user, organization_id, domain, resolver)
    except (data.InvalidInput, data.Conflict) as exc:
        status = 409 if isinstance(exc, data.Conflict) else 422
        return _settings_page(
            request, user, session, organization_id, status=status, sso_error=exc.message
        )
    return _settings_page(
        request,
        user,
        session,
        organization_id,
        sso_notice=f"{claim.domain} is verified: its users now sign in with SSO.",
    )


@router.post("/enforcement")
def set_enforcement(
    organization_id: str, request: Request, user: UserDep, session: DbDep, form: FormDep
) -> Response:
    """The API's audited switch; refused (no verified domain yet) on the settings page."""
    enforced = field(form, "enforced") == "on"
    try:
        data.sso_enforcement.set_enforced(session, user, organization_id, enforced)
    except data.InvalidInput as exc:
        return _settings_page(
            request, user, session, organization_id, status=422, sso_error=exc.message
        )
    notice = (
        "SSO is enforced: members now sign in with SSO only (break-glass Owners excepted)."
        if enforced
        else "SSO is no longer enforced: members may sign in with a password again."
    )
    return _settings_page(request, user, session, organization_id, sso_notice=notice)
