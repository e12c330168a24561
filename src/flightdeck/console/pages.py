"""Rendering and request plumbing shared by every console page: templates, the signed-in
user, the organization in view, forms with their CSRF check, and HTML error pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from flightdeck import __version__
from flightdeck.console import data, security

PACKAGE_DIR = Path(__file__).parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"
STATIC_PREFIX = "/static/console"
LIVE_INTERVAL_MS = 2000  # how often live parts of a page poll for a new state

ROLE_LABELS = {"owner": "Organization Owner", "member": "Organization Member"}
WORKSPACE_ROLE_LABELS = {"admin": "Workspace Admin", "member": "Workspace Member"}


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["when"] = _when
templates.globals.update(
    static=STATIC_PREFIX,
    version=__version__,
    role_labels=ROLE_LABELS,
    workspace_role_labels=WORKSPACE_ROLE_LABELS,
    live_interval_ms=LIVE_INTERVAL_MS,
    min_password_length=data.MIN_PASSWORD_LENGTH,
)


class SignInRequired(Exception):
    """No valid session: the page sends the browser to sign in, saying why."""

    def __init__(self, next_path: str, *, expired: bool) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.expired = expired


class PageError(Exception):
    """An HTML error page (403, 404, a refused form) with one plain sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# -- dependencies ------------------------------------------------------------------------------
def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.session_factory() as session:
        yield session


DbDep = Annotated[Session, Depends(get_db)]


def _session_user(request: Request, session: Session) -> tuple[data.User | None, bool]:
    """The signed-in user, and whether a session cookie was sent at all."""
    cookie = request.cookies.get(security.settings_of(request).session_cookie_name)
    if not cookie:
        return None, False
    return data.auth.user_for_session(session, cookie), True


def optional_user(request: Request, session: DbDep) -> data.User | None:
    return _session_user(request, session)[0]


def signed_in(request: Request, session: DbDep) -> data.User:
    user, had_cookie = _session_user(request, session)
    if user is None:
        path = request.url.path if request.method == "GET" else "/"
        raise SignInRequired(path, expired=had_cookie)
    return user


UserDep = Annotated[data.User, Depends(signed_in)]
MaybeUserDep = Annotated[data.User | None, Depends(optional_user)]


async def checked_form(request: Request) -> FormData:
    """The posted form, refused unless it carries this session's CSRF token."""
    form = await request.form()
    submitted = form.get(security.CSRF_FIELD)
    if not security.csrf_valid(request, submitted if isinstance(submitted, str) else None):
        raise PageError(
            403,
            "This form has expired or did not come from this console. "
            "Reload the page and submit it again.",
        )
    return form


FormDep = Annotated[FormData, Depends(checked_form)]


def field(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else default


# -- the organization in view ------------------------------------------------------------------
@dataclass(frozen=True)
class OrgContext:
    """The organization a page is about, the viewer's role in it, and the viewer's others."""

    org: data.Organization
    role: str
    organizations: list[tuple[data.Organization, str]]

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


def org_context(session: Session, user: data.User, organization_id: str) -> OrgContext:
    """Raises NotFound for a non-member: the same 404 page as an id that does not exist."""
    org = data.access.require_member(session, user, organization_id)
    role = data.access.org_membership(session, user, organization_id).role
    return OrgContext(org=org, role=role, organizations=data.orgs.list_organizations(session, user))


# Refusals a form shows next to its fields (anything else is an error page); a conflict is 409.
FORM_REFUSALS: tuple[type[data.DomainError], ...] = (data.InvalidInput, data.Conflict)


def refusal(exc: data.DomainError) -> dict[str, Any]:
    """What a page re-shown after a refused form needs: status, the message, its field, and
    the refusal's details (a failed preflight's checks)."""
    status = 409 if isinstance(exc, data.Conflict) else 422
    return {
        "status": status,
        "error": exc.message,
        "error_field": exc.field,
        "details": exc.details,
    }


@dataclass(frozen=True)
class Confirmation:
    """A deletion to confirm by typing the name (one template for every kind of thing)."""

    kind: str  # how the sentence names it: "cluster", "Deployment"
    name: str
    path: str  # the thing's page, relative to the organization
    consequence: str


@dataclass(frozen=True)
class OrgPage:
    """One request for a page of an organization: who asks, which organization (membership
    already checked: a non-member got the 404 page), and the database session. Handlers
    render, redirect and handle their forms through it."""

    request: Request
    session: Session
    user: data.User
    ctx: OrgContext

    @property
    def org_id(self) -> str:
        return self.ctx.org.id

    def url(self, path: str = "") -> str:
        return f"/o/{self.org_id}{path}"

    def render(self, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
        return render(self.request, template, status=status, user=self.user, ctx=self.ctx, **values)

    def redirect(self, path: str = "") -> Response:
        return redirect(self.request, self.url(path))

    def submit(
        self,
        action: Callable[[], str],
        redisplay: Callable[..., Response],
        refused: tuple[type[data.DomainError], ...] = FORM_REFUSALS,
    ) -> Response:
        """Run a form's action; on success see its result (``action`` returns the path, in
        the organization, to go to), on a refusal re-show the form with the reason."""
        try:
            path = action()
        except refused as exc:
            return redisplay(**refusal(exc))
        return self.redirect(path)

    def confirm(
        self, confirmation: Confirmation, *, section: str, status: int = 200, error: str = ""
    ) -> HTMLResponse:
        return self.render(
            "confirm_delete.html",
            status=status,
            section=section,
            title=f"Delete {confirmation.name}",
            confirmation=confirmation,
            error=error,
        )

    def delete_confirmed(
        self,
        form: FormData,
        confirmation: Confirmation,
        delete: Callable[[], object],
        *,
        section: str,
    ) -> Response:
        """Delete only when the name typed matches; otherwise the same page, with why."""
        if field(form, "confirm_name") != confirmation.name:
            return self.confirm(
                confirmation,
                section=section,
                status=422,
                error=f"confirm_name: type the {confirmation.kind}'s name, "
                f"{confirmation.name}, to delete it",
            )
        delete()
        return self.redirect(confirmation.path)


def org_page(organization_id: str, request: Request, user: UserDep, session: DbDep) -> OrgPage:
    return OrgPage(request, session, user, org_context(session, user, organization_id))


OrgDep = Annotated[OrgPage, Depends(org_page)]


# -- rendering ---------------------------------------------------------------------------------
def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    user: data.User | None = None,
    ctx: OrgContext | None = None,
    section: str = "",
    **values: Any,
) -> HTMLResponse:
    body = templates.get_template(template).render(
        request=request,
        user=user,
        ctx=ctx,
        section=section,
        csrf_field=security.CSRF_FIELD,
        csrf_token=security.csrf_token(request),
        **values,
    )
    response = HTMLResponse(body, status_code=status)
    return security.apply_headers(request, response, no_store=True)


def redirect(request: Request, url: str) -> Response:
    """After a successful POST: see the result with a GET (no resubmission on reload)."""
    response = RedirectResponse(url, status_code=303)
    return security.apply_headers(request, response, no_store=True)


def sign_in_redirect(request: Request, exc: SignInRequired) -> Response:
    target = "/login?next=" + quote(exc.next_path, safe="/")
    if exc.expired:
        target += "&expired=1"
    response = redirect(request, target)
    if exc.expired:
        security.clear_session_cookie(request, response)
    return response


ERROR_TITLES = {
    403: "Not allowed",
    404: "Page not found",
    409: "That cannot be done now",
    422: "Check what you entered",
}


def error_page(
    request: Request,
    status: int,
    message: str,
    *,
    title: str | None = None,
    back: tuple[str, str] = ("/", "Go to the start page"),
) -> HTMLResponse:
    """One page for every refusal. A 404 never says whether the thing exists elsewhere.
    ``back`` is the way on: a path of this site and its label."""
    with request.app.state.session_factory() as session:
        user = optional_user(request, session)
        return render(
            request,
            "error.html",
            status=status,
            user=user,
            title=title or ERROR_TITLES.get(status, "Something went wrong"),
            message=message[:1].upper() + message[1:],
            status_code=status,
            back=back,
        )
