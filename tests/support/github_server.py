"""A server on loopback that answers as GitHub's documented OAuth web flow and REST
endpoints do, for the GitHub sign-in tests. It follows, from docs.github.com:

- "Authorizing OAuth apps", web application flow: ``GET /login/oauth/authorize`` sends the
  user back to ``redirect_uri`` with ``code`` and ``state`` (here the user has already
  approved); ``POST /login/oauth/access_token`` with ``Accept: application/json`` answers
  ``{"access_token", "scope", "token_type": "bearer"}``, and a bad code answers 200 with
  ``{"error": "bad_verification_code", "error_description", "error_uri"}``; with PKCE the
  ``code_verifier`` must match the S256 ``code_challenge``.
- REST "Get the authenticated user" ``GET /user`` (``login``, ``id``, ``name``, ``email``)
  and "List email addresses for the authenticated user" ``GET /user/emails`` (``email``,
  ``primary``, ``verified``, ``visibility``); a bad token answers 401
  ``{"message": "Bad credentials", "documentation_url"}``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import flask
import werkzeug.serving


@dataclass
class GitHubAccount:
    login: str
    name: str
    emails: list[dict[str, Any]]


@dataclass
class GitHub:
    url: str
    account: GitHubAccount | None = None  # who is signed in at GitHub and approves
    codes: dict[str, tuple[GitHubAccount, str, str]] = field(default_factory=dict)
    tokens: dict[str, GitHubAccount] = field(default_factory=dict)


def _app(github: GitHub) -> flask.Flask:
    app = flask.Flask("github-on-loopback")

    @app.get("/login/oauth/authorize")
    def authorize() -> Any:
        args = flask.request.args
        assert github.account is not None, "the test signs someone in at GitHub first"
        code = secrets.token_hex(10)
        github.codes[code] = (github.account, args["redirect_uri"], args.get("code_challenge", ""))
        query = urlencode({"code": code, "state": args["state"]})
        return flask.redirect(f"{args['redirect_uri']}?{query}", 302)

    @app.post("/login/oauth/access_token")
    def access_token() -> Any:
        form = flask.request.form
        entry = github.codes.pop(form.get("code", ""), None)
        bad = {
            "error": "bad_verification_code",
            "error_description": "The code passed is incorrect or expired.",
            "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code",
        }
        if entry is None or form.get("client_secret") != "github-secret":
            return flask.jsonify(bad)
        account, redirect_uri, challenge = entry
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if form.get("redirect_uri") != redirect_uri or digest.rstrip(b"=").decode() != challenge:
            return flask.jsonify(bad)
        token = "gho_" + secrets.token_hex(18)
        github.tokens[token] = account
        return flask.jsonify(
            {"access_token": token, "scope": "read:user,user:email", "token_type": "bearer"}
        )

    def _account() -> GitHubAccount | None:
        header = flask.request.headers.get("Authorization", "")
        return github.tokens.get(header.removeprefix("Bearer ").removeprefix("token "))

    unauthorized = {
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
    }

    @app.get("/user")
    def user() -> Any:
        account = _account()
        if account is None:
            return flask.jsonify(unauthorized), 401
        public = next((e["email"] for e in account.emails if e.get("visibility") == "public"), None)
        return flask.jsonify(
            {"login": account.login, "id": 1, "name": account.name, "email": public}
        )

    @app.get("/user/emails")
    def emails() -> Any:
        account = _account()
        if account is None:
            return flask.jsonify(unauthorized), 401
        return flask.jsonify(account.emails)

    return app


@contextmanager
def running_github() -> Iterator[GitHub]:
    github = GitHub(url="")
    server = werkzeug.serving.make_server("127.0.0.1", 0, _app(github), threaded=True)
    github.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield github
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
