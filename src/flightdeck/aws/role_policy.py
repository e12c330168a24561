"""Read the cross-account role as it is, and install a policy version on it, through the role.

The governance pass (``flightdeck.services.governance``) needs two things from AWS: what the
role looks like now (trust policy, attached and inline policies, the default version of its
managed policy), to notice out-of-band changes; and a way to install a published policy
version on the role's own managed policy. Both go through the role itself, assumed with the
organization's external ID, so the calls are exactly the ``governance`` step of
:mod:`flightdeck.aws.permissions` (a test records them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flightdeck.aws import session as aws
from flightdeck.aws.error_codes import describe_error, error_code
from flightdeck.aws.iam_documents import canonical, parse_document
from flightdeck.aws.permissions import MANAGED_POLICY_NAME
from flightdeck.aws.verification import role_name_from_arn

__all__ = [
    "IAM_POLICY_VERSION_LIMIT",
    "SESSION_NAME",
    "InstallResult",
    "RolePolicy",
    "RolePolicyError",
    "RoleSnapshot",
    "managed_policy_arn",
    "role_policy_for",
]

SESSION_NAME = "flightdeck-governance"  # what the customer sees in CloudTrail
IAM_POLICY_VERSION_LIMIT = 5
# Codes that say the role or its access is gone or refused, rather than AWS being busy.
PERMANENT_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "NoSuchEntity", "MalformedPolicyDocument"}
)


class RolePolicyError(Exception):
    """A call through the role failed; ``code`` is AWS's error code when there is one."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    @property
    def permanent(self) -> bool:
        return self.code in PERMANENT_CODES


@dataclass(frozen=True)
class RoleSnapshot:
    """The role and its managed policy as IAM reports them."""

    role_arn: str
    trust_policy: dict[str, Any]
    attached_policy_arns: tuple[str, ...]
    inline_policies: dict[str, dict[str, Any]]
    policy_arn: str
    policy_exists: bool
    default_version_id: str | None
    default_document: dict[str, Any] | None


@dataclass(frozen=True)
class InstallResult:
    version_id: str
    deleted_version_id: str | None


def managed_policy_arn(role_arn: str) -> str:
    """``FlightdeckCrossAccountRole`` in the role's account and partition."""
    parts = role_arn.split(":")
    if len(parts) < 6 or not parts[4]:
        raise ValueError(f"{role_arn!r} is not an IAM role ARN")
    return f"arn:{parts[1]}:iam::{parts[4]}:policy/{MANAGED_POLICY_NAME}"


def _document(value: Any) -> dict[str, Any]:
    """A document read from IAM as a dict ({} for anything that is not a JSON object)."""
    decoded = parse_document(value)
    return decoded if isinstance(decoded, dict) else {}


class RolePolicy:
    """IAM calls on one role, made with an IAM client acting as that role."""

    def __init__(self, iam: Any, role_arn: str) -> None:
        self.iam = iam
        self.role_arn = role_arn
        self.role_name = role_name_from_arn(role_arn) or ""
        if not self.role_name:
            raise ValueError(f"{role_arn!r} is not an IAM role ARN")
        self.policy_arn = managed_policy_arn(role_arn)

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.iam, operation)(**kwargs)
        except Exception as exc:
            raise RolePolicyError(describe_error(exc), error_code(exc)) from exc

    def _pages(self, operation: str, key: str, **kwargs: Any) -> list[Any]:
        items: list[Any] = []
        try:
            for page in self.iam.get_paginator(operation).paginate(**kwargs):
                items.extend(page.get(key, []))
        except Exception as exc:
            raise RolePolicyError(describe_error(exc), error_code(exc)) from exc
        return items

    def snapshot(self) -> RoleSnapshot:
        role = self._call("get_role", RoleName=self.role_name)["Role"]
        attached = self._pages(
            "list_attached_role_policies", "AttachedPolicies", RoleName=self.role_name
        )
        inline: dict[str, dict[str, Any]] = {}
        for name in self._pages("list_role_policies", "PolicyNames", RoleName=self.role_name):
            answer = self._call("get_role_policy", RoleName=self.role_name, PolicyName=name)
            inline[str(name)] = _document(answer["PolicyDocument"])
        default_id: str | None = None
        default_document: dict[str, Any] | None = None
        try:
            policy = self.iam.get_policy(PolicyArn=self.policy_arn)["Policy"]
        except Exception as exc:
            if error_code(exc) != "NoSuchEntity":
                raise RolePolicyError(describe_error(exc), error_code(exc)) from exc
            exists = False
        else:
            exists = True
            default_id = str(policy["DefaultVersionId"])
            version = self._call(
                "get_policy_version", PolicyArn=self.policy_arn, VersionId=default_id
            )["PolicyVersion"]
            default_document = _document(version["Document"])
        return RoleSnapshot(
            role_arn=str(role.get("Arn", self.role_arn)),
            trust_policy=_document(role.get("AssumeRolePolicyDocument") or {}),
            attached_policy_arns=tuple(sorted(str(p["PolicyArn"]) for p in attached)),
            inline_policies=inline,
            policy_arn=self.policy_arn,
            policy_exists=exists,
            default_version_id=default_id,
            default_document=default_document,
        )

    def install(self, document: dict[str, Any]) -> InstallResult:
        """Make ``document`` the default version of the role's managed policy.

        Creates the version, then sets it as default (two calls the customer's CloudTrail
        alarm sees). A version left non-default by an interrupted attempt is reused, not
        created twice. IAM keeps at most five versions, so when five exist the oldest
        non-default one is deleted first; the default is never deleted.
        """
        versions = self._pages("list_policy_versions", "Versions", PolicyArn=self.policy_arn)
        wanted = canonical(document)
        existing: str | None = None
        for version in versions:
            if version["IsDefaultVersion"]:
                continue
            stored = self._call(
                "get_policy_version", PolicyArn=self.policy_arn, VersionId=version["VersionId"]
            )["PolicyVersion"]
            if canonical(_document(stored["Document"])) == wanted:
                existing = str(version["VersionId"])
                break
        deleted: str | None = None
        if existing is None:
            if len(versions) >= IAM_POLICY_VERSION_LIMIT:
                oldest = min(
                    (v for v in versions if not v["IsDefaultVersion"]),
                    key=lambda v: v["CreateDate"],
                )
                deleted = str(oldest["VersionId"])
                self._call("delete_policy_version", PolicyArn=self.policy_arn, VersionId=deleted)
            created = self._call(
                "create_policy_version",
                PolicyArn=self.policy_arn,
                PolicyDocument=json.dumps(document),
                SetAsDefault=False,
            )["PolicyVersion"]
            existing = str(created["VersionId"])
        self._call("set_default_policy_version", PolicyArn=self.policy_arn, VersionId=existing)
        return InstallResult(version_id=existing, deleted_version_id=deleted)


def role_policy_for(
    role_arn: str,
    external_id: str,
    *,
    sessions: aws.SessionFactory,
    region: str | None = None,
) -> RolePolicy:
    """A :class:`RolePolicy` acting as the customer's role, through the factory's cached
    role session (assumed on first use).

    Raises :class:`RolePolicyError` when the role cannot be assumed."""
    try:
        clients = sessions.role_clients(role_arn, external_id, SESSION_NAME, region)
    except Exception as exc:
        raise RolePolicyError(
            f"the role could not be assumed: {describe_error(exc)}", error_code(exc)
        ) from exc
    return RolePolicy(clients.client("iam"), role_arn)
