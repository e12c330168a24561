"""The mail Organization Owners get about their role's policy: a notice of new access, a
reduction installed, drift detected or undone."""

from __future__ import annotations

import json
from typing import Any

from flightdeck.aws.permissions import MANAGED_POLICY_NAME, ROLE_NAME
from flightdeck.db.models import AwsAccount, RolePolicyChange
from flightdeck.services.governance.drift import Finding
from flightdeck.services.governance.rules import CHANGES_COMMAND, NOTICE_PERIOD, ROLE_CREATE


def _example_text(example: dict[str, Any] | None) -> str:
    if not example:
        return ""
    action = example.get("action") or example.get("Action")
    resource = example.get("resource") or example.get("Resource")
    if action and resource:
        text = f"{action} on {resource}"
        context = example.get("context") or example.get("conditions")
        if context:
            text += f" with {json.dumps(context, sort_keys=True)}"
        return text
    return json.dumps(example, sort_keys=True)


def notice_mail(account: AwsAccount, change: RolePolicyChange) -> tuple[str, str]:
    subject = (
        f"flightdeck: the role in AWS account {account.account_id} will be allowed more "
        f"(policy {change.to_version}) in {NOTICE_PERIOD.days} days"
    )
    example = _example_text(change.example)
    body = "\n".join(
        [
            f"flightdeck will update {MANAGED_POLICY_NAME}, the managed policy of the role "
            f"{ROLE_NAME} in your AWS account {account.account_id}, from version "
            f"{change.from_version} to version {change.to_version}.",
            "This version lets flightdeck do things in your account it cannot do today.",
            "",
            f"When: no sooner than {NOTICE_PERIOD.days} days after this notice reached every "
            "Owner of your organization. Nothing changes before then. The exact date is "
            f"shown by `{CHANGES_COMMAND}` once every notice was delivered.",
            "",
            "What is new:",
            *(f"  {line}" for line in change.summary.splitlines()),
            *(["", f"For example, this request is newly allowed: {example}"] if example else []),
            "",
            f"Why: {change.reason}",
            "",
            "The exact change to the policy document:",
            "",
            change.diff,
            "If you do not agree, reply to your flightdeck operator before that date. "
            "Every change to the policy is also visible in your CloudTrail.",
        ]
    )
    return subject, body


def reduction_mail(account: AwsAccount, change: RolePolicyChange) -> tuple[str, str]:
    subject = (
        f"flightdeck: the role in AWS account {account.account_id} now allows less "
        f"(policy {change.to_version})"
    )
    body = "\n".join(
        [
            f"flightdeck installed version {change.to_version} of {MANAGED_POLICY_NAME} on the "
            f"role {ROLE_NAME} in your AWS account {account.account_id} (it had "
            f"{change.from_version}). It only removes access, so it applied at once.",
            "",
            "What changed:",
            *(f"  {line}" for line in change.summary.splitlines()),
            "",
            f"Why: {change.reason}",
            "",
            "The exact change to the policy document:",
            "",
            change.diff,
        ]
    )
    return subject, body


def drift_mail(
    account: AwsAccount, new: list[Finding], resolved: list[str], current: list[Finding]
) -> tuple[str, str]:
    if new:
        subject = (
            f"flightdeck: the role {ROLE_NAME} in AWS account {account.account_id} was changed "
            "outside flightdeck"
        )
    else:
        subject = (
            f"flightdeck: the role {ROLE_NAME} in AWS account {account.account_id} is back as "
            "it should be"
        )
    lines: list[str] = []
    if new:
        lines += ["Changed outside flightdeck:", *(f"  - {f.message}" for f in new), ""]
    if resolved:
        lines += ["Back as it should be:", *(f"  - {message}" for message in resolved), ""]
    if current:
        lines += [
            "If you did not make these changes, someone with IAM access to your account did: "
            "check CloudTrail. To put the role back as flightdeck declares it, run "
            f"`{ROLE_CREATE}` with your own credentials.",
        ]
    else:
        lines += ["The role is now exactly as flightdeck declares it."]
    return subject, "\n".join(lines) + "\n"
