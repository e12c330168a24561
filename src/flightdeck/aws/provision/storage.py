"""The S3 bucket for Airflow task logs: encrypted, public access blocked, tagged.

Bucket names are global, so the name carries the account id and the cluster id; a 403 on
that name means another AWS account owns it, which no retry can fix.
"""

from __future__ import annotations

from typing import Any

from flightdeck.aws.error_codes import absent_on, error_code
from flightdeck.aws.provision.context import (
    CLUSTER_TAG,
    PlannedChange,
    Ready,
    StepContext,
    StepResult,
    tag_value,
)
from flightdeck.aws.provision.errors import PermanentError
from flightdeck.aws.provision.step import Step

BUCKET_ABSENT = ("404", "NoSuchBucket", "NotFound")
PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def log_bucket_name(account_id: str, cluster_id: str) -> str:
    return f"fd-logs-{account_id}-{cluster_id}"


def _bucket_exists(ctx: StepContext, bucket: str) -> bool:
    try:
        ctx.client("s3").head_bucket(Bucket=bucket)
    except Exception as exc:
        code = error_code(exc)
        if code in BUCKET_ABSENT:
            return False
        if code in ("403", "AccessDenied", "Forbidden"):
            raise PermanentError(
                f"S3 bucket {bucket} exists in another AWS account",
                remedy="contact flightdeck support: the log bucket name is taken",
                aws_code="BucketAlreadyExists",
            ) from exc
        raise
    return True


def _owner_tag(ctx: StepContext, bucket: str) -> str | None:
    s3 = ctx.client("s3")
    response = absent_on(
        ("NoSuchTagSet", "NoSuchTagSetError"), s3.get_bucket_tagging, Bucket=bucket
    )
    return None if response is None else tag_value(response.get("TagSet"), CLUSTER_TAG)


# Resource keys this step records (``ClusterStatus.resource("log_bucket", LOG_BUCKET)``).
LOG_BUCKET = "bucket"  # the log bucket's name


class LogBucketStep(Step):
    """One bucket per cluster; compared on tags, encryption and the public access block."""

    name = "log_bucket"

    def ensure(self, ctx: StepContext) -> StepResult:
        s3 = ctx.client("s3")
        bucket = log_bucket_name(ctx.spec.account_id, ctx.spec.cluster_id)
        if not _bucket_exists(ctx, bucket):
            arguments: dict[str, Any] = {"Bucket": bucket}
            if ctx.spec.region != "us-east-1":
                arguments["CreateBucketConfiguration"] = {"LocationConstraint": ctx.spec.region}
            absent_on(("BucketAlreadyOwnedByYou",), s3.create_bucket, **arguments)
            ctx.record(LOG_BUCKET, bucket, "created")
            owner = None
        else:
            ctx.record(LOG_BUCKET, bucket, "found")
            owner = _owner_tag(ctx, bucket)
        if owner is None:
            s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": ctx.tags("log-bucket")})
            ctx.note("updated", LOG_BUCKET, "tagged", bucket)
        elif owner != ctx.spec.cluster_id:
            raise PermanentError(
                f"S3 bucket {bucket} is tagged for cluster {owner!r}",
                remedy="delete that bucket or contact flightdeck support",
            )
        encryption = absent_on(
            ("ServerSideEncryptionConfigurationNotFoundError",),
            s3.get_bucket_encryption,
            Bucket=bucket,
        )
        rules = (
            [] if encryption is None else encryption["ServerSideEncryptionConfiguration"]["Rules"]
        )
        if not any(
            r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
            in ("AES256", "aws:kms")
            for r in rules
        ):
            s3.put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
            )
            ctx.note("updated", LOG_BUCKET, "default encryption AES256", bucket)
        block = absent_on(
            ("NoSuchPublicAccessBlockConfiguration",),
            s3.get_public_access_block,
            Bucket=bucket,
        )
        if block is None or block["PublicAccessBlockConfiguration"] != PUBLIC_ACCESS_BLOCK:
            s3.put_public_access_block(
                Bucket=bucket, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK
            )
            ctx.note("updated", LOG_BUCKET, "public access blocked", bucket)
        ctx.condition()["aws_id"] = bucket
        return Ready()

    def delete(self, ctx: StepContext) -> StepResult:
        s3 = ctx.client("s3")
        bucket = log_bucket_name(ctx.spec.account_id, ctx.spec.cluster_id)
        try:
            if not _bucket_exists(ctx, bucket) or _owner_tag(ctx, bucket) != ctx.spec.cluster_id:
                ctx.forget(LOG_BUCKET)
                return Ready()
        except PermanentError:
            return Ready()
        while True:
            listed = s3.list_objects_v2(Bucket=bucket, MaxKeys=1000)
            keys = [{"Key": o["Key"]} for o in listed.get("Contents", [])]
            if not keys:
                break
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        absent_on(BUCKET_ABSENT, s3.delete_bucket, Bucket=bucket)
        ctx.note("deleted", LOG_BUCKET, "", bucket)
        ctx.forget(LOG_BUCKET)
        return Ready()

    def plan(self, ctx: StepContext) -> list[PlannedChange]:
        bucket = log_bucket_name(ctx.spec.account_id, ctx.spec.cluster_id)
        if not _bucket_exists(ctx, bucket):
            return [PlannedChange(self.name, "create", LOG_BUCKET, f"{bucket}, encrypted, private")]
        return []

    def plan_delete(self, ctx: StepContext) -> list[PlannedChange]:
        bucket = log_bucket_name(ctx.spec.account_id, ctx.spec.cluster_id)
        if _bucket_exists(ctx, bucket) and _owner_tag(ctx, bucket) == ctx.spec.cluster_id:
            return [PlannedChange(self.name, "delete", LOG_BUCKET, "with its objects", bucket)]
        return []
