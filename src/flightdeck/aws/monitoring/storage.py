"""The S3 bucket the trail writes its log files to: private, encrypted, CloudTrail-only."""

from __future__ import annotations

import json
from typing import Any

from flightdeck.aws.error_codes import absent_on, error_code
from flightdeck.aws.iam_documents import canonical, parse_document
from flightdeck.aws.monitoring.model import MonitoringError
from flightdeck.aws.monitoring.step import (
    MonitorContext,
    MonitorStep,
    Observation,
    found,
)
from flightdeck.aws.monitoring.target import (
    BUCKET_POLICY_SIDS,
    TAGS,
    Target,
    missing_tags,
)

PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
DEFAULT_ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


def _bucket_region(location: str | None) -> str:
    """GetBucketLocation's answer as a region name (it says None for us-east-1)."""
    if not location:
        return "us-east-1"
    return "eu-west-1" if location == "EU" else location


class TrailBucketStep(MonitorStep):
    resource = "bucket"

    def name(self, target: Target) -> str:
        return target.bucket_name

    def observe(self, ctx: MonitorContext) -> Observation:
        s3, target = ctx.client("s3"), ctx.target
        bucket = target.bucket_name
        owner = {"Bucket": bucket, "ExpectedBucketOwner": target.account_id}
        try:
            s3.head_bucket(**owner)
        except Exception as exc:
            code = error_code(exc)
            if code in ("404", "NoSuchBucket", "NotFound"):
                return Observation("missing")
            if code in ("403", "AccessDenied"):
                raise MonitoringError(
                    f"the bucket name {bucket} is taken by another AWS account or your "
                    "credentials may not call s3:ListBucket on it; run with your account's "
                    "administrator credentials, and if it persists, delete any bucket of that "
                    "name you own elsewhere"
                ) from exc
            raise
        region = _bucket_region(s3.get_bucket_location(**owner).get("LocationConstraint"))
        if region != target.region:
            raise MonitoringError(
                f"the bucket {bucket} exists in {region}, not in the trail's home region "
                f"{target.region}; delete it (after keeping any logs you need) or run with "
                f"--region {region}"
            )
        differences: dict[str, str] = {}
        policy_response = absent_on(("NoSuchBucketPolicy",), s3.get_bucket_policy, **owner)
        policy = parse_document(policy_response["Policy"]) if policy_response else None
        if not _has_statements(policy, target.bucket_policy_statements()):
            differences["policy"] = "bucket policy lacks CloudTrail's access for this trail"
        block = absent_on(
            ("NoSuchPublicAccessBlockConfiguration",), s3.get_public_access_block, **owner
        )
        if not block or block["PublicAccessBlockConfiguration"] != PUBLIC_ACCESS_BLOCK:
            differences["public_access"] = "public access is not fully blocked"
        encryption = absent_on(
            ("ServerSideEncryptionConfigurationNotFoundError",), s3.get_bucket_encryption, **owner
        )
        if not encryption or not encryption["ServerSideEncryptionConfiguration"].get("Rules"):
            differences["encryption"] = "default encryption is off"
        tag_set = absent_on(("NoSuchTagSet",), s3.get_bucket_tagging, **owner)
        tags = {t["Key"]: t["Value"] for t in (tag_set or {}).get("TagSet", [])}
        if missing := missing_tags(tags):
            differences["tags"] = f"tags missing: {', '.join(missing)}"
        return found(target.bucket_arn, differences, current={"policy": policy, "tags": tags})

    def create(self, ctx: MonitorContext) -> list[str]:
        s3, target = ctx.client("s3"), ctx.target
        # New buckets have ACLs disabled (BucketOwnerEnforced) by default; asking for it
        # explicitly would need s3:PutBucketOwnershipControls as well.
        arguments: dict[str, Any] = {"Bucket": target.bucket_name}
        if target.region != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": target.region}
        s3.create_bucket(**arguments)
        blank = Observation(
            "missing",
            differences=dict.fromkeys(("public_access", "encryption", "policy", "tags"), ""),
            current={"policy": None, "tags": {}},
        )
        self.fix(ctx, blank)
        return [
            f"created the bucket {target.bucket_name} (private, SSE-S3 encrypted, writable by "
            "CloudTrail for this trail only)"
        ]

    def fix(self, ctx: MonitorContext, observed: Observation) -> list[str]:
        s3, target = ctx.client("s3"), ctx.target
        owner = {"Bucket": target.bucket_name, "ExpectedBucketOwner": target.account_id}
        changes: list[str] = []
        for difference in observed.differences:
            if difference == "public_access":
                s3.put_public_access_block(
                    **owner, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK
                )
                changes.append("blocked all public access to the bucket")
            elif difference == "encryption":
                s3.put_bucket_encryption(
                    **owner, ServerSideEncryptionConfiguration=DEFAULT_ENCRYPTION
                )
                changes.append("turned on default encryption (SSE-S3)")
            elif difference == "policy":
                merged = _merged_policy(observed.current["policy"], target)
                s3.put_bucket_policy(**owner, Policy=json.dumps(merged))
                changes.append("wrote CloudTrail's statements into the bucket policy")
            elif difference == "tags":
                tags = {**observed.current["tags"], **TAGS}
                s3.put_bucket_tagging(
                    **owner,
                    Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]},
                )
                changes.append("tagged the bucket")
        return changes


def _has_statements(policy: Any, wanted: list[dict[str, Any]]) -> bool:
    if not isinstance(policy, dict):
        return False
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    by_sid = {s.get("Sid"): canonical(s) for s in statements if isinstance(s, dict)}
    return all(by_sid.get(s["Sid"]) == canonical(s) for s in wanted)


def _merged_policy(policy: Any, target: Target) -> dict[str, Any]:
    """Our statements replace any of the same Sid; the customer's own statements stay."""
    statements: list[Any] = []
    if isinstance(policy, dict):
        existing = policy.get("Statement", [])
        statements = [existing] if isinstance(existing, dict) else list(existing)
    kept = [
        s for s in statements if not (isinstance(s, dict) and s.get("Sid") in BUCKET_POLICY_SIDS)
    ]
    return {"Version": "2012-10-17", "Statement": [*kept, *target.bucket_policy_statements()]}
