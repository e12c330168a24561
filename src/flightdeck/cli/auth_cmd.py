"""`flightdeck signup`, `verify-email`, `login` and `logout`."""

from __future__ import annotations

import re
import socket
from typing import Annotated, Any

import typer

# No envvar here: a URL from FLIGHTDECK_URL is for this command only, --url also becomes
# the default of later commands (see credentials.py).
URL_OPTION = typer.Option(
    "--url",
    help="Control-plane URL, remembered for later commands [default: FLIGHTDECK_URL, else "
    "the one remembered, else http://127.0.0.1:8765].",
)


def _password(password: str | None, confirm: bool = False) -> str:
    """The given password, else one prompted for; a new one (``confirm``) is checked for
    length before it is asked a second time, so the rule shows up front."""
    if password:
        return password
    if not confirm:
        value: str = typer.prompt("Password", hide_input=True)
        return value
    from flightdeck.cli.errors import CliError
    from flightdeck.services.validation import MIN_PASSWORD_LENGTH

    value = typer.prompt(f"Password (at least {MIN_PASSWORD_LENGTH} characters)", hide_input=True)
    if len(value) < MIN_PASSWORD_LENGTH:
        raise CliError(f"password: must be at least {MIN_PASSWORD_LENGTH} characters long")
    repeat: str = typer.prompt("Repeat for confirmation", hide_input=True)
    if repeat != value:
        raise CliError("password: the two entries differ; run the command again")
    return value


def register(app: typer.Typer) -> None:
    @app.command()
    def signup(
        email: Annotated[str, typer.Option(prompt=True, help="Your email address.")],
        organization: Annotated[
            str | None,
            typer.Option("--organization", help="Create this organization; you become its Owner."),
        ] = None,
        invitation_token: Annotated[
            str | None,
            typer.Option(
                envvar="FLIGHTDECK_INVITATION_TOKEN",
                help="Join the organization that invited you instead.",
            ),
        ] = None,
        name: Annotated[str, typer.Option(help="Your name.")] = "",
        password: Annotated[
            str | None,
            typer.Option(
                envvar="FLIGHTDECK_PASSWORD",
                help="Prompted for (with the minimum length) when omitted.",
            ),
        ] = None,
        url: Annotated[str | None, URL_OPTION] = None,
    ) -> None:
        """Ask for an account (and an organization, or to join one by invitation).

        A verification link goes to the address; the account exists once it is used with
        `flightdeck verify-email TOKEN`. The embedded default sends no mail: it stays in the
        local outbox, shown by `flightdeck notifications list --local`.
        """
        from flightdeck.cli.client import ApiClient
        from flightdeck.cli.errors import CliError
        from flightdeck.cli.output import success

        if (organization is None) == (invitation_token is None):
            raise CliError(
                "give --organization NAME to create an organization, "
                "or --invitation-token to join one"
            )
        client = ApiClient(url=url, token="")
        client.ensure_running()
        secret = _password(password, confirm=True)
        body = {
            "email": email,
            "password": secret,
            "name": name,
            "organization_name": organization,
            "invitation_token": invitation_token,
        }
        client.post("/auth/signup", json={k: v for k, v in body.items() if v is not None})
        success(f"verification mail sent to {email}")
        typer.echo("  finish with the token it holds: flightdeck verify-email TOKEN")
        typer.echo(
            "  no SMTP configured (the embedded default)? the mail waits in the outbox: "
            f"flightdeck notifications list --local --to {email}"
        )

    @app.command("verify-email")
    def verify_email(
        token: Annotated[str, typer.Argument(help="The token from the verification mail.")],
        password: Annotated[
            str | None,
            typer.Option(envvar="FLIGHTDECK_PASSWORD",
                         help="The password chosen at sign-up; prompted for when omitted."),
        ] = None,
        url: Annotated[str | None, URL_OPTION] = None,
    ) -> None:
        """Verify your address: creates the account you signed up for and logs you in."""
        from flightdeck.cli import credentials
        from flightdeck.cli.client import ApiClient
        from flightdeck.cli.output import success

        client = ApiClient(url=url, token="")
        client.ensure_running()
        result = client.post(
            "/auth/verify-email",
            json={"token": token, "password": _password(password), "token_name": _token_name()},
        )
        path = credentials.save(client.url, result["token"], make_default=url is not None)
        joined = result["organization"]["name"] if result["organization"] else "by invitation"
        success(f"verified {result['user']['email']} ({joined}); token stored in {path}")

    @app.command()
    def login(
        email: Annotated[
            str | None,
            typer.Option(help="Sign in with email and password [default: in the browser]."),
        ] = None,
        password: Annotated[
            str | None,
            typer.Option(envvar="FLIGHTDECK_PASSWORD", help="Prompted for when omitted."),
        ] = None,
        token: Annotated[
            str | None, typer.Option(help="Use an existing API token instead (e.g. in CI).")
        ] = None,
        no_browser: Annotated[
            bool, typer.Option("--no-browser", help="Only print the sign-in URL.")
        ] = False,
        wait: Annotated[
            int, typer.Option(help="Seconds to wait for the browser sign-in.", min=1)
        ] = 300,
        url: Annotated[str | None, URL_OPTION] = None,
    ) -> None:
        """Log in and store an API token (mode 0600) in your config directory.

        Without --email or --token, sign in in the browser (password, SSO, GitHub or Google,
        whatever the sign-in page offers): it opens (or prints) the URL and the browser comes
        back to this command on 127.0.0.1.
        """
        from flightdeck.cli import credentials
        from flightdeck.cli.client import ApiClient
        from flightdeck.cli.errors import CliError
        from flightdeck.cli.output import success

        if token:
            client = ApiClient(url=url, token=token)
            client.ensure_running()
            try:
                me = client.get("/me")
            except CliError:
                raise CliError(
                    f"the token given with --token is invalid, expired or revoked at {client.url}"
                ) from None
            path = credentials.save(client.url, token, make_default=url is not None)
            success(f"logged in to {client.url} as {me['user']['email']}; token in {path}")
            return
        client = ApiClient(url=url, token="")
        client.ensure_running()
        if email is None:
            from flightdeck.cli.browser_login import browser_login

            result = browser_login(
                client, _token_name(), open_browser=not no_browser, timeout=wait
            )
            path = credentials.save(client.url, result["token"], make_default=url is not None)
            success(f"logged in to {client.url} as {result['user']['email']}; token in {path}")
            return
        result = client.post(
            "/auth/login",
            json={"email": email, "password": _password(password), "token_name": _token_name()},
        )
        path = credentials.save(client.url, result["token"], make_default=url is not None)
        success(f"logged in to {client.url} as {result['user']['email']}; token in {path}")

    @app.command()
    def logout(
        url: Annotated[str | None, typer.Option(
            "--url", help="The control plane to log out of [default: FLIGHTDECK_URL, else the "
            "one remembered, else http://127.0.0.1:8765].")] = None,
    ) -> None:
        """Revoke your API token on the server and forget it; says what happened if the
        server cannot revoke it."""
        from flightdeck.cli import credentials
        from flightdeck.cli.client import ApiClient
        from flightdeck.cli.output import success

        client = ApiClient(url=url)
        if not client.token:
            success(f"you were not logged in to {client.url}")
            return
        revoked, what = _revoke(client)
        if client.token_from_environment:
            message = f"the token in FLIGHTDECK_TOKEN {what}; unset FLIGHTDECK_TOKEN too"
        else:
            credentials.forget(client.url)
            message = f"the token for {client.url} {what}, and is forgotten here"
        if revoked:
            success(f"logged out: {message}")
        else:
            typer.echo(f"Not logged out everywhere: {message}.", err=True)
            raise typer.Exit(1)


def _revoke(client: Any) -> tuple[bool, str]:
    """Revoke the client's own token. (True, "is revoked") when the server no longer accepts
    it afterwards; (False, what went wrong) when it may still be valid."""
    from flightdeck.cli.errors import CliError

    try:
        for record in client.get("/tokens"):
            if client.token.startswith(record["prefix"]) and not record["revoked_at"]:
                client.delete(f"/tokens/{record['id']}")
                return True, "is revoked"
    except CliError as exc:
        if "invalid, expired or revoked" in exc.message:
            return True, "had already expired or been revoked"
        return False, f"could not be revoked ({exc.message}) and stays valid until it expires"
    return False, "is not among your tokens on the server, so it was not revoked"

def _token_name() -> str:
    """``cli on <host>``: tells the user where a token in `token list` came from."""
    host = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:50] or "unknown"
    return f"cli on {host}"
