"""AWS wire formats for the emulator's own answers: success bodies and errors per protocol.

botocore parses errors differently per protocol (JSON ``__type``, REST-JSON
``x-amzn-ErrorType``, EC2's ``<Response><Errors>``, query's ``<ErrorResponse>``, S3's bare
``<Error>``); an injected throttle must arrive in the shape the client's protocol expects, or
botocore would not recognise the code and its retry logic would not apply.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.wrappers import Response

JSON = "json"
REST_JSON = "rest-json"
QUERY = "query"
EC2 = "ec2"
S3 = "s3"
REST_XML = "rest-xml"

DEFAULT_THROTTLE_CODE = {
    JSON: "ThrottlingException",
    REST_JSON: "ThrottlingException",
    QUERY: "Throttling",
    EC2: "RequestLimitExceeded",
    S3: "SlowDown",
    REST_XML: "Throttling",
}
_THROTTLE_STATUS = {JSON: 400, REST_JSON: 429, QUERY: 400, EC2: 503, S3: 503, REST_XML: 400}
_REST_XML_SERVICES = {"route53", "cloudfront"}


def request_protocol(environ: Mapping[str, Any], service: str | None) -> str:
    """Which protocol the calling botocore client speaks, judged from the request itself."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        return JSON
    if service == "ec2":
        return EC2
    if service == "s3":
        return S3
    if service in _REST_XML_SERVICES:
        return REST_XML
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if "x-www-form-urlencoded" in content_type or "Action=" in str(environ.get("QUERY_STRING", "")):
        return QUERY
    return REST_JSON


def _request_id() -> str:
    return str(uuid.uuid4())


def json_response(
    body: Mapping[str, Any], content_type: str = "application/x-amz-json-1.1"
) -> Response:
    return Response(
        json.dumps(body),
        status=200,
        headers={"Content-Type": content_type, "x-amzn-RequestId": _request_id()},
    )


def json_error(code: str, message: str, status: int = 400, rest: bool = False) -> Response:
    """An error for JSON (``__type`` in the body) and REST-JSON (``x-amzn-ErrorType``) clients."""
    headers = {"x-amzn-RequestId": _request_id()}
    if rest:
        headers["x-amzn-ErrorType"] = code
        content_type = "application/json"
    else:
        content_type = "application/x-amz-json-1.1"
    return Response(
        json.dumps({"__type": code, "message": message, "Message": message}),
        status=status,
        headers={"Content-Type": content_type, **headers},
    )


def throttle_response(protocol: str, code: str | None) -> Response:
    """AWS's throttling answer for ``protocol``; ``code`` overrides the usual code."""
    error_code = code or DEFAULT_THROTTLE_CODE[protocol]
    message = {EC2: "Request limit exceeded.", S3: "Please reduce your request rate."}.get(
        protocol, "Rate exceeded"
    )
    return error_response(protocol, error_code, message, _THROTTLE_STATUS[protocol])


def error_response(protocol: str, code: str, message: str, status: int) -> Response:
    """An AWS error in the envelope ``protocol``'s clients parse."""
    request_id = _request_id()
    if protocol in (JSON, REST_JSON):
        return json_error(code, message, status=status, rest=protocol == REST_JSON)
    if protocol == EC2:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
    elif protocol == S3:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        )
    else:  # query and rest-xml share the <ErrorResponse> envelope
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    return Response(
        body,
        status=status,
        headers={"Content-Type": "text/xml", "x-amzn-RequestId": request_id},
    )
