"""Drift findings: how the customer's role differs from what it should be. Pure: it reads a
snapshot of the role and says what differs, for the worker to report."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from flightdeck.aws.iam_documents import canonical
from flightdeck.aws.permissions import MANAGED_POLICY_NAME
from flightdeck.aws.policy_versions import PolicyCatalog, PolicyVersion
from flightdeck.aws.policy_versions.diff import grant_changes
from flightdeck.aws.role_policy import RoleSnapshot
from flightdeck.aws.role_template import trust_policy_document
from flightdeck.policy.document import InvalidPolicyError
from flightdeck.policy.trust import check_trust_policy


@dataclass(frozen=True)
class Finding:
    """One way the role differs from what it should be. ``key`` names what differs and
    ``digest`` how, so the same difference is reported once and a new one again."""

    key: str
    digest: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "digest": self.digest, "message": self.message}


def digest(value: Any) -> str:
    text = json.dumps(canonical(value), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def drift_findings(
    snapshot: RoleSnapshot,
    *,
    platform_account_id: str,
    external_id: str,
    version_in_force: PolicyVersion | None,
    catalog: PolicyCatalog,
) -> list[Finding]:
    """Compare the role with what it should be. Messages never contain the external ID
    (the trust policy holds it in clear), only what differs and how to put it back."""
    findings: list[Finding] = []
    expected_trust = trust_policy_document(platform_account_id, external_id)
    if canonical(snapshot.trust_policy) != canonical(expected_trust):
        try:
            report = check_trust_policy(snapshot.trust_policy, platform_account_id, external_id)
            verdict = (
                "it still lets only the platform in, with your external ID"
                if report.ok
                else " ".join(problem.message for problem in report.problems)
            )
        except InvalidPolicyError as exc:
            verdict = f"it is not a valid trust policy ({exc})"
        findings.append(
            Finding(
                "trust_policy",
                digest(snapshot.trust_policy),
                f"The role's trust policy was changed: {verdict}",
            )
        )
    for arn in snapshot.attached_policy_arns:
        if arn != snapshot.policy_arn:
            findings.append(
                Finding(
                    f"attached:{arn}",
                    digest(arn),
                    f"The policy {arn} is attached to the role, which should hold only "
                    f"{MANAGED_POLICY_NAME}.",
                )
            )
    if snapshot.policy_arn not in snapshot.attached_policy_arns:
        findings.append(
            Finding(
                "detached",
                digest(snapshot.policy_arn),
                f"{MANAGED_POLICY_NAME} is no longer attached to the role.",
            )
        )
    for name, document in sorted(snapshot.inline_policies.items()):
        findings.append(
            Finding(
                f"inline:{name}",
                digest(document),
                f"The inline policy {name} was put on the role, which should have none.",
            )
        )
    if not snapshot.policy_exists or snapshot.default_document is None:
        findings.append(
            Finding("policy_missing", digest(None), f"The policy {MANAGED_POLICY_NAME} is gone.")
        )
    elif version_in_force is None:
        matched = catalog.match(snapshot.default_document)
        findings.append(
            Finding(
                "policy_unknown",
                digest(snapshot.default_document),
                f"The default version {snapshot.default_version_id} of {MANAGED_POLICY_NAME} "
                + (
                    f"is the published version {matched.version}, but not one flightdeck installed."
                    if matched
                    else "matches no published policy version."
                ),
            )
        )
    elif canonical(snapshot.default_document) != canonical(version_in_force.document):
        matched = catalog.match(snapshot.default_document)
        changes = grant_changes(version_in_force.document, snapshot.default_document)
        what = "; ".join(changes.lines()) or "only statement names or ordering differ"
        as_published = f" (it is the published version {matched.version})" if matched else ""
        findings.append(
            Finding(
                "policy_document",
                digest(snapshot.default_document),
                f"The default version {snapshot.default_version_id} of {MANAGED_POLICY_NAME} "
                f"is not policy version {version_in_force.version}{as_published}: {what}.",
            )
        )
    return findings
