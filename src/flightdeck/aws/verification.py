"""Verify a registered cross-account role from the control plane, check by named check.

The role is created by the customer, with their credentials, so nothing the platform
holds guarantees what it looks like. Verification assumes it the way provisioning will
(platform credentials plus the organization's external ID), then reads it back and judges
it: who it trusts, what it allows, and whether AWS actually lets it act (DryRun probes
see service control policies and permission boundaries that the documents do not show).

The trust check is the one that protects customers. Real AWS refuses an AssumeRole without
the right external ID only if the trust policy says so; a role trusting a wildcard or
another account is a confused-deputy hole the platform must refuse to use, even though
assuming it works. The emulator (moto) never evaluates trust policies at all, so there
the static checker is the only thing that refuses such a role.

When the role cannot be assumed (or its ARN is wrong) the checks that need it are still
reported, as ``fail`` with ``details["skipped"] = True`` and a message saying they did not
run, so a caller always sees the same list of check names.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flightdeck.aws import session as aws
from flightdeck.aws.checks import CheckResult
from flightdeck.aws.error_codes import describe_error, error_code
from flightdeck.aws.iam_documents import canonical, decoded_text, parse_document
from flightdeck.aws.permissions import (
    MANAGED_POLICY_NAME,
    POLICY_VERSION,
    ROLE_NAME,
    all_actions,
    managed_policy_document,
)
from flightdeck.aws.role_template import POLICY_VERSION_TAG
from flightdeck.policy.document import InvalidPolicyError
from flightdeck.policy.trust import check_trust_policy

if TYPE_CHECKING:
    import boto3

__all__ = [
    "CHECK_NAMES",
    "DRY_RUN_PROBES",
    "Grant",
    "check_role_permissions",
    "expected_grants",
    "role_name_from_arn",
    "verify_role",
]

CHECK_NAMES = ("role_arn", "assume_role", "trust_policy", "permissions", "dry_run")
SESSION_NAME = "flightdeck-verify"
ROLE_CREATE_COMMAND = "flightdeck aws role create"
ADMINISTRATOR_ACCESS = "AdministratorAccess"
# AccessDenied right after the customer created the role is usually IAM propagation
# (seconds, occasionally a minute), so it is retried; anything else is final.
RETRYABLE_ASSUME_CODES = frozenset({"AccessDenied"})
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 8.0

# (IAM action, boto3 operation, parameters). A write and a read: DryRun answers whether the
# action would be authorised, including by SCPs and boundaries, without doing anything.
# CreateVpc is not used because moto ignores its DryRun flag and really creates a VPC.
DRY_RUN_PROBES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("ec2:DescribeVpcs", "describe_vpcs", {}),
    ("ec2:CreateInternetGateway", "create_internet_gateway", {}),
)

_ROLE_ARN = re.compile(
    r"^arn:(?P<partition>aws(?:-[a-z]+)*):iam::(?P<account>\d{12}):role/"
    r"(?P<path>(?:[\w+=,.@-]+/)*)(?P<name>[\w+=,.@-]{1,64})$"
)
_ACCOUNT_ID = re.compile(r"^\d{12}$")


def role_name_from_arn(role_arn: str) -> str | None:
    match = _ROLE_ARN.match(role_arn.strip())
    return match.group("name") if match else None


def verify_role(
    *,
    account_id: str,
    role_arn: str,
    external_id: str,
    platform_account_id: str,
    base_session: boto3.Session,
    region: str = aws.DEFAULT_REGION,
    max_wait_seconds: float = 30,
    sleep: Callable[[float], None] = time.sleep,
) -> list[CheckResult]:
    """Run every verification check against ``role_arn``, in order, one result per check.

    ``base_session`` holds the platform's credentials (``SessionFactory.platform_session``);
    ``sleep`` is injected so tests of the propagation retry do not wait.
    """
    results: list[CheckResult] = []
    arn_result = _check_role_arn(role_arn, account_id)
    results.append(arn_result)
    if arn_result.status == "fail":
        return results + _skipped(CHECK_NAMES[1:], "the role ARN is not usable")

    assumed, assume_result = _assume(
        role_arn,
        external_id,
        account_id,
        base_session=base_session,
        region=region,
        max_wait_seconds=max_wait_seconds,
        sleep=sleep,
    )
    results.append(assume_result)
    if assumed is None:
        return results + _skipped(CHECK_NAMES[2:], "the role could not be assumed")

    iam = aws.client(assumed, "iam")
    role_name = role_name_from_arn(role_arn) or ROLE_NAME
    try:
        role = iam.get_role(RoleName=role_name)["Role"]
    except Exception as exc:
        reason = describe_error(exc)
        results.append(
            CheckResult(
                "trust_policy",
                "fail",
                f"The role's trust policy could not be read with the assumed role: {reason}.",
                f"Re-run `{ROLE_CREATE_COMMAND}` so the role's policy allows iam:GetRole on "
                "itself, then verify again.",
                {"error": reason},
            )
        )
        return results + _skipped(CHECK_NAMES[3:], "the role could not be read")
    results.append(_check_trust(role, platform_account_id, external_id))
    results.append(check_role_permissions(iam, role_name, role))
    results.append(_check_dry_run(aws.client(assumed, "ec2", region), region))
    return results


# -- role_arn --------------------------------------------------------------------------------


def _check_role_arn(role_arn: str, account_id: str) -> CheckResult:
    expected = f"arn:aws:iam::{account_id}:role/{ROLE_NAME}"
    match = _ROLE_ARN.match(role_arn.strip())
    if match is None:
        return CheckResult(
            "role_arn",
            "fail",
            f"{role_arn!r} is not an IAM role ARN of the form arn:aws:iam::<account>:role/<name>.",
            f"Register the account again with the role ARN {expected}.",
            {"role_arn": role_arn},
        )
    arn_account = match.group("account")
    if not _ACCOUNT_ID.match(account_id) or arn_account != account_id:
        return CheckResult(
            "role_arn",
            "fail",
            f"The role ARN is in AWS account {arn_account}, not the registered account "
            f"{account_id}.",
            f"Register the account again with the role ARN {expected}.",
            {"role_arn": role_arn, "arn_account_id": arn_account, "account_id": account_id},
        )
    if match.group("name") != ROLE_NAME:
        return CheckResult(
            "role_arn",
            "warn",
            f"The role is named {match.group('name')}, not {ROLE_NAME}, so "
            f"`{ROLE_CREATE_COMMAND}` will not maintain it.",
            f"Run `{ROLE_CREATE_COMMAND}` in account {account_id} and register {expected}.",
            {"role_arn": role_arn, "role_name": match.group("name")},
        )
    return CheckResult(
        "role_arn",
        "pass",
        f"The role ARN names {ROLE_NAME} in account {account_id}.",
        details={"role_arn": role_arn},
    )


# -- assume_role -----------------------------------------------------------------------------


def _assume(
    role_arn: str,
    external_id: str,
    account_id: str,
    *,
    base_session: boto3.Session,
    region: str,
    max_wait_seconds: float,
    sleep: Callable[[float], None],
) -> tuple[boto3.Session | None, CheckResult]:
    """Assume the role, retrying AccessDenied with jittered exponential backoff.

    The bound is on the total time slept, not wall-clock time, so it holds for an injected
    ``sleep`` too; each AssumeRole itself is bounded by the client's timeouts.
    """
    waited = 0.0
    attempts = 0
    backoff = FIRST_BACKOFF_SECONDS
    while True:
        attempts += 1
        try:
            assumed = aws.assumed_role_session(
                base_session, role_arn, external_id, SESSION_NAME, region
            )
            caller_arn = str(aws.client(assumed, "sts", region).get_caller_identity()["Arn"])
            break
        except Exception as exc:
            code = error_code(exc)
            remaining = max_wait_seconds - waited
            if code in RETRYABLE_ASSUME_CODES and remaining > 0:
                jitter = random.uniform(0.5, 1.0)  # noqa: S311 (spreads retries; not a secret)
                delay = min(backoff * jitter, remaining)
                sleep(delay)
                waited += delay
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            return None, _assume_failed(exc, code, account_id, attempts, waited)
    caller_account = caller_arn.split(":")[4] if caller_arn.count(":") >= 5 else ""
    if caller_account != account_id:
        return None, CheckResult(
            "assume_role",
            "fail",
            f"Assuming the role gave credentials in account {caller_account or 'unknown'}, "
            f"not {account_id}.",
            f"Register the account again with the ARN of {ROLE_NAME} in account {account_id}.",
            {"caller_arn": caller_arn, "attempts": attempts},
        )
    suffix = f" after {attempts} attempts" if attempts > 1 else ""
    return assumed, CheckResult(
        "assume_role",
        "pass",
        f"The platform assumed the role with the organization's external ID{suffix}.",
        details={"attempts": attempts, "waited_seconds": round(waited, 2)},
    )


def _assume_failed(
    exc: BaseException, code: str | None, account_id: str, attempts: int, waited: float
) -> CheckResult:
    details = {
        "error_code": code,
        "attempts": attempts,
        "waited_seconds": round(waited, 2),
    }
    if code == "AccessDenied":
        return CheckResult(
            "assume_role",
            "fail",
            f"AWS refused to let the platform assume the role (AccessDenied after {attempts} "
            f"attempts over {round(waited)} s).",
            f"Run `{ROLE_CREATE_COMMAND}` with credentials for account {account_id}, so the "
            "role exists and trusts the platform account with your organization's external "
            "ID, then verify again.",
            details,
        )
    return CheckResult(
        "assume_role",
        "fail",
        f"Assuming the role failed: {describe_error(exc)}.",
        "Check that the control plane's own AWS credentials are valid "
        "(`aws sts get-caller-identity` on the server), then verify again.",
        details,
    )


# -- trust_policy ----------------------------------------------------------------------------


def _check_trust(
    role: Mapping[str, Any], platform_account_id: str, external_id: str
) -> CheckResult:
    document = role.get("AssumeRolePolicyDocument")
    if isinstance(document, str):
        # The raw IAM API returns the policy URL-encoded; botocore usually decodes it.
        document = decoded_text(document)
    try:
        report = check_trust_policy(document or {}, platform_account_id, external_id)
    except InvalidPolicyError as exc:
        return CheckResult(
            "trust_policy",
            "fail",
            f"The role's trust policy is not a valid trust policy: {exc}.",
            f"Run `{ROLE_CREATE_COMMAND}` to rewrite the trust policy.",
            {"problems": [{"code": "invalid_policy", "message": str(exc), "fix": ""}]},
        )
    if report.ok:
        return CheckResult(
            "trust_policy",
            "pass",
            "The trust policy lets only the platform account in, and only with the "
            "organization's external ID.",
            details={"problems": []},
        )
    problems = report.problems
    count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
    return CheckResult(
        "trust_policy",
        "fail",
        f"The trust policy has {count}: " + " ".join(p.message for p in problems),
        " ".join(p.fix for p in problems)
        + f" Or run `{ROLE_CREATE_COMMAND}`, which rewrites the trust policy.",
        {"problems": [p.as_dict() for p in problems]},
    )


# -- permissions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """Where and under what condition the declared policy grants one action."""

    resources: tuple[str, ...]
    condition: str  # canonical JSON of the Condition block, "" when unconditional


def expected_grants() -> dict[str, Grant]:
    """Each declared action's grant in the managed policy flightdeck would install now."""
    grants: dict[str, Grant] = {}
    for statement in managed_policy_document()["Statement"]:
        if statement.get("Effect") != "Allow":
            continue
        grant = Grant(
            tuple(_patterns(statement.get("Resource"))),
            _canonical_condition(statement.get("Condition")),
        )
        for action in _patterns(statement.get("Action")):
            grants[action] = grant
    return grants


@dataclass
class _PolicyEvaluation:
    """What a role's policy documents grant, judged against the declared grants.

    Conservative in both directions, without AWS's action catalogue: an Allow counts for an
    action only if its Resource covers the declared resources and its Condition is absent
    or the declared one; a Deny subtracts an action only if it applies unconditionally to
    all the declared resources; a wildcard or undeclared action is "broader than needed".
    """

    expected: dict[str, Grant]
    allowed: set[str] = field(default_factory=set)
    denied: set[str] = field(default_factory=set)
    broader: list[str] = field(default_factory=list)

    def add_document(self, source: str, document: Any) -> None:
        document = parse_document(document)
        statements = document.get("Statement", []) if isinstance(document, Mapping) else []
        if isinstance(statements, Mapping):
            statements = [statements]
        for statement in statements:
            if isinstance(statement, Mapping):
                self._add_statement(source, statement)

    def _add_statement(self, source: str, statement: Mapping[str, Any]) -> None:
        effect = statement.get("Effect")
        declared = list(self.expected)
        if "NotAction" in statement:
            excluded = _patterns(statement["NotAction"])
            matched = [a for a in declared if not any(_matches(p, a) for p in excluded)]
            if effect == "Allow":
                self.broader.append(f"{source}: Allow with NotAction")
        else:
            patterns = _patterns(statement.get("Action"))
            matched = [a for a in declared if any(_matches(p, a) for p in patterns)]
            if effect == "Allow":
                lowered = {a.lower() for a in declared}
                self.broader.extend(
                    f"{source}: {p}"
                    for p in patterns
                    if _is_wildcard(p) or p.lower() not in lowered
                )
        if "NotResource" in statement:
            if effect == "Allow" and matched:
                self.broader.append(f"{source}: Allow with NotResource")
            return  # neither a reliable grant nor a reliable denial
        resources = _patterns(statement.get("Resource"))
        condition = _canonical_condition(statement.get("Condition"))
        if effect == "Deny":
            self.denied.update(
                a for a in matched if not condition and _covers(resources, self.expected[a])
            )
            return
        if effect != "Allow":
            return
        looser: list[str] = []
        for action in matched:
            grant = self.expected[action]
            if condition in ("", grant.condition) and _covers(resources, grant):
                self.allowed.add(action)
            if not _covers(list(grant.resources), Grant(tuple(resources), "")) or (
                grant.condition and not condition
            ):
                looser.append(action)
        if looser and not any(_is_wildcard(p) for p in _patterns(statement.get("Action"))):
            self.broader.append(
                f"{source}: {', '.join(looser)} on {', '.join(resources)} beyond the declared scope"
            )


def _covers(patterns: list[str], grant: Grant) -> bool:
    """True when the resource patterns include every resource of ``grant``."""
    return all(any(_matches(p, resource) for p in patterns) for resource in grant.resources)


def _is_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def _canonical_condition(condition: Any) -> str:
    if not condition:
        return ""
    return json.dumps(canonical(condition), sort_keys=True)


def check_role_permissions(iam: Any, role_name: str, role: Mapping[str, Any]) -> CheckResult:
    """The `permissions` check: what the role's policy documents grant vs. what is declared."""
    declared = all_actions()
    expected = expected_grants()
    # An action declared but somehow absent from the document is expected on "*".
    evaluation = _PolicyEvaluation(
        {action: expected.get(action, Grant(("*",), "")) for action in declared}
    )
    attached_names: list[str] = []
    versions_found: set[str] = set()
    try:
        for policy in _pages(
            iam, "list_attached_role_policies", "AttachedPolicies", RoleName=role_name
        ):
            attached_names.append(policy["PolicyName"])
            if policy["PolicyName"] == ADMINISTRATOR_ACCESS:
                evaluation.broader.append(f"{ADMINISTRATOR_ACCESS} is attached")
            policy_info = iam.get_policy(PolicyArn=policy["PolicyArn"])["Policy"]
            found = _version_in_description(policy_info.get("Description", ""))
            if policy["PolicyName"] == MANAGED_POLICY_NAME and found:
                versions_found.add(found)
            document = iam.get_policy_version(
                PolicyArn=policy["PolicyArn"], VersionId=policy_info["DefaultVersionId"]
            )["PolicyVersion"]["Document"]
            evaluation.add_document(policy["PolicyName"], document)
        inline_names = list(_pages(iam, "list_role_policies", "PolicyNames", RoleName=role_name))
        for name in inline_names:
            document = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
            evaluation.add_document(f"inline {name}", document)
    except Exception as exc:
        reason = describe_error(exc)
        return CheckResult(
            "permissions",
            "fail",
            f"The role's policies could not be read with the assumed role: {reason}.",
            f"Re-run `{ROLE_CREATE_COMMAND}` to update the policy to version {POLICY_VERSION}.",
            {"error": reason},
        )
    tags = {t.get("Key"): t.get("Value") for t in role.get("Tags", []) or []}
    if tags.get(POLICY_VERSION_TAG):
        versions_found.add(str(tags[POLICY_VERSION_TAG]))
    missing = sorted(set(declared) - (evaluation.allowed - evaluation.denied))
    details: dict[str, Any] = {
        "attached_policies": attached_names,
        "inline_policies": inline_names,
        "policy_version_expected": POLICY_VERSION,
        "policy_versions_found": sorted(versions_found),
        "missing": missing,
        "denied": sorted(evaluation.denied),
        "broader": evaluation.broader,
    }
    version_note = ""
    if versions_found and versions_found != {POLICY_VERSION}:
        version_note = (
            f" The role carries policy version {', '.join(sorted(versions_found))}; the "
            f"current version is {POLICY_VERSION}."
        )
    if missing:
        return CheckResult(
            "permissions",
            "fail",
            f"The role's policies do not grant {len(missing)} action(s) flightdeck needs: "
            f"{', '.join(missing)}.{version_note}",
            f"Re-run `{ROLE_CREATE_COMMAND}` to update the policy to version {POLICY_VERSION}.",
            details,
        )
    if evaluation.broader:
        return CheckResult(
            "permissions",
            "warn",
            f"The role's policies are broader than needed: {'; '.join(evaluation.broader)}.",
            f"Detach or narrow them; `{ROLE_CREATE_COMMAND}` leaves the role holding only "
            f"{MANAGED_POLICY_NAME}.",
            details,
        )
    return CheckResult(
        "permissions",
        "pass",
        f"The role grants exactly the {len(declared)} actions flightdeck declares.",
        details=details,
    )


# -- dry_run ---------------------------------------------------------------------------------


def _check_dry_run(ec2: Any, region: str) -> CheckResult:
    denied: list[str] = []
    inconclusive: dict[str, str] = {}
    for action, operation, parameters in DRY_RUN_PROBES:
        try:
            response = getattr(ec2, operation)(DryRun=True, **parameters)
        except Exception as exc:
            code = error_code(exc)
            if code == "DryRunOperation":
                continue
            if code == "UnauthorizedOperation":
                denied.append(action)
            else:
                inconclusive[action] = describe_error(exc)
            continue
        # DryRun was ignored and the call did something: say so rather than pass.
        inconclusive[action] = f"the endpoint ignored DryRun and answered {sorted(response)}"
    details: dict[str, Any] = {
        "region": region,
        "probes": [action for action, _, _ in DRY_RUN_PROBES],
        "denied": denied,
        "inconclusive": inconclusive,
    }
    if denied:
        return CheckResult(
            "dry_run",
            "fail",
            f"AWS would refuse {', '.join(denied)} in {region} although the role's policies "
            "may allow it, so a service control policy or permissions boundary denies it.",
            "Ask your AWS Organizations administrator to allow these actions for "
            f"{ROLE_NAME} (service control policies), or remove the role's permissions "
            "boundary, then verify again.",
            details,
        )
    if inconclusive:
        return CheckResult(
            "dry_run",
            "warn",
            "Some DryRun probes gave no answer: "
            + "; ".join(f"{a}: {reason}" for a, reason in inconclusive.items())
            + ".",
            "Verify again later; if it persists, check the role in the IAM console.",
            details,
        )
    return CheckResult(
        "dry_run",
        "pass",
        f"DryRun probes of {', '.join(details['probes'])} in {region} were authorised.",
        details=details,
    )


# -- helpers ---------------------------------------------------------------------------------


def _skipped(names: Iterable[str], reason: str) -> list[CheckResult]:
    return [
        CheckResult(
            name,
            "fail",
            f"Not run: {reason}.",
            "Fix the failed check above, then verify again.",
            {"skipped": True},
        )
        for name in names
    ]


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterable[Any]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def _patterns(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value]
    return []


def _matches(pattern: str, action: str) -> bool:
    """IAM action matching: case-insensitive, ``*`` any run of characters, ``?`` one."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, action, flags=re.IGNORECASE) is not None


def _version_in_description(description: str) -> str | None:
    match = re.search(r"version (\S+?):", description or "")
    return match.group(1) if match else None


