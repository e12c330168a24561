"""Create or repair the cross-account role with the customer's own credentials.

Runs on the customer's machine (``flightdeck aws role create``), never in the control
plane: the platform must not hold credentials that can write IAM in a customer account.
Both methods converge on the same end state and are safe to repeat: observe what exists,
change only the difference, report what changed.

- ``iam``: plain IAM calls. The managed policy gets a new default version when its
  document differs (IAM keeps at most five versions, so the oldest non-default one is
  deleted first); the role's trust policy is rewritten when it differs; the policy is
  attached; anything else attached to or inlined in the role is removed, because this
  role must hold exactly the declared permissions and nothing more.
- ``cloudformation``: the stack ``FlightdeckCrossAccountRole`` from the same template the
  control plane serves, created or updated, then polled until it settles.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from flightdeck.aws.error_codes import error_code
from flightdeck.aws.iam_documents import same_document
from flightdeck.aws.permissions import (
    MANAGED_POLICY_NAME,
    POLICY_VERSION,
    ROLE_NAME,
    managed_policy_document,
)
from flightdeck.aws.role_template import (
    EXTERNAL_ID_PARAMETER,
    MAX_SESSION_DURATION_SECONDS,
    POLICY_VERSION_TAG,
    STACK_NAME,
    policy_description,
    role_description,
    role_template_yaml,
    trust_policy_document,
    validate_account_id,
    validate_external_id,
)
from flightdeck.aws.session import client

if TYPE_CHECKING:
    import boto3

SetupMethod = Literal["iam", "cloudformation"]
SETUP_METHODS: tuple[SetupMethod, ...] = ("iam", "cloudformation")
IAM_POLICY_VERSION_LIMIT = 5
STACK_TIMEOUT_SECONDS = 600
STACK_POLL_SECONDS = 5.0

_STACK_SETTLED_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
_STACK_FAILED = {
    "CREATE_FAILED",
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "DELETE_FAILED",
    "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_ROLLBACK_FAILED",
    "UPDATE_FAILED",
}


class RoleSetupError(Exception):
    """Setting up the role failed in a way the customer must act on; the message says how."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RoleSetupResult:
    role_arn: str
    created: bool
    updated: bool
    policy_arn: str = ""
    method: SetupMethod = "iam"
    changes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {
            "role_arn": self.role_arn,
            "policy_arn": self.policy_arn,
            "method": self.method,
            "created": self.created,
            "updated": self.updated,
            "changes": list(self.changes),
        }


def ensure_cross_account_role(
    session: boto3.Session,
    platform_account_id: str,
    external_id: str,
    method: SetupMethod = "iam",
    *,
    region: str | None = None,
    timeout_seconds: float = STACK_TIMEOUT_SECONDS,
    poll_seconds: float = STACK_POLL_SECONDS,
) -> RoleSetupResult:
    """Make the customer account hold the role exactly as flightdeck declares it.

    Raises ``ValueError`` for malformed arguments and :class:`RoleSetupError` for anything
    AWS refused or that did not finish in time.
    """
    validate_account_id(platform_account_id)
    validate_external_id(external_id)
    if method not in SETUP_METHODS:
        raise ValueError(f"method must be one of {', '.join(SETUP_METHODS)}, not {method!r}")
    try:
        if method == "iam":
            return _IamSetup(session, platform_account_id, external_id).run()
        return _StackSetup(
            session, platform_account_id, external_id, region, timeout_seconds, poll_seconds
        ).run()
    except RoleSetupError:
        raise
    except Exception as exc:
        _raise_for_client_error(exc)
        raise


# -- IAM method --------------------------------------------------------------------------


class _IamSetup:
    def __init__(self, session: boto3.Session, platform: str, external_id: str) -> None:
        self.iam = client(session, "iam")
        self.sts = client(session, "sts")
        self.trust = trust_policy_document(platform, external_id)
        self.document = managed_policy_document()
        self.changes: list[str] = []
        self.modified = False  # something that already existed was changed

    def _modified(self, change: str) -> None:
        self.changes.append(change)
        self.modified = True

    def run(self) -> RoleSetupResult:
        caller_arn: str = self.sts.get_caller_identity()["Arn"]
        partition, account = caller_arn.split(":")[1], caller_arn.split(":")[4]
        policy_arn = f"arn:{partition}:iam::{account}:policy/{MANAGED_POLICY_NAME}"
        self._ensure_policy(policy_arn)
        role_arn, role_created = self._ensure_role()
        self._ensure_only_policy_attached(policy_arn, role_created)
        return RoleSetupResult(
            role_arn=role_arn,
            policy_arn=policy_arn,
            method="iam",
            created=role_created,
            updated=self.modified,
            changes=tuple(self.changes),
        )

    def _ensure_policy(self, policy_arn: str) -> None:
        try:
            policy = self.iam.get_policy(PolicyArn=policy_arn)["Policy"]
        except Exception as exc:
            if error_code(exc) != "NoSuchEntity":
                raise
            self.iam.create_policy(
                PolicyName=MANAGED_POLICY_NAME,
                PolicyDocument=json.dumps(self.document),
                Description=policy_description(),
            )
            self.changes.append(f"created the managed policy {MANAGED_POLICY_NAME}")
            return
        default_version = policy["DefaultVersionId"]
        current = self.iam.get_policy_version(PolicyArn=policy_arn, VersionId=default_version)
        if same_document(current["PolicyVersion"]["Document"], self.document):
            return
        versions = self.iam.list_policy_versions(PolicyArn=policy_arn)["Versions"]
        if len(versions) >= IAM_POLICY_VERSION_LIMIT:
            oldest = min(
                (v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"]
            )
            self.iam.delete_policy_version(PolicyArn=policy_arn, VersionId=oldest["VersionId"])
            self._modified(
                f"deleted the oldest version {oldest['VersionId']} of {MANAGED_POLICY_NAME} "
                f"(IAM keeps at most {IAM_POLICY_VERSION_LIMIT})"
            )
        created = self.iam.create_policy_version(
            PolicyArn=policy_arn, PolicyDocument=json.dumps(self.document), SetAsDefault=True
        )["PolicyVersion"]
        self._modified(
            f"made version {created['VersionId']} the default of {MANAGED_POLICY_NAME} "
            f"(it replaced {default_version}, whose permissions differed)"
        )

    def _ensure_role(self) -> tuple[str, bool]:
        try:
            role = self.iam.get_role(RoleName=ROLE_NAME)["Role"]
        except Exception as exc:
            if error_code(exc) != "NoSuchEntity":
                raise
            role = self.iam.create_role(
                RoleName=ROLE_NAME,
                AssumeRolePolicyDocument=json.dumps(self.trust),
                Description=role_description(),
                MaxSessionDuration=MAX_SESSION_DURATION_SECONDS,
                Tags=[{"Key": POLICY_VERSION_TAG, "Value": POLICY_VERSION}],
            )["Role"]
            self.changes.append(f"created the role {ROLE_NAME}")
            return str(role["Arn"]), True
        if not same_document(role["AssumeRolePolicyDocument"], self.trust):
            self.iam.update_assume_role_policy(
                RoleName=ROLE_NAME, PolicyDocument=json.dumps(self.trust)
            )
            self._modified(
                f"rewrote the trust policy of {ROLE_NAME} (it differed from the platform's)"
            )
        tags = {tag["Key"]: tag["Value"] for tag in role.get("Tags", [])}
        if tags.get(POLICY_VERSION_TAG) != POLICY_VERSION:
            self.iam.tag_role(
                RoleName=ROLE_NAME, Tags=[{"Key": POLICY_VERSION_TAG, "Value": POLICY_VERSION}]
            )
            self._modified(f"tagged {ROLE_NAME} with policy version {POLICY_VERSION}")
        return str(role["Arn"]), False

    def _ensure_only_policy_attached(self, policy_arn: str, role_created: bool) -> None:
        attached = _all_pages(
            self.iam, "list_attached_role_policies", "AttachedPolicies", RoleName=ROLE_NAME
        )
        arns = {policy["PolicyArn"] for policy in attached}
        if policy_arn not in arns:
            self.iam.attach_role_policy(RoleName=ROLE_NAME, PolicyArn=policy_arn)
            change = f"attached {MANAGED_POLICY_NAME} to {ROLE_NAME}"
            if role_created:
                self.changes.append(change)
            else:
                self._modified(change)
        for extra in sorted(arns - {policy_arn}):
            self.iam.detach_role_policy(RoleName=ROLE_NAME, PolicyArn=extra)
            self._modified(
                f"detached {extra} from {ROLE_NAME} (the role holds only {MANAGED_POLICY_NAME})"
            )
        for name in _all_pages(self.iam, "list_role_policies", "PolicyNames", RoleName=ROLE_NAME):
            self.iam.delete_role_policy(RoleName=ROLE_NAME, PolicyName=name)
            self._modified(
                f"deleted the inline policy {name} from {ROLE_NAME} "
                f"(the role holds only {MANAGED_POLICY_NAME})"
            )


# -- CloudFormation method ---------------------------------------------------------------


class _StackSetup:
    def __init__(
        self,
        session: boto3.Session,
        platform: str,
        external_id: str,
        region: str | None,
        timeout_seconds: float,
        poll_seconds: float,
    ) -> None:
        self.cfn = client(session, "cloudformation", region)
        self.iam = client(session, "iam")
        self.template = role_template_yaml(platform)
        self.parameters = [{"ParameterKey": EXTERNAL_ID_PARAMETER, "ParameterValue": external_id}]
        self.timeout_seconds = timeout_seconds
        self.poll_seconds = poll_seconds
        self.changes: list[str] = []

    def run(self) -> RoleSetupResult:
        stack = self._describe()
        if stack is not None and stack["StackStatus"].endswith("_IN_PROGRESS"):
            stack = self._wait(stack["StackStatus"])
        if stack is not None and stack["StackStatus"] == "ROLLBACK_COMPLETE":
            # A stack whose first create failed can only be deleted, never updated.
            self.cfn.delete_stack(StackName=STACK_NAME)
            self._wait_deleted()
            self.changes.append(f"deleted the failed stack {STACK_NAME} to create it again")
            stack = None
        created = stack is None
        if created:
            self._refuse_role_outside_stack()
            self.cfn.create_stack(
                StackName=STACK_NAME,
                TemplateBody=self.template,
                Parameters=self.parameters,
                Capabilities=["CAPABILITY_NAMED_IAM"],
            )
            stack = self._settle("CREATE_IN_PROGRESS")
            self.changes.append(f"created the stack {STACK_NAME}")
        else:
            try:
                self.cfn.update_stack(
                    StackName=STACK_NAME,
                    TemplateBody=self.template,
                    Parameters=self.parameters,
                    Capabilities=["CAPABILITY_NAMED_IAM"],
                )
            except Exception as exc:
                if "No updates are to be performed" not in str(exc):
                    raise
            else:
                stack = self._settle("UPDATE_IN_PROGRESS")
                self.changes.append(f"updated the stack {STACK_NAME}")
        assert stack is not None  # both branches above set it
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        if "RoleArn" not in outputs:
            raise RoleSetupError(
                f"the stack {STACK_NAME} finished without a RoleArn output; delete the stack "
                "and run this command again"
            )
        return RoleSetupResult(
            role_arn=outputs["RoleArn"],
            policy_arn=outputs.get("PolicyArn", ""),
            method="cloudformation",
            created=created,
            updated=not created and bool(self.changes),
            changes=tuple(self.changes),
        )

    def _describe(self) -> dict[str, Any] | None:
        try:
            stacks = self.cfn.describe_stacks(StackName=STACK_NAME)["Stacks"]
        except Exception as exc:
            if error_code(exc) == "ValidationError" and "does not exist" in str(exc):
                return None
            raise
        live = [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]
        return live[0] if live else None

    def _refuse_role_outside_stack(self) -> None:
        try:
            self.iam.get_role(RoleName=ROLE_NAME)
        except Exception as exc:
            if error_code(exc) == "NoSuchEntity":
                return
            raise
        raise RoleSetupError(
            f"the role {ROLE_NAME} already exists but not in a {STACK_NAME} stack; run "
            "`flightdeck aws role create --method iam` to bring it up to date instead"
        )

    def _settle(self, status: str) -> dict[str, Any]:
        stack = self._wait(status)
        if stack["StackStatus"] in _STACK_SETTLED_OK:
            return stack
        raise RoleSetupError(
            f"the stack {STACK_NAME} ended in {stack['StackStatus']}: {self._failure_reason()}; "
            "fix that and run this command again"
        )

    def _wait(self, status: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_seconds
        while True:
            stack = self._describe()
            if stack is None:
                raise RoleSetupError(f"the stack {STACK_NAME} disappeared while it was {status}")
            status = stack["StackStatus"]
            if not status.endswith("_IN_PROGRESS"):
                return stack
            if time.monotonic() >= deadline:
                raise RoleSetupError(
                    f"the stack {STACK_NAME} is still {status} after "
                    f"{int(self.timeout_seconds)} s; watch it in the CloudFormation console "
                    "and run this command again once it has finished"
                )
            time.sleep(self.poll_seconds)

    def _wait_deleted(self) -> None:
        deadline = time.monotonic() + self.timeout_seconds
        while (stack := self._describe()) is not None:
            if stack["StackStatus"] == "DELETE_FAILED" or time.monotonic() >= deadline:
                raise RoleSetupError(
                    f"could not delete the failed stack {STACK_NAME} ({stack['StackStatus']}); "
                    "delete it in the CloudFormation console and run this command again"
                )
            time.sleep(self.poll_seconds)

    def _failure_reason(self) -> str:
        try:
            events = self.cfn.describe_stack_events(StackName=STACK_NAME)["StackEvents"]
        except Exception:
            return "see the stack's events in the CloudFormation console"
        for event in reversed(events):
            if event.get("ResourceStatus", "").endswith("FAILED") and event.get(
                "ResourceStatusReason"
            ):
                return f"{event['LogicalResourceId']}: {event['ResourceStatusReason']}"
        return "see the stack's events in the CloudFormation console"


# -- helpers -----------------------------------------------------------------------------


def _all_pages(iam: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    items: list[Any] = []
    for page in iam.get_paginator(operation).paginate(**kwargs):
        items.extend(page[key])
    return items


_NEXT_STEP_BY_CODE: dict[str, Callable[[str], str]] = {
    "AccessDenied": lambda op: (
        f"your AWS credentials are not allowed to call {op}; run this command with an "
        "identity that may manage IAM roles and policies (and CloudFormation stacks for "
        "--method cloudformation) in this account"
    ),
    "InvalidClientTokenId": lambda op: (
        "AWS does not recognise your access key; check the profile with "
        "`aws sts get-caller-identity --profile <name>`"
    ),
    "ExpiredToken": lambda op: (
        "your AWS session has expired; sign in again (for SSO: `aws sso login`) and re-run"
    ),
}
_NEXT_STEP_BY_CODE["AccessDeniedException"] = _NEXT_STEP_BY_CODE["AccessDenied"]
_NEXT_STEP_BY_CODE["UnrecognizedClientException"] = _NEXT_STEP_BY_CODE["InvalidClientTokenId"]
_NEXT_STEP_BY_CODE["ExpiredTokenException"] = _NEXT_STEP_BY_CODE["ExpiredToken"]


def _raise_for_client_error(exc: BaseException) -> None:
    """Turn an AWS refusal into a RoleSetupError that says what to do; leave others alone."""
    code = error_code(exc)
    if code is None:
        return
    operation = str(getattr(exc, "operation_name", "") or "the AWS API")
    next_step = _NEXT_STEP_BY_CODE.get(code)
    if next_step is not None:
        raise RoleSetupError(next_step(operation)) from exc
    message = getattr(exc, "response", {}).get("Error", {}).get("Message", "")
    raise RoleSetupError(f"AWS refused {operation} ({code}): {message}") from exc
