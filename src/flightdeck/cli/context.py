"""What one ``flightdeck`` invocation shares: the control-plane client, the organization and
the output mode.

The root callback puts a fresh :class:`Invocation` in typer's context object. A command
binds its ``--org`` and ``--json`` values once with :func:`invocation` and then asks it for
the client and the organization: the client is built, and the organization resolved (one
``GET /organizations``), at most once per invocation, however many helpers need them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer

from flightdeck.cli.errors import CliError

if TYPE_CHECKING:
    from flightdeck.cli.client import ApiClient


@dataclass
class Invocation:
    org_ref: str | None = None  # --org: an organization id or slug; None means "the only one"
    json_output: bool = False  # --json: print machine-readable JSON instead of tables
    _client: ApiClient | None = field(default=None, repr=False)
    _organization: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def client(self) -> ApiClient:
        """The control-plane client with the stored (or FLIGHTDECK_*) URL and token."""
        if self._client is None:
            from flightdeck.cli.client import ApiClient

            self._client = ApiClient()
        return self._client

    @property
    def logged_in(self) -> bool:
        """Whether there is a token to talk to the control plane with."""
        return bool(self.client.token)

    @property
    def organization(self) -> dict[str, Any]:
        """The ``--org`` organization by id or slug (or a name only one has); the only one
        when there is exactly one."""
        if self._organization is None:
            self._organization = _resolve_org(self.client.get("/organizations"), self.org_ref)
        return self._organization

    @property
    def org_id(self) -> str:
        return str(self.organization["id"])

    def org_path(self, path: str = "") -> str:
        """``/organizations/<id><path>``: the API path of something in the organization."""
        return f"/organizations/{self.org_id}{path}"

    def workspace(self, ref: str) -> dict[str, Any]:
        """A workspace of the organization by id or name (names compare ignoring case and
        surrounding spaces, as the control plane keeps them unique)."""
        wanted = ref.strip().lower()
        for candidate in self.client.get(self.org_path("/workspaces")):
            if ref == candidate["id"] or wanted == candidate["name"].strip().lower():
                return dict(candidate)
        raise CliError(
            f"no workspace {ref!r} in this organization; see `flightdeck workspace list`"
        )

    def member(self, ref: str) -> dict[str, Any]:
        """A member of the organization by email or user id."""
        for member in self.client.get(self.org_path("/members")):
            if ref.lower() in (member["user_id"], member["email"]):
                return dict(member)
        raise CliError(f"no member {ref!r} in this organization; see `flightdeck user list`")


def invocation(
    ctx: typer.Context, org: str | None = None, json_output: bool = False
) -> Invocation:
    """This invocation's shared state, with the command's ``--org`` and ``--json`` bound."""
    current = ctx.ensure_object(Invocation)
    if org != current.org_ref:
        current.org_ref = org
        current._organization = None
    current.json_output = json_output
    return current


def _resolve_org(organizations: list[dict[str, Any]], ref: str | None) -> dict[str, Any]:
    if ref:
        for candidate in organizations:
            if ref in (candidate["id"], candidate.get("slug")):
                return dict(candidate)
        wanted = ref.strip().lower()
        named = [o for o in organizations if o["name"].strip().lower() == wanted]
        if len(named) == 1:
            return dict(named[0])
        if named:
            slugs = ", ".join(str(o.get("slug")) for o in named)
            raise CliError(
                f"several of your organizations are named {ref!r} (slugs: {slugs}); choose "
                "one with --org SLUG"
            )
        raise CliError(f"no organization {ref!r}; see `flightdeck organization list`")
    if len(organizations) == 1:
        return dict(organizations[0])
    if not organizations:
        raise CliError(
            "you belong to no organization; create one with `flightdeck organization create NAME`"
        )
    names = ", ".join(f"{o['name']} ({o.get('slug')})" for o in organizations)
    raise CliError(f"you belong to several organizations ({names}); choose one with --org SLUG")
