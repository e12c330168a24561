"""Small backends for APIs moto lacks: EC2 service quotas and the Account API's region opt-in.

Both speak the wire format botocore's service models describe (service-quotas is JSON 1.1
with ``X-Amz-Target: ServiceQuotasV20190624.<Op>``; the Account API is REST-JSON on
``POST /<op>``). Quotas moto already knows (its VPC defaults) are left to moto.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

from flightdeck.aws.emulator.state import KNOWN_QUOTAS, EmulatorState
from flightdeck.aws.emulator.wire import json_error, json_response
from flightdeck.aws.reference import COMMERCIAL_REGIONS

QUOTAS_TARGET_PREFIX = "ServiceQuotasV20190624."
ACCOUNT_PATHS = {
    "/getRegionOptStatus": "GetRegionOptStatus",
    "/enableRegion": "EnableRegion",
    "/disableRegion": "DisableRegion",
    "/listRegions": "ListRegions",
}


def _load_json(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    loaded = json.loads(body)
    return loaded if isinstance(loaded, dict) else {}


def service_quotas(
    state: EmulatorState, operation: str, body: bytes, account_id: str, region: str
) -> Response | None:
    """Answer GetServiceQuota / GetAWSDefaultServiceQuota for quotas the emulator owns."""
    if operation not in ("GetServiceQuota", "GetAWSDefaultServiceQuota"):
        return None
    params = _load_json(body)
    service_code = str(params.get("ServiceCode", ""))
    quota_code = str(params.get("QuotaCode", ""))
    info = KNOWN_QUOTAS.get((service_code, quota_code))
    if operation == "GetAWSDefaultServiceQuota":
        if info is None:
            return None
        value: float | None = info.default_value
        arn = f"arn:aws:servicequotas:{region}::{service_code}/{quota_code}"
    else:
        value = state.quota_value(account_id, region, service_code, quota_code)
        if value is None:
            return None  # neither known nor set: moto's own catalogue (or its error) answers
        arn = f"arn:aws:servicequotas:{region}:{account_id}:{service_code}/{quota_code}"
    quota: dict[str, Any] = {
        "ServiceCode": service_code,
        "ServiceName": info.service_name if info else service_code,
        "QuotaArn": arn,
        "QuotaCode": quota_code,
        "QuotaName": info.quota_name if info else quota_code,
        "Value": value,
        "Unit": info.unit if info else "None",
        "Adjustable": info.adjustable if info else True,
        "GlobalQuota": False,
    }
    return json_response({"Quota": quota})


def _validation(message: str) -> Response:
    return json_error("ValidationException", message, status=400, rest=True)


def account_api(
    state: EmulatorState, path: str, body: bytes, caller_account_id: str
) -> Response | None:
    """The Account API's region opt-in operations, per account (``AccountId`` or the caller's)."""
    operation = ACCOUNT_PATHS.get(path)
    if operation is None:
        return None
    try:
        params = _load_json(body)
    except ValueError:
        return _validation("The request body is not valid JSON.")
    account_id = str(params.get("AccountId") or caller_account_id)
    if not (len(account_id) == 12 and account_id.isdigit()):
        return _validation("Invalid AccountId: it must be 12 digits.")

    if operation == "ListRegions":
        return _list_regions(state, params, account_id)

    region = params.get("RegionName")
    if not isinstance(region, str) or region not in COMMERCIAL_REGIONS:
        return _validation(f"Invalid RegionName: {region!r} is not a region of this partition.")
    status = state.region_status(account_id, region)
    if operation == "GetRegionOptStatus":
        return Response(
            json.dumps({"RegionName": region, "RegionOptStatus": status}),
            headers={"Content-Type": "application/json"},
        )
    if status == "ENABLED_BY_DEFAULT":
        return _validation(f"{region} is enabled by default and cannot be enabled or disabled.")
    if operation == "EnableRegion":
        if status == "DISABLING":
            return json_error("ConflictException", f"{region} is being disabled.", 409, rest=True)
        if status == "DISABLED":
            state.set_region_status(account_id, region, "ENABLING")
    else:  # DisableRegion
        if status == "ENABLING":
            return json_error("ConflictException", f"{region} is being enabled.", 409, rest=True)
        if status == "ENABLED":
            state.set_region_status(account_id, region, "DISABLING")
    return Response(b"", status=200, headers={"Content-Type": "application/json"})


def _list_regions(state: EmulatorState, params: dict[str, Any], account_id: str) -> Response:
    wanted = params.get("RegionOptStatusContains") or []
    max_results = int(params.get("MaxResults") or 50)
    if not 1 <= max_results <= 50:
        return _validation("MaxResults must be between 1 and 50.")
    token = params.get("NextToken")
    start = int(token) if isinstance(token, str) and token.isdigit() else 0
    regions = [
        {"RegionName": region, "RegionOptStatus": state.region_status(account_id, region)}
        for region in sorted(COMMERCIAL_REGIONS)
    ]
    if wanted:
        regions = [entry for entry in regions if entry["RegionOptStatus"] in wanted]
    page = regions[start : start + max_results]
    result: dict[str, Any] = {"Regions": page}
    if start + max_results < len(regions):
        result["NextToken"] = str(start + max_results)
    return Response(json.dumps(result), headers={"Content-Type": "application/json"})
