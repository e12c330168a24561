"""The settings page's single sign-on part: add and remove identity providers, map their
groups to roles, verify a claimed domain's TXT record, turn enforced SSO on or off and mark
break-glass Owners. Each form calls the use case the API calls, with the same checks."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from flightdeck.console import data, security
from flightdeck.console.pages import (
    Confirmation,
    DbDep,
    FormDep,
    OrgDep,
    UserDep,
    field,
    redirect,
)
from flightdeck.console.views.organization import _settings_page

router = APIRouter(prefix="/o/{organization_id}/settings/sso")
SECTION = "settings"
# The add form's fields shown again after a refusal (the client secret never is).
_KEPT_FIELDS = ("issuer", "client_id", "domains", "default_role", "groups_claim", "role_mapping")


def _rules(text: str) -> list[dict[str, str]]:
    """The mapping textarea: one rule per line, blank lines ignored."""
    return [data.sso_roles.rule_from_text(line) for line in text.splitlines() if line.strip()]


def _refused(request: Request, page: OrgDep, exc: data.DomainError, form: FormData) -> Response:
    return _settings_page(
        request,
        page.user,
        page.session,
        page.org_id,
        status=409 if isinstance(exc, data.Conflict) else 422,
        sso_error=exc.message,
        sso_form={name: field(form, name) for name in _KEPT_FIELDS},
    )


@router.post("/providers")
def add_provider(request: Request, page: OrgDep, form: FormDep) -> Response:
    """Add an identity provider; its discovery document is read, as with the API."""
    try:
        provider = data.sso.add_provider(
            page.session,
            page.user,
            page.org_id,
            issuer=field(form, "issuer"),
            client_id=field(form, "client_id"),
            client_secret=str(form.get("client_secret") or ""),
            domains=[d for d in re.split(r"[\s,]+", field(form, "domains")) if d],
            default_role=field(form, "default_role", "member"),
            secret_key=security.settings_of(request).secret_key,
            groups_claim=field(form, "groups_claim") or "groups",
            role_mapping=_rules(field(form, "role_mapping")),
        )
    except (data.InvalidInput, data.Conflict, data.NotFound) as exc:
        return _refused(request, page, exc, form)
    names = ", ".join(claim.domain for claim in provider.domains)
    return _settings_page(
        request,
        page.user,
        page.session,
        page.org_id,
        sso_notice=f"{provider.issuer} added for {names}: publish each domain's TXT record "
        "below, then Verify it.",
    )


@router.post("/providers/{provider_id}/role-mapping")
def set_role_mapping(provider_id: str, request: Request, page: OrgDep, form: FormDep) -> Response:
    """Replace the provider's group-to-role rules; they apply from each user's next sign-in."""
    try:
        provider = data.sso.set_role_mapping(
            page.session,
            page.user,
            page.org_id,
            provider_id,
            groups_claim=field(form, "groups_claim") or "groups",
            role_mapping=_rules(field(form, "role_mapping")),
        )
    except (data.InvalidInput, data.Conflict) as exc:
        return _refused(request, page, exc, form)
    count = len(provider.role_mapping)
    return _settings_page(
        request,
        page.user,
        page.session,
        page.org_id,
        sso_notice=f"{provider.issuer}: {count} group rule{'s' if count != 1 else ''} saved; "
        "they apply at each user's next sign-in.",
    )


def _removal(page: OrgDep, provider_id: str) -> Confirmation:
    provider = next(
        (
            p
            for p in data.sso.list_providers(page.session, page.user, page.org_id)
            if p.id == provider_id
        ),
        None,
    )
    if provider is None:
        raise data.NotFound("identity provider not found")
    return Confirmation(
        kind="identity provider",
        name=provider.issuer,
        path=f"/settings/sso/providers/{provider.id}",
        consequence="Its domains stop routing sign-ins: its users sign in with a password, if "
        "they have one, until a provider is added again. Accounts and memberships stay.",
    )


@router.get("/providers/{provider_id}")
def provider_page(organization_id: str, request: Request) -> Response:
    """A provider lives on the settings page (where its removal comes back to)."""
    return redirect(request, f"/o/{organization_id}/settings#sso")


@router.get("/providers/{provider_id}/delete")
def confirm_removal(provider_id: str, page: OrgDep) -> Response:
    data.access.require_owner(page.session, page.user, page.org_id)
    return page.confirm(_removal(page, provider_id), section=SECTION)


@router.post("/providers/{provider_id}/delete")
def remove_provider(provider_id: str, page: OrgDep, form: FormDep) -> Response:
    data.access.require_owner(page.session, page.user, page.org_id)
    return page.delete_confirmed(
        form,
        _removal(page, provider_id),
        lambda: data.sso.remove_provider(page.session, page.user, page.org_id, provider_id),
        section=SECTION,
    )


@router.post("/break-glass")
def set_break_glass(request: Request, page: OrgDep, form: FormDep) -> Response:
    """Mark or unmark an Owner whose password keeps working while SSO is enforced."""
    mark = field(form, "break_glass") == "on"
    try:
        membership = data.sso_enforcement.set_break_glass(
            page.session, page.user, page.org_id, field(form, "user_id"), mark
        )
    except (data.InvalidInput, data.NotFound) as exc:
        return _refused(request, page, exc, form)
    email = membership.user.email
    notice = (
        f"{email} is a break-glass Owner: their password works while SSO is enforced."
        if mark
        else f"{email} is no longer a break-glass Owner."
    )
    return _settings_page(request, page.user, page.session, page.org_id, sso_notice=notice)


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
