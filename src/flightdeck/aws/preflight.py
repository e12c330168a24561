"""Preflight: what must be true of a customer account and region before a cluster is built.

Every check here is something that otherwise fails half-way through provisioning, after
NAT gateways and an EKS control plane are already billing: a disabled opt-in region, vCPU
quotas too small for the node groups, a role that lacks an action, a VPC CIDR that can
never be peered. Found workloads only warn (a dedicated account is required, but the
customer may knowingly proceed with ``--force``).

The session passed in is the assumed customer role, so these checks see exactly what
provisioning will see. Checks that need the region (quotas, the clean-account scan) are
reported as ``fail`` with ``details["skipped"] = True`` when the region is not enabled, so
callers always get the same list of check names.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from flightdeck.aws import reference
from flightdeck.aws import session as aws
from flightdeck.aws.checks import CheckResult
from flightdeck.aws.error_codes import describe_error, error_code
from flightdeck.aws.permissions import POLICY_VERSION, RESOURCE_PREFIX, all_actions
from flightdeck.aws.role_template import STACK_NAME
from flightdeck.aws.verification import (
    Grant,
    check_role_permissions,
    expected_grants,
    role_name_from_arn,
)
from flightdeck.policy.cidr import check_vpc_cidr

if TYPE_CHECKING:
    import boto3

__all__ = [
    "CHECK_NAMES",
    "EC2_QUOTAS",
    "SIMULATION_BATCH_SIZE",
    "run_preflight",
    "simulation_requests",
]

CHECK_NAMES = (
    "region_enabled",
    "ec2_quota_on_demand",
    "ec2_quota_spot",
    "account_clean",
    "installer_permissions",
    "vpc_cidr",
)
# check name -> (quota code, what it counts)
EC2_QUOTAS: dict[str, tuple[str, str]] = {
    "ec2_quota_on_demand": ("L-1216C47A", "Running On-Demand Standard instances"),
    "ec2_quota_spot": ("L-34B43A08", "All Standard Spot Instance Requests"),
}
# The IAM service model sets no maximum on ActionNames; small batches keep each request
# far below IAM's request-size limit.
SIMULATION_BATCH_SIZE = 50
MANAGED_BY_TAG = "flightdeck:managed-by"
ROLE_CREATE_COMMAND = "flightdeck aws role create"
_ENABLED = {"ENABLED", "ENABLED_BY_DEFAULT"}
_RETRY_TWICE = {"mode": "standard", "total_max_attempts": 2}


def run_preflight(
    session: boto3.Session,
    *,
    region: str,
    vpc_cidr: str = reference.DEFAULT_VPC_CIDR,
    peer_cidrs: Sequence[str] = (),
    role_arn: str | None = None,
    minimum_quota: int = 40,
) -> list[CheckResult]:
    """Run every preflight check in ``region`` through ``session`` (the assumed role).

    ``role_arn`` is the role whose permissions are simulated; by default the role behind
    ``session`` (from ``sts:GetCallerIdentity``).
    """
    results = [_check_region(session, region)]
    if results[0].status == "fail" and not results[0].details.get("unknown"):
        results += [
            CheckResult(
                name,
                "fail",
                f"Not run: the region {region} is not enabled.",
                f"Enable {region} (see region_enabled), then run preflight again.",
                {"skipped": True},
            )
            for name in ("ec2_quota_on_demand", "ec2_quota_spot", "account_clean")
        ]
    else:
        results += [_check_quota(session, region, name, minimum_quota) for name in EC2_QUOTAS]
        results.append(_check_account_clean(session, region))
    results.append(_check_installer_permissions(session, role_arn))
    results.append(_check_cidr(vpc_cidr, peer_cidrs))
    return results


# -- region_enabled --------------------------------------------------------------------------


def _check_region(session: boto3.Session, region: str) -> CheckResult:
    try:
        status = str(
            aws.client(session, "account").get_region_opt_status(RegionName=region)[
                "RegionOptStatus"
            ]
        )
    except Exception as exc:
        return CheckResult(
            "region_enabled",
            "warn",
            f"Could not read whether {region} is enabled: {describe_error(exc)}.",
            f"Re-run `{ROLE_CREATE_COMMAND}` so the role may call account:GetRegionOptStatus, "
            "then run preflight again.",
            {"region": region, "unknown": True},
        )
    details = {"region": region, "status": status}
    if status in _ENABLED:
        return CheckResult(
            "region_enabled", "pass", f"The region {region} is enabled ({status}).", None, details
        )
    if status == "ENABLING":
        return CheckResult(
            "region_enabled",
            "warn",
            f"The region {region} is still being enabled.",
            "Wait a few minutes for AWS to finish enabling it, then run preflight again.",
            details,
        )
    return CheckResult(
        "region_enabled",
        "fail",
        f"The region {region} is an opt-in region that is {status.lower()} in this account.",
        f"Enable it in the AWS console (account menu > Account > AWS Regions > {region} > "
        f"Enable) or run `aws account enable-region --region-name {region}`; wait until "
        f"`aws account get-region-opt-status --region-name {region}` says ENABLED, then run "
        "preflight again.",
        details,
    )


# -- ec2 quotas ------------------------------------------------------------------------------


def _check_quota(session: boto3.Session, region: str, name: str, minimum: int) -> CheckResult:
    code, counts = EC2_QUOTAS[name]
    quotas = aws.client(session, "service-quotas", region)
    try:
        try:
            quota = quotas.get_service_quota(ServiceCode="ec2", QuotaCode=code)["Quota"]
        except Exception as exc:
            # Never-adjusted quotas may have no applied value: AWS's default applies.
            if error_code(exc) != "NoSuchResourceException":
                raise
            quota = quotas.get_aws_default_service_quota(ServiceCode="ec2", QuotaCode=code)["Quota"]
    except Exception as exc:
        return CheckResult(
            name,
            "warn",
            f"Could not read the EC2 quota {code} in {region}: {describe_error(exc)}.",
            f"Check it in the Service Quotas console (Amazon EC2, {code}) in {region}.",
            {"quota_code": code, "region": region},
        )
    value = float(quota["Value"])
    details = {"quota_code": code, "region": region, "value": value, "minimum": minimum}
    shown = f"{value:g}"
    if value >= minimum:
        return CheckResult(
            name,
            "pass",
            f"The EC2 quota {code} ({counts}) in {region} is {shown} vCPUs, at least {minimum}.",
            None,
            details,
        )
    return CheckResult(
        name,
        "fail",
        f"The EC2 quota {code} ({counts}) in {region} is {shown} vCPUs; clusters need at "
        f"least {minimum}.",
        "Request an increase in the Service Quotas console (Amazon EC2 > "
        f"{code}) or run `aws service-quotas request-service-quota-increase --service-code ec2 "
        f"--quota-code {code} --desired-value {minimum} --region {region}`; run preflight "
        "again once AWS approves it.",
        details,
    )


# -- account_clean ---------------------------------------------------------------------------


def _check_account_clean(session: boto3.Session, region: str) -> CheckResult:
    try:
        ec2 = aws.client(session, "ec2", region)
        vpcs = list(_pages(ec2, "describe_vpcs", "Vpcs"))
        eks = [str(n) for n in _pages(aws.client(session, "eks", region), "list_clusters",
                                      "clusters")]  # fmt: skip
        databases = list(
            _pages(aws.client(session, "rds", region), "describe_db_instances", "DBInstances")
        )
        found = {
            "instances": _foreign_instances(ec2),
            "vpcs": [
                str(vpc["VpcId"])
                for vpc in vpcs
                if not vpc.get("IsDefault") and not _managed_by_flightdeck(vpc.get("Tags"))
            ],
            "eks_clusters": [name for name in eks if not name.startswith(RESOURCE_PREFIX)],
            "rds_instances": [
                str(db["DBInstanceIdentifier"])
                for db in databases
                if not _managed_by_flightdeck(db.get("TagList"))
            ],
            "cloudformation_stacks": [
                str(stack["StackName"])
                for stack in _pages(
                    aws.client(session, "cloudformation", region), "list_stacks", "StackSummaries"
                )
                if stack["StackStatus"] != "DELETE_COMPLETE" and stack["StackName"] != STACK_NAME
            ],
        }
        # flightdeck's own clusters in the region: shown apart, they are no other workload.
        ours = {
            "eks_clusters": [name for name in eks if name.startswith(RESOURCE_PREFIX)],
            "vpcs": [str(v["VpcId"]) for v in vpcs if _managed_by_flightdeck(v.get("Tags"))],
            "rds_instances": [
                str(db["DBInstanceIdentifier"])
                for db in databases
                if _managed_by_flightdeck(db.get("TagList"))
            ],
        }
    except Exception as exc:
        return CheckResult(
            "account_clean",
            "warn",
            f"Could not list the account's workloads in {region}: {describe_error(exc)}.",
            f"Re-run `{ROLE_CREATE_COMMAND}` to update the role's policy to version "
            f"{POLICY_VERSION}, then run preflight again.",
            {"region": region},
        )
    labels = {
        "instances": "instance",
        "vpcs": "VPC",
        "eks_clusters": "EKS cluster",
        "rds_instances": "RDS instance",
        "cloudformation_stacks": "CloudFormation stack",
    }
    listed = [f"{labels[kind]} {item}" for kind, items in found.items() for item in items]
    own = [f"{labels[kind]} {item}" for kind, items in ours.items() for item in items]
    details = {"region": region, "found": found, "flightdeck": ours}
    own_note = f" flightdeck's own resources there: {', '.join(own)}." if own else ""
    if not listed:
        message = (
            f"Nothing but flightdeck's own clusters runs in {region}.{own_note}"
            if own
            else f"The account runs no other workload in {region}."
        )
        return CheckResult("account_clean", "pass", message, None, details)
    return CheckResult(
        "account_clean",
        "warn",
        f"The account is not dedicated to flightdeck: {region} holds {', '.join(listed)}."
        f"{own_note}",
        "Use an AWS account dedicated to flightdeck or remove these resources; to proceed "
        "anyway, create the cluster with `flightdeck cluster create --force`.",
        details,
    )


def _foreign_instances(ec2: Any) -> list[str]:
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}]
    )
    found: list[str] = []
    for page in pages:
        for reservation in page.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                tags = _tags(instance.get("Tags"))
                # Nodes of flightdeck's own EKS clusters carry EKS's tag, not ours.
                ours = tags.get(MANAGED_BY_TAG) == "flightdeck" or tags.get(
                    "eks:cluster-name", ""
                ).startswith(RESOURCE_PREFIX)
                if not ours:
                    found.append(str(instance["InstanceId"]))
    return found


# -- installer_permissions -------------------------------------------------------------------


def simulation_requests(role_arn: str) -> list[dict[str, Any]]:
    """The SimulatePrincipalPolicy requests covering every declared action, in batches.

    Actions the policy grants only on some resources or under a condition are simulated
    against an example of those resources with that condition's values, as provisioning
    will use them; simulating them on ``*`` would report a correctly scoped policy as
    denying them.
    """
    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    grants = expected_grants()
    groups: dict[Grant, list[str]] = {}
    for action in all_actions():
        groups.setdefault(grants.get(action, Grant(("*",), "")), []).append(action)
    requests: list[dict[str, Any]] = []
    for grant, actions in groups.items():
        scope: dict[str, Any] = {}
        if grant.resources != ("*",):
            scope["ResourceArns"] = [_example_arn(p, account) for p in grant.resources]
        if grant.condition:
            scope["ContextEntries"] = _context_entries(json.loads(grant.condition))
        for start in range(0, len(actions), SIMULATION_BATCH_SIZE):
            requests.append(
                {
                    "PolicySourceArn": role_arn,
                    "ActionNames": actions[start : start + SIMULATION_BATCH_SIZE],
                    **scope,
                }
            )
    return requests


def _check_installer_permissions(session: boto3.Session, role_arn: str | None) -> CheckResult:
    try:
        role_arn = role_arn or _role_arn_of(session)
    except Exception as exc:
        return CheckResult(
            "installer_permissions",
            "warn",
            f"Could not tell which role to check: {describe_error(exc)}.",
            "Run preflight again with the registered role.",
        )
    # Two attempts: an endpoint without the simulator (the emulator) answers 500, which
    # the standard five attempts would spend seconds retrying.
    iam = aws.client(session, "iam", retries=_RETRY_TWICE)
    try:
        return _simulated_permissions(iam, role_arn)
    except Exception as exc:
        return _static_fallback(session, role_arn, describe_error(exc))


def _simulated_permissions(iam: Any, role_arn: str) -> CheckResult:
    """The check from IAM's policy simulator; raises when the simulator cannot answer."""
    decisions: dict[str, str] = {}
    for request in simulation_requests(role_arn):
        paginator = iam.get_paginator("simulate_principal_policy")
        for page in paginator.paginate(**request):
            for result in page.get("EvaluationResults", []):
                decisions[str(result["EvalActionName"])] = str(result["EvalDecision"])
    denied = sorted(a for a in all_actions() if decisions.get(a) != "allowed")
    details: dict[str, Any] = {
        "role_arn": role_arn,
        "method": "simulation",
        "denied": denied,
        "explicit_deny": sorted(a for a in denied if decisions.get(a) == "explicitDeny"),
    }
    if denied:
        return CheckResult(
            "installer_permissions",
            "fail",
            f"IAM's policy simulator says the role may not perform {len(denied)} action(s) "
            f"the setup needs: {', '.join(denied)}.",
            f"Re-run `{ROLE_CREATE_COMMAND}` to update the role's policy to version "
            f"{POLICY_VERSION}; for an explicit deny, also remove the denying policy or "
            "service control policy.",
            details,
        )
    return CheckResult(
        "installer_permissions",
        "pass",
        f"IAM's policy simulator allows all {len(all_actions())} actions the setup needs.",
        None,
        details,
    )


def _static_fallback(session: boto3.Session, role_arn: str, reason: str) -> CheckResult:
    """Without the simulator, judge the role's policy documents as verification does."""
    name = role_name_from_arn(role_arn)
    # The simulator's own error text (an emulator answers "NotImplemented") stays in the
    # details; the message says what was done instead.
    note = "IAM's policy simulator did not answer, so the role's policy documents were read"
    if name is None:
        return CheckResult(
            "installer_permissions",
            "warn",
            f"Could not simulate the role's permissions: {reason}.",
            "Run `flightdeck aws account verify` to check the role's policies.",
            {"role_arn": role_arn},
        )
    iam = aws.client(session, "iam")
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except Exception as exc:
        return CheckResult(
            "installer_permissions",
            "warn",
            f"Could not simulate the role's permissions ({reason}) nor read the role "
            f"({describe_error(exc)}).",
            "Run `flightdeck aws account verify` to check the role's policies.",
            {"role_arn": role_arn},
        )
    static = check_role_permissions(iam, name, role)
    details = {
        "role_arn": role_arn,
        "method": "policy_documents",
        "simulation_error": reason,
        "denied": static.details.get("missing", []),
    }
    if static.status == "fail":
        return CheckResult(
            "installer_permissions",
            "fail",
            f"{static.message} ({note}.)",
            static.remedy,
            details,
        )
    return CheckResult(
        "installer_permissions",
        "pass",
        f"The role's policy documents grant all {len(all_actions())} actions the setup needs "
        f"({note}).",
        None,
        details,
    )


def _role_arn_of(session: boto3.Session) -> str:
    """``arn:aws:sts::<acct>:assumed-role/<name>/<session>`` -> the role's IAM ARN."""
    arn = str(aws.client(session, "sts").get_caller_identity()["Arn"])
    parts = arn.split(":")
    resource = parts[5].split("/") if len(parts) >= 6 else []
    if len(resource) >= 2 and resource[0] == "assumed-role":
        return f"arn:{parts[1]}:iam::{parts[4]}:role/{resource[1]}"
    return arn


def _example_arn(pattern: str, account: str) -> str:
    """A concrete resource matching ``pattern``: the account in its place, ``x`` elsewhere."""
    if pattern == "*":
        return "*"
    fields = pattern.split(":", 5)
    if len(fields) == 6 and fields[4] == "*":
        fields[4] = account
    return ":".join(fields).replace("*", "preflight").replace("?", "x")


def _context_entries(condition: dict[str, Any]) -> list[dict[str, Any]]:
    """One value per condition key: the first value the declared condition accepts."""
    entries: dict[str, dict[str, Any]] = {}
    for clauses in condition.values():
        for key, values in clauses.items():
            first = values[0] if isinstance(values, list) else values
            entries[key] = {
                "ContextKeyName": key,
                "ContextKeyValues": [str(first)],
                "ContextKeyType": "string",
            }
    return list(entries.values())


# -- vpc_cidr --------------------------------------------------------------------------------


def _check_cidr(vpc_cidr: str, peer_cidrs: Sequence[str]) -> CheckResult:
    problems = check_vpc_cidr(vpc_cidr, peer_cidrs)
    details: dict[str, Any] = {
        "vpc_cidr": vpc_cidr,
        "peer_cidrs": list(peer_cidrs),
        "problems": [problem.as_dict() for problem in problems],
    }
    if not problems:
        peers = f" and overlaps none of {', '.join(peer_cidrs)}" if peer_cidrs else ""
        return CheckResult(
            "vpc_cidr",
            "pass",
            f"{vpc_cidr} is a private range of /19 or larger{peers}.",
            None,
            details,
        )
    return CheckResult(
        "vpc_cidr",
        "fail",
        " ".join(problem.message for problem in problems),
        " ".join(problem.fix for problem in problems),
        details,
    )


# -- helpers ---------------------------------------------------------------------------------


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def _tags(tags: Iterable[dict[str, Any]] | None) -> dict[str, str]:
    return {str(tag.get("Key")): str(tag.get("Value")) for tag in tags or []}


def _managed_by_flightdeck(tags: Iterable[dict[str, Any]] | None) -> bool:
    return _tags(tags).get(MANAGED_BY_TAG) == "flightdeck"


