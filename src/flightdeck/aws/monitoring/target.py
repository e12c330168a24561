"""Names, ARNs, tags and policy documents of the monitoring resources: the declared state.

Every name starts with ``flightdeck-role-monitor-`` so the customer can tell them apart
from their own resources, and everything is derived from (partition, account, home region),
so a second run finds exactly what the first one made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PREFIX = "flightdeck-role-monitor"
TRAIL_NAME = f"{PREFIX}-trail"
LOG_GROUP_NAME = f"{PREFIX}-cloudtrail"
DELIVERY_ROLE_NAME = f"{PREFIX}-cloudtrail-to-logs"
DELIVERY_POLICY_NAME = f"{PREFIX}-deliver-to-log-group"
METRIC_FILTER_NAME = f"{PREFIX}-role-changes"
TOPIC_NAME = f"{PREFIX}-alerts"
ALARM_NAME = f"{PREFIX}-role-changed"

METRIC_NAMESPACE = "Flightdeck"
METRIC_NAME = "RoleChanges"
ALARM_PERIOD_SECONDS = 300
ALARM_THRESHOLD = 1.0

MANAGED_BY_TAG = "flightdeck:managed-by"
COMPONENT_TAG = "flightdeck:component"
TAGS: dict[str, str] = {MANAGED_BY_TAG: "flightdeck", COMPONENT_TAG: "role-monitor"}

CLOUDTRAIL_PRINCIPAL = "cloudtrail.amazonaws.com"
# Statement ids this tool owns in the bucket policy; any other statement is the customer's.
BUCKET_POLICY_SIDS = ("AWSCloudTrailAclCheck", "AWSCloudTrailWrite", "DenyInsecureTransport")


def tag_list(key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in TAGS.items()]


def missing_tags(current: dict[str, str]) -> list[str]:
    return sorted(k for k, v in TAGS.items() if current.get(k) != v)


@dataclass(frozen=True)
class Target:
    """Where the monitoring lives: the account (from STS) and the trail's home region."""

    partition: str
    account_id: str
    region: str

    @property
    def bucket_name(self) -> str:
        # Bucket names are global: the account and region keep ours unique (max 63 chars).
        return f"{PREFIX}-{self.account_id}-{self.region}"

    @property
    def bucket_arn(self) -> str:
        return f"arn:{self.partition}:s3:::{self.bucket_name}"

    @property
    def trail_arn(self) -> str:
        return f"arn:{self.partition}:cloudtrail:{self.region}:{self.account_id}:trail/{TRAIL_NAME}"

    @property
    def log_group_arn(self) -> str:
        """The log group's ARN without the ``:*`` suffix some APIs add."""
        return (
            f"arn:{self.partition}:logs:{self.region}:{self.account_id}:log-group:{LOG_GROUP_NAME}"
        )

    @property
    def delivery_role_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role/{DELIVERY_ROLE_NAME}"

    @property
    def topic_arn(self) -> str:
        return f"arn:{self.partition}:sns:{self.region}:{self.account_id}:{TOPIC_NAME}"

    @property
    def alarm_arn(self) -> str:
        return f"arn:{self.partition}:cloudwatch:{self.region}:{self.account_id}:alarm:{ALARM_NAME}"

    # -- documents -------------------------------------------------------------------------

    def bucket_policy_statements(self) -> list[dict[str, Any]]:
        """What CloudTrail needs to write to the bucket, and only for our trail.

        ``aws:SourceArn`` stops another account's trail from using this bucket (the
        confused-deputy case); ``bucket-owner-full-control`` keeps the objects ours.
        """
        source = {"aws:SourceArn": self.trail_arn}
        return [
            {
                "Sid": "AWSCloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL_PRINCIPAL},
                "Action": "s3:GetBucketAcl",
                "Resource": self.bucket_arn,
                "Condition": {"StringEquals": source},
            },
            {
                "Sid": "AWSCloudTrailWrite",
                "Effect": "Allow",
                "Principal": {"Service": CLOUDTRAIL_PRINCIPAL},
                "Action": "s3:PutObject",
                "Resource": f"{self.bucket_arn}/AWSLogs/{self.account_id}/*",
                "Condition": {
                    "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **source}
                },
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [self.bucket_arn, f"{self.bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ]

    def delivery_trust_policy(self) -> dict[str, Any]:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": CLOUDTRAIL_PRINCIPAL},
                    "Action": "sts:AssumeRole",
                }
            ],
        }

    def delivery_permissions(self) -> dict[str, Any]:
        """Create streams and put events in our log group only.

        A multi-region trail writes one stream per source region, named
        ``<account>_CloudTrail_<region>``, so the region part is a wildcard.
        """
        streams = f"{self.log_group_arn}:log-stream:{self.account_id}_CloudTrail_*"
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "CreateTrailStreams",
                    "Effect": "Allow",
                    "Action": "logs:CreateLogStream",
                    "Resource": streams,
                },
                {
                    "Sid": "PutTrailEvents",
                    "Effect": "Allow",
                    "Action": "logs:PutLogEvents",
                    "Resource": streams,
                },
            ],
        }


def partition_of(arn: str) -> str:
    return arn.split(":")[1]
