"""The CloudTrail filter pattern that watches the cross-account role for changes.

flightdeck's cross-account role is what lets the control plane manage a customer's account, so
anyone widening it (a new inline policy, another managed policy, a new default version of its
managed policy, a looser trust policy) or deleting it must be noticed. The monitoring setup puts
this pattern on the customer's CloudTrail log group; keeping it a pure function here lets the
tests prove, offline, which CloudTrail records it matches.
"""

from __future__ import annotations

import re

MAX_PATTERN_LENGTH = 1024
"""CloudWatch Logs refuses filter patterns longer than this (PutMetricFilter, 1024 chars)."""

ROLE_EVENT_NAMES: tuple[str, ...] = (
    "AttachRolePolicy",
    "DetachRolePolicy",
    "PutRolePolicy",
    "DeleteRolePolicy",
    "UpdateAssumeRolePolicy",
    "PutRolePermissionsBoundary",
    "DeleteRolePermissionsBoundary",
    "DeleteRole",
)
"""IAM calls that change a role; CloudTrail records the role in requestParameters.roleName."""

POLICY_EVENT_NAMES: tuple[str, ...] = (
    "CreatePolicyVersion",
    "SetDefaultPolicyVersion",
    "SetPolicyVersion",
    "DeletePolicyVersion",
)
"""IAM calls that change a managed policy; CloudTrail records requestParameters.policyArn.
CloudTrail names the call that switches the default version SetDefaultPolicyVersion; the
shorter SetPolicyVersion is matched too so the pattern reads as the permission list does."""

# IAM's own name rules: role names 1-64, policy names 1-128 characters of [\w+=,.@-].
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_POLICY_NAME = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)


def role_change_pattern(role_name: str, policy_name: str) -> str:
    """A JSON filter pattern matching IAM changes to the role `role_name` or to the managed
    policy `policy_name`, and nothing else.

    Role calls match on the exact role name; policy-version calls match a policy ARN that ends
    with ``/<policy_name>`` (``arn:aws:iam::<account>:policy/<path/><name>``), so the same calls
    on any other role or policy do not match.
    """
    if not _ROLE_NAME.fullmatch(role_name):
        raise ValueError(
            f"role name {role_name!r} is not a valid IAM role name: use 1-64 letters, digits "
            "or +=,.@_-"
        )
    if not _POLICY_NAME.fullmatch(policy_name):
        raise ValueError(
            f"policy name {policy_name!r} is not a valid IAM policy name: use 1-128 letters, "
            "digits or +=,.@_-"
        )
    role_events = " || ".join(f'$.eventName = "{name}"' for name in ROLE_EVENT_NAMES)
    policy_events = " || ".join(f'$.eventName = "{name}"' for name in POLICY_EVENT_NAMES)
    pattern = (
        '{ $.eventSource = "iam.amazonaws.com" && ('
        f'($.requestParameters.roleName = "{role_name}" && ({role_events})) || '
        f'($.requestParameters.policyArn = "*/{policy_name}" && ({policy_events}))'
        ") }"
    )
    if len(pattern) > MAX_PATTERN_LENGTH:  # only reachable if the event lists grow
        raise ValueError(
            f"the role-change pattern is {len(pattern)} characters; CloudWatch Logs accepts at "
            f"most {MAX_PATTERN_LENGTH}: shorten the role or policy name"
        )
    return pattern
