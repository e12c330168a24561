"""A real OpenID Connect provider on loopback for the SSO tests: oidc-provider-mock (a Flask
app built on Authlib's authorization server), served by werkzeug in a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import oidc_provider_mock
import werkzeug.serving


@dataclass
class Provider:
    issuer: str
    server: werkzeug.serving.BaseWSGIServer

    def set_user(self, sub: str, **claims: object) -> None:
        """The claims the provider puts in this subject's ID token."""
        response = httpx.put(f"{self.issuer}/users/{sub}", json=claims)
        assert response.status_code == 204, response.text

    def stop(self) -> None:
        self.server.shutdown()


@contextmanager
def running_provider() -> Iterator[Provider]:
    app = oidc_provider_mock.app(require_nonce=True)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield Provider(issuer=f"http://127.0.0.1:{server.server_port}", server=server)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
