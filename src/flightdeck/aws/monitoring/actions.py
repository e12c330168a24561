"""The IAM actions ``setup`` and ``show`` call, as the customer's policy must allow them.

Monitoring runs with the customer's own (administrator) credentials, so nothing here is
granted to flightdeck's role; the list exists so an AccessDenied can name the missing action
and the documentation can say exactly what an administrator needs.
"""

from __future__ import annotations

# S3 operations whose IAM action has another name.
_S3_ACTIONS = {
    "HeadBucket": "s3:ListBucket",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
}
# Signing names that differ from the IAM prefix.
_PREFIXES = {"monitoring": "cloudwatch"}

REQUIRED_ACTIONS: tuple[str, ...] = (
    "sts:GetCallerIdentity",
    "account:GetRegionOptStatus",  # opt-in regions only; skipped when refused
    "s3:ListBucket",
    "s3:CreateBucket",
    "s3:GetBucketLocation",
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:PutBucketPublicAccessBlock",
    "s3:GetEncryptionConfiguration",
    "s3:PutEncryptionConfiguration",
    "s3:GetBucketTagging",
    "s3:PutBucketTagging",
    "logs:DescribeLogGroups",
    "logs:CreateLogGroup",
    "logs:PutRetentionPolicy",
    "logs:ListTagsForResource",
    "logs:TagResource",
    "logs:DescribeMetricFilters",
    "logs:PutMetricFilter",
    "iam:GetRole",
    "iam:CreateRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:GetRolePolicy",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:PassRole",  # CreateTrail/UpdateTrail hand the delivery role to CloudTrail
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetTrail",
    "cloudtrail:CreateTrail",
    "cloudtrail:UpdateTrail",
    "cloudtrail:GetTrailStatus",
    "cloudtrail:StartLogging",
    "cloudtrail:GetEventSelectors",
    "cloudtrail:PutEventSelectors",
    "cloudtrail:ListTags",
    "cloudtrail:AddTags",
    "sns:CreateTopic",
    "sns:GetTopicAttributes",
    "sns:ListTagsForResource",
    "sns:TagResource",
    "sns:ListSubscriptionsByTopic",
    "sns:GetSubscriptionAttributes",
    "sns:Subscribe",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:ListTagsForResource",
    "cloudwatch:TagResource",
)


def iam_action(call: tuple[str, str] | None) -> str:
    """``(signing name, operation)`` as the IAM action a policy must allow."""
    if call is None:
        return "the AWS API"
    service, operation = call
    if service == "s3" and operation in _S3_ACTIONS:
        return _S3_ACTIONS[operation]
    return f"{_PREFIXES.get(service, service)}:{operation}"
