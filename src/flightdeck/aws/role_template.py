"""The cross-account role as data: its trust policy, its CloudFormation template, its console link.

The role can be created three ways (the template through the console, the same template
through the CLI, or plain IAM calls through the CLI) and they must never disagree about
who is trusted or what is allowed. So the trust policy has exactly one builder,
:func:`trust_policy_document`, used by the template (with a ``Ref`` to the ``ExternalId``
parameter) and by the IAM method (with the literal ID), and the permissions come only from
:mod:`flightdeck.aws.permissions`.

Why ``ExternalId`` is not ``NoEcho``: AWS documents the external ID as a guard against the
confused-deputy problem, not as a secret; it sits in clear text in the role's trust policy,
readable by anyone in the customer account with ``iam:GetRole``. Masking it in the stack
would hide nothing, and would make stack updates ask for it again. It is kept out of
flightdeck's own logs and messages, which is where it could leak to other customers.

Pure: builds strings and dicts, makes no AWS calls.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import yaml

from flightdeck.aws.permissions import (
    MANAGED_POLICY_NAME,
    POLICY_VERSION,
    ROLE_NAME,
    managed_policy_document,
)

STACK_NAME = "FlightdeckCrossAccountRole"
# The commercial partition only: the trust policy's principal ARN is arn:aws:... too.
CONSOLE_ORIGIN = "https://console.aws.amazon.com"
EXTERNAL_ID_PARAMETER = "ExternalId"
ROLE_LOGICAL_ID = "CrossAccountRole"
POLICY_LOGICAL_ID = "CrossAccountPolicy"
POLICY_VERSION_TAG = "flightdeck:policy-version"
MAX_SESSION_DURATION_SECONDS = 3600
# STS accepts external IDs of 2-1224 characters from this set.
EXTERNAL_ID_MIN_LENGTH = 2
EXTERNAL_ID_MAX_LENGTH = 1224
EXTERNAL_ID_PATTERN = r"[\w+=,.@:/-]+"
_EXTERNAL_ID = re.compile(rf"^{EXTERNAL_ID_PATTERN}$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def validate_account_id(account_id: str, field: str = "platform account ID") -> str:
    if not _ACCOUNT_ID.match(account_id or ""):
        raise ValueError(f"the {field} must be exactly 12 digits, for example 123456789012")
    return account_id


def validate_external_id(external_id: str) -> str:
    """Refuse an external ID STS would refuse, without repeating its value."""
    if not EXTERNAL_ID_MIN_LENGTH <= len(external_id) <= EXTERNAL_ID_MAX_LENGTH:
        raise ValueError(
            f"the external ID must be {EXTERNAL_ID_MIN_LENGTH} to {EXTERNAL_ID_MAX_LENGTH} "
            "characters long; copy it again from the organization settings"
        )
    if not _EXTERNAL_ID.match(external_id):
        raise ValueError(
            "the external ID may contain only letters, digits and + = , . @ : / - _; "
            "copy it again from the organization settings"
        )
    return external_id


def validate_region(region: str) -> str:
    if not _REGION.match(region or ""):
        raise ValueError(f"{region!r} is not an AWS region name such as us-east-1")
    return region


def platform_principal_arn(platform_account_id: str) -> str:
    return f"arn:aws:iam::{validate_account_id(platform_account_id)}:root"


def trust_policy_document(
    platform_account_id: str, external_id: str | Mapping[str, Any]
) -> dict[str, Any]:
    """The role's trust policy: only the platform account, only with the external ID.

    ``external_id`` is the literal ID (IAM method) or a CloudFormation expression such as
    ``{"Ref": "ExternalId"}`` (template), so both methods share this one definition.
    """
    if isinstance(external_id, str):
        validate_external_id(external_id)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TrustFlightdeckPlatform",
                "Effect": "Allow",
                "Principal": {"AWS": platform_principal_arn(platform_account_id)},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }


def role_description() -> str:
    return (
        f"Lets the flightdeck control plane provision Airflow clusters (policy {POLICY_VERSION})."
    )


def policy_description() -> str:
    return (
        f"flightdeck cross-account permissions, version {POLICY_VERSION}: exactly the AWS "
        "actions flightdeck provisioning calls."
    )


def role_template_document(platform_account_id: str) -> dict[str, Any]:
    """The CloudFormation template as a dict, intrinsics in long form (plain YAML/JSON)."""
    external_id_ref = {"Ref": EXTERNAL_ID_PARAMETER}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"flightdeck cross-account role {ROLE_NAME} with its least-privilege managed "
            f"policy {MANAGED_POLICY_NAME} (policy version {POLICY_VERSION})."
        ),
        "Parameters": {
            EXTERNAL_ID_PARAMETER: {
                "Type": "String",
                "Description": (
                    "Your organization's AWS external ID, shown to Organization Owners in the "
                    "flightdeck organization settings."
                ),
                "MinLength": EXTERNAL_ID_MIN_LENGTH,
                "MaxLength": EXTERNAL_ID_MAX_LENGTH,
                "AllowedPattern": EXTERNAL_ID_PATTERN,
                "ConstraintDescription": (
                    "2 to 1224 letters, digits or the characters + = , . @ : / - _ "
                    "(copy the external ID from the flightdeck organization settings)."
                ),
            }
        },
        "Resources": {
            ROLE_LOGICAL_ID: {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": ROLE_NAME,
                    "Description": role_description(),
                    "MaxSessionDuration": MAX_SESSION_DURATION_SECONDS,
                    "AssumeRolePolicyDocument": trust_policy_document(
                        platform_account_id, external_id_ref
                    ),
                    "Tags": [{"Key": POLICY_VERSION_TAG, "Value": POLICY_VERSION}],
                },
            },
            # The policy attaches itself to the role (``Roles``) instead of the role listing
            # it in ``ManagedPolicyArns``: the same result in AWS, and the form the emulator
            # implements, so tests run this very template end to end.
            POLICY_LOGICAL_ID: {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "ManagedPolicyName": MANAGED_POLICY_NAME,
                    "Description": policy_description(),
                    "Roles": [{"Ref": ROLE_LOGICAL_ID}],
                    "PolicyDocument": managed_policy_document(),
                },
            },
        },
        "Outputs": {
            "RoleArn": {
                "Description": "Register this ARN with flightdeck.",
                "Value": {"Fn::GetAtt": [ROLE_LOGICAL_ID, "Arn"]},
            },
            "PolicyArn": {
                "Description": "The managed policy attached to the role.",
                "Value": {"Ref": POLICY_LOGICAL_ID},
            },
            "PolicyVersion": {
                "Description": "The flightdeck policy version this stack installed.",
                "Value": POLICY_VERSION,
            },
        },
    }


def role_template_yaml(platform_account_id: str) -> str:
    """The template as YAML, byte-for-byte the same for the same platform account."""
    return yaml.safe_dump(
        role_template_document(platform_account_id),
        sort_keys=False,
        default_flow_style=False,
        width=100,
        allow_unicode=False,
    )


def quick_create_url(template_url: str, region: str, external_id: str) -> str:
    """The console link that opens the stack form with its name and ExternalId filled in.

    CloudFormation fetches ``template_url`` itself, so it must be an HTTPS URL the console
    can read (in practice an S3 object URL, possibly presigned). The whole URL is encoded
    as one parameter value, so a presigned URL's own ``&`` and ``=`` survive.
    """
    parts = urlsplit(template_url)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(
            "the template URL must be an https:// URL CloudFormation can read, "
            "such as an S3 object URL"
        )
    validate_region(region)
    validate_external_id(external_id)
    query = urlencode(
        {
            "templateURL": template_url,
            "stackName": STACK_NAME,
            f"param_{EXTERNAL_ID_PARAMETER}": external_id,
        },
        quote_via=quote,
        safe="",
    )
    return f"{CONSOLE_ORIGIN}/cloudformation/home?region={region}#/stacks/quickcreate?{query}"
