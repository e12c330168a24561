"""The WSGI application in front of moto's server: control paths, extra backends, faults.

Order per request: ``/_flightdeck/*`` control (never faulted) → ``/moto-api/*`` (moto's own
control, never faulted) → injected fault → the emulator's backends → moto, with the account
resolved once and handed to moto in its ``x-moto-account-id`` header so moto and the extra
backends always agree on whose namespace a call lands in.
"""

from __future__ import annotations

import hmac
import io
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from werkzeug.wrappers import Request, Response

from flightdeck.aws.emulator import backends
from flightdeck.aws.emulator.accounts import account_for_access_key, request_scope
from flightdeck.aws.emulator.state import EmulatorState
from flightdeck.aws.emulator.wire import error_response, request_protocol, throttle_response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

CONTROL_PREFIX = "/_flightdeck/"
_MOTO_CONTROL_PREFIX = "/moto-api"
HEALTH_PATH = CONTROL_PREFIX + "health"
# Control requests (ours and moto's) carry the emulator's per-start token in this header.
CONTROL_TOKEN_HEADER = "X-Flightdeck-Control"
_CONTROL_TOKEN_KEY = "HTTP_X_FLIGHTDECK_CONTROL"
_ACCOUNT_OVERRIDE_KEY = "HTTP_X_MOTO_ACCOUNT_ID"


class ControlGuard:
    """The outermost WSGI layer: control paths only for whoever holds the control token.

    Customer code reaches the emulator as it would reach AWS (the local runtime bridges a
    Deployment's AWS endpoint into its sandbox). It must not reset, dump or fault the
    emulator, nor pick another account with moto's ``x-moto-account-id`` header: those stay
    with the process that started the emulator (its ``EmulatorControl`` has the token).
    Health stays open; refused requests never reach the journal; the token is removed before
    a request goes further, so it is never journaled.
    """

    def __init__(self, app: WSGIApplication, token: str) -> None:
        self.app = app
        self.token = token

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        given = str(environ.pop(_CONTROL_TOKEN_KEY, ""))
        trusted = bool(given) and hmac.compare_digest(given, self.token)
        if not trusted and path != HEALTH_PATH:
            if path.startswith((CONTROL_PREFIX, _MOTO_CONTROL_PREFIX)):
                refused = Response(
                    json.dumps(
                        {
                            "error": f"control endpoints need the emulator's control token in "
                            f"the {CONTROL_TOKEN_HEADER} header"
                        }
                    ),
                    status=403,
                    mimetype="application/json",
                )
                return refused(environ, start_response)
            environ.pop(_ACCOUNT_OVERRIDE_KEY, None)  # the account comes from the credentials
        return self.app(environ, start_response)


class EmulatorApp:
    """Wraps moto's ``DomainDispatcherApplication``; see the module docstring for the order."""

    def __init__(
        self,
        moto_app: WSGIApplication,
        state: EmulatorState,
        platform_account_id: str,
        customer_account_ids: tuple[str, ...],
    ) -> None:
        self.moto_app = moto_app
        self.state = state
        self.platform_account_id = platform_account_id
        self.customer_account_ids = customer_account_ids

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith(CONTROL_PREFIX):
            return self._control(Request(environ))(environ, start_response)
        if path.startswith(_MOTO_CONTROL_PREFIX):
            return self.moto_app(environ, start_response)

        scope = request_scope(environ)
        account_id = str(
            environ.get("HTTP_X_MOTO_ACCOUNT_ID")
            or account_for_access_key(scope.access_key_id, self.platform_account_id)
        )
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = account_id
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        needs_body = scope.service == "servicequotas" or (
            not target and "x-www-form-urlencoded" in str(environ.get("CONTENT_TYPE", ""))
        )
        body = _buffer_body(environ) if needs_body else b""

        rule = None
        if not environ.get("flightdeck.replay"):  # a replayed request already succeeded once
            rule = self.state.draw_fault(
                scope.service, _action(environ, scope.service, target, body)
            )
        if rule is not None:
            environ["flightdeck.faulted"] = True  # never reached moto: nothing to journal
            response = throttle_response(request_protocol(environ, scope.service), rule.code)
            return response(environ, start_response)

        answer: Response | None = None
        region = scope.region or "us-east-1"
        if scope.service == "servicequotas" and target.startswith(backends.QUOTAS_TARGET_PREFIX):
            operation = target[len(backends.QUOTAS_TARGET_PREFIX) :]
            answer = backends.service_quotas(self.state, operation, body, account_id, region)
        elif scope.service == "account":
            answer = backends.account_api(self.state, path, _buffer_body(environ), account_id)
        if answer is not None:
            return answer(environ, start_response)
        try:
            return self.moto_app(environ, start_response)
        except NotImplementedError as exc:
            # What AWS would never say, but what a client can handle: a clean error, not a
            # stack trace in the server's log.
            unsupported = error_response(
                request_protocol(environ, scope.service), "NotImplemented",
                f"the emulator does not implement this call ({exc})", 501,
            )
            return unsupported(environ, start_response)

    # -- control ---------------------------------------------------------------------------
    def _control(self, request: Request) -> Response:
        route = request.path[len(CONTROL_PREFIX) :].strip("/")
        try:
            payload: dict[str, Any] = request.get_json(silent=True) or {}
            result = self._route(request.method, route, payload)
        except (ValueError, TypeError, KeyError) as exc:
            return _json({"error": str(exc)}, status=400)
        if result is None:
            return _json(
                {"error": f"no control endpoint {request.method} /_flightdeck/{route}"}, 404
            )
        return _json(result)

    def _route(self, method: str, route: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        state = self.state
        if route == "health" and method == "GET":
            return {
                "status": "ok",
                "platform_account_id": self.platform_account_id,
                "customer_account_ids": list(self.customer_account_ids),
            }
        if route == "state" and method == "GET":
            return state.snapshot()
        if route == "quotas" and method in ("PUT", "POST"):
            state.set_quota(
                _account(payload),
                str(payload["region"]),
                str(payload.get("service_code", "ec2")),
                str(payload["quota_code"]),
                float(payload["value"]),
            )
            return {"ok": True}
        if route == "regions" and method in ("PUT", "POST"):
            if "transition_reads" in payload:
                state.transition_reads = int(payload["transition_reads"])
            if "region" in payload:
                state.set_region_status(
                    _account(payload), str(payload["region"]), str(payload["status"])
                )
            return {"ok": True}
        if route == "faults" and method == "POST":
            rule = state.add_fault(
                fraction=float(payload.get("fraction", 1.0)),
                service=_optional_str(payload.get("service")),
                action=_optional_str(payload.get("action")),
                code=_optional_str(payload.get("code")),
                count=None if payload.get("count") is None else int(payload["count"]),
                seed=None if payload.get("seed") is None else int(payload["seed"]),
            )
            return rule.as_dict()
        if route == "faults" and method == "GET":
            return {"faults": state.faults()}
        if route == "faults" and method == "DELETE":
            state.clear_faults()
            return {"ok": True}
        if route == "reset" and method == "POST":
            state.reset()
            return {"ok": True}
        return None


def _account(payload: dict[str, Any]) -> str:
    account_id = str(payload["account_id"])
    if not (len(account_id) == 12 and account_id.isdigit()):
        raise ValueError("account_id must be 12 digits")
    return account_id


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, headers={"Content-Type": "application/json"})


def _buffer_body(environ: WSGIEnvironment) -> bytes:
    """Read the request body once and put it back, so moto can still read it afterwards."""
    cached = environ.get("flightdeck.body")
    if isinstance(cached, bytes):
        return cached
    body = Request(environ).get_data(cache=False)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ["flightdeck.body"] = body
    return body


def _action(environ: WSGIEnvironment, service: str | None, target: str, body: bytes) -> str | None:
    """The API operation name, where the protocol makes it visible without a service model."""
    if target:
        return target.rsplit(".", 1)[-1]
    query = parse_qs(str(environ.get("QUERY_STRING", "")))
    if "Action" in query:
        return query["Action"][0]
    if body:
        form = parse_qs(body.decode("utf-8", errors="replace"))
        if "Action" in form:
            return form["Action"][0]
    if service == "account":
        return backends.ACCOUNT_PATHS.get(str(environ.get("PATH_INFO", "")))
    return None
