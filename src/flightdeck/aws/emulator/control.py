"""A Python client for the emulator's control endpoints (``/_flightdeck/*`` and moto's reset).

Tests and the embedded server change the emulator's extra state through HTTP, never by
reaching into the process, so the same calls work against an emulator in another process.
"""

from __future__ import annotations

from typing import Any

import httpx


class EmulatorControlError(RuntimeError):
    """The emulator refused a control request (bad value, unknown endpoint)."""


class EmulatorControl:
    def __init__(self, endpoint_url: str, token: str = "", timeout: float = 60.0) -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self._timeout = timeout
        self._headers = {"X-Flightdeck-Control": token} if token else {}

    def _call(
        self, method: str, path: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        response = httpx.request(
            method,
            f"{self.endpoint_url}{path}",
            json=payload,
            headers=self._headers,
            timeout=self._timeout,
        )
        if response.status_code >= 400:
            raise EmulatorControlError(f"{method} {path}: {response.status_code} {response.text}")
        if not response.content:
            return {}
        body = response.json()
        return body if isinstance(body, dict) else {"result": body}

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/_flightdeck/health")

    def state(self) -> dict[str, Any]:
        """Everything set through this client: quotas, region statuses, fault rules."""
        return self._call("GET", "/_flightdeck/state")

    def set_quota(
        self, account_id: str, region: str, quota_code: str, value: float, service_code: str = "ec2"
    ) -> None:
        """What ``service-quotas:GetServiceQuota`` answers for this account and region."""
        self._call(
            "PUT",
            "/_flightdeck/quotas",
            {
                "account_id": account_id,
                "region": region,
                "service_code": service_code,
                "quota_code": quota_code,
                "value": value,
            },
        )

    def set_region_status(self, account_id: str, region: str, status: str) -> None:
        """Force the Account API's opt status of ``region`` (ENABLED, DISABLED, ENABLING, ...)."""
        self._call(
            "PUT",
            "/_flightdeck/regions",
            {"account_id": account_id, "region": region, "status": status},
        )

    def set_region_transition_reads(self, reads: int) -> None:
        """How many reads show ENABLING/DISABLING before a region settles (default 0)."""
        self._call("PUT", "/_flightdeck/regions", {"transition_reads": reads})

    def inject_faults(
        self,
        fraction: float = 1.0,
        *,
        service: str | None = None,
        action: str | None = None,
        code: str | None = None,
        count: int | None = None,
        seed: int | None = None,
    ) -> dict[str, Any]:
        """Answer ``fraction`` of matching calls with AWS throttling; returns the rule.

        ``service`` is the SigV4 signing name (``ec2``, ``sts``, ``servicequotas``); ``action``
        the operation name (``DescribeVpcs``), visible for JSON, query, EC2 and Account API
        calls only. ``count`` caps how many calls the rule fails; ``seed`` makes it repeatable.
        """
        return self._call(
            "POST",
            "/_flightdeck/faults",
            {
                "fraction": fraction,
                "service": service,
                "action": action,
                "code": code,
                "count": count,
                "seed": seed,
            },
        )

    def faults(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/_flightdeck/faults")["faults"])

    def clear_faults(self) -> None:
        self._call("DELETE", "/_flightdeck/faults")

    def reset(self, moto: bool = True) -> None:
        """Drop quotas, region overrides and faults; with ``moto`` also every AWS resource."""
        self._call("POST", "/_flightdeck/reset")
        if moto:
            self._call("POST", "/moto-api/reset")
