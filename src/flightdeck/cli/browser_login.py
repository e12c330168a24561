"""`flightdeck login` in the browser (RFC 8252): a listener on 127.0.0.1 and an ephemeral
port receives the one-time code, which is traded with the PKCE verifier for an API token."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
import threading
import webbrowser
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import typer

from flightdeck.cli.errors import CliError

CALLBACK_PATH = "/callback"
# The console's page that tells the person to go back to the terminal (the listener itself
# serves nothing: the browser sees the control plane's own, styled page).
DONE_PATH = "/cli-signed-in"


@dataclass
class _Result:
    state: str
    code: str | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


def _handler(result: _Result, done_url: str) -> type[BaseHTTPRequestHandler]:
    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path != CALLBACK_PATH or result.done.is_set():
                self.send_error(404)
                return
            if not secrets.compare_digest(query.get("state", ""), result.state):
                self.send_error(400, "this sign-in was not started by this flightdeck login")
                return
            result.code = query.get("code")
            result.error = None if result.code else "the browser brought back no code"
            self.send_response(303)
            self.send_header("Location", done_url)
            self.send_header("Content-Length", "0")
            self.end_headers()
            result.done.set()

        def log_message(self, format: str, *args: Any) -> None:
            del format, args  # the code is in the request line: never log it

    return Callback


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def browser_login(client: Any, token_name: str, *, open_browser: bool, timeout: float) -> Any:
    """Sign in in the browser; the API's answer (user and token) once the code is traded."""
    result = _Result(state=secrets.token_urlsafe(24))
    server = HTTPServer(("127.0.0.1", 0), _handler(result, client.url + DONE_PATH))
    redirect_uri = f"http://127.0.0.1:{server.server_port}{CALLBACK_PATH}"
    verifier = secrets.token_urlsafe(48)
    url = f"{client.url}/api/v1/auth/cli/authorize?" + urlencode(
        {
            "redirect_uri": redirect_uri,
            "state": result.state,
            "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    thread.start()
    try:
        typer.echo(
            "Sign in in your browser; if it does not open, open this URL:"
            if open_browser
            else "Open this URL in a browser to sign in:",
            err=True,
        )
        typer.echo(f"  {url}", err=True)
        if open_browser:
            with contextlib.suppress(webbrowser.Error):  # none here: the URL is printed
                webbrowser.open(url)
        if not result.done.wait(timeout):
            raise CliError(
                f"no sign-in came back within {int(timeout)} seconds; run `flightdeck login` "
                "again (or use --email, or --token in CI)"
            )
    finally:
        server.shutdown()
        server.server_close()
    if result.code is None:
        raise CliError(f"the sign-in did not complete: {result.error}")
    return client.post(
        "/auth/cli/token",
        json={
            "code": result.code,
            "code_verifier": verifier,
            "redirect_uri": redirect_uri,
            "token_name": token_name,
        },
    )
