"""CloudTrail into CloudWatch Logs: the log group, the role CloudTrail writes with, the trail."""

from __future__ import annotations

import json
from typing import Any

from flightdeck.aws.error_codes import absent_on
from flightdeck.aws.iam_documents import same_document
from flightdeck.aws.monitoring.step import (
    MonitorContext,
    MonitorStep,
    Observation,
    found,
)
from flightdeck.aws.monitoring.target import (
    DELIVERY_POLICY_NAME,
    DELIVERY_ROLE_NAME,
    LOG_GROUP_NAME,
    TAGS,
    TRAIL_NAME,
    Target,
    missing_tags,
    tag_list,
)

# CloudTrail refuses a role or bucket it cannot use yet; right after we created or changed
# them that is IAM's eventual consistency, so these codes are retried for a short while.
_PROPAGATING = (
    "InvalidCloudWatchLogsRoleArnException",
    "InvalidCloudWatchLogsLogGroupArnException",
    "InsufficientS3BucketPolicyException",
)
# Management events that change something; every IAM call we watch is one. Read-only
# events would only add CloudWatch Logs ingestion cost.
EVENT_SELECTORS = [
    {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True, "DataResources": []}
]


class LogGroupStep(MonitorStep):
    resource = "log_group"

    def name(self, target: Target) -> str:
        return LOG_GROUP_NAME

    def observe(self, ctx: MonitorContext) -> Observation:
        logs = ctx.client("logs")
        groups = logs.describe_log_groups(logGroupNamePrefix=LOG_GROUP_NAME)["logGroups"]
        group = next((g for g in groups if g["logGroupName"] == LOG_GROUP_NAME), None)
        if group is None:
            return Observation("missing")
        differences: dict[str, str] = {}
        retention = group.get("retentionInDays")
        if retention != ctx.spec.retention_days:
            kept = "never expire" if retention is None else f"are kept {retention} days"
            differences["retention"] = f"events {kept}, not {ctx.spec.retention_days} days"
        tags = logs.list_tags_for_resource(resourceArn=ctx.target.log_group_arn).get("tags", {})
        if missing := missing_tags(tags):
            differences["tags"] = f"tags missing: {', '.join(missing)}"
        return found(
            ctx.target.log_group_arn,
            differences,
            detail={"retention_days": retention},
        )

    def create(self, ctx: MonitorContext) -> list[str]:
        ctx.client("logs").create_log_group(logGroupName=LOG_GROUP_NAME, tags=dict(TAGS))
        self.fix(ctx, Observation("missing", differences={"retention": ""}))
        return [
            f"created the log group {LOG_GROUP_NAME} (events kept {ctx.spec.retention_days} days)"
        ]

    def fix(self, ctx: MonitorContext, observed: Observation) -> list[str]:
        logs = ctx.client("logs")
        changes: list[str] = []
        if "retention" in observed.differences:
            logs.put_retention_policy(
                logGroupName=LOG_GROUP_NAME, retentionInDays=ctx.spec.retention_days
            )
            changes.append(f"set the log group's retention to {ctx.spec.retention_days} days")
        if "tags" in observed.differences:
            logs.tag_resource(resourceArn=ctx.target.log_group_arn, tags=dict(TAGS))
            changes.append("tagged the log group")
        return changes


class DeliveryRoleStep(MonitorStep):
    """The role CloudTrail assumes to write into the log group, and nothing else."""

    resource = "delivery_role"

    def name(self, target: Target) -> str:
        return DELIVERY_ROLE_NAME

    def observe(self, ctx: MonitorContext) -> Observation:
        iam, target = ctx.client("iam"), ctx.target
        response = absent_on(("NoSuchEntity",), iam.get_role, RoleName=DELIVERY_ROLE_NAME)
        if response is None:
            return Observation("missing")
        role = response["Role"]
        differences: dict[str, str] = {}
        if not same_document(role["AssumeRolePolicyDocument"], target.delivery_trust_policy()):
            differences["trust"] = "trust policy is not CloudTrail-only"
        inline = absent_on(
            ("NoSuchEntity",),
            iam.get_role_policy,
            RoleName=DELIVERY_ROLE_NAME,
            PolicyName=DELIVERY_POLICY_NAME,
        )
        if inline is None:
            differences["permissions"] = f"permissions policy {DELIVERY_POLICY_NAME} is missing"
        elif not same_document(inline["PolicyDocument"], target.delivery_permissions()):
            differences["permissions"] = (
                f"permissions policy {DELIVERY_POLICY_NAME} differs from the declared one"
            )
        tags = {t["Key"]: t["Value"] for t in role.get("Tags", [])}
        if missing := missing_tags(tags):
            differences["tags"] = f"tags missing: {', '.join(missing)}"
        return found(str(role["Arn"]), differences)

    def create(self, ctx: MonitorContext) -> list[str]:
        ctx.client("iam").create_role(
            RoleName=DELIVERY_ROLE_NAME,
            AssumeRolePolicyDocument=json.dumps(ctx.target.delivery_trust_policy()),
            Description="CloudTrail delivers the flightdeck role-monitor trail to CloudWatch Logs",
            Tags=tag_list(),
        )
        self.fix(ctx, Observation("missing", differences={"permissions": ""}))
        return [
            f"created the role {DELIVERY_ROLE_NAME} (CloudTrail may only create streams and "
            f"put events in {LOG_GROUP_NAME})"
        ]

    def fix(self, ctx: MonitorContext, observed: Observation) -> list[str]:
        iam, target = ctx.client("iam"), ctx.target
        changes: list[str] = []
        if "trust" in observed.differences:
            iam.update_assume_role_policy(
                RoleName=DELIVERY_ROLE_NAME,
                PolicyDocument=json.dumps(target.delivery_trust_policy()),
            )
            changes.append("rewrote the delivery role's trust policy (CloudTrail only)")
        if "permissions" in observed.differences:
            iam.put_role_policy(
                RoleName=DELIVERY_ROLE_NAME,
                PolicyName=DELIVERY_POLICY_NAME,
                PolicyDocument=json.dumps(target.delivery_permissions()),
            )
            changes.append(f"wrote the delivery role's policy {DELIVERY_POLICY_NAME}")
        if "tags" in observed.differences:
            iam.tag_role(RoleName=DELIVERY_ROLE_NAME, Tags=tag_list())
            changes.append("tagged the delivery role")
        return changes


class TrailStep(MonitorStep):
    """A multi-region trail with global service events (IAM is global) into both sinks."""

    resource = "trail"

    def name(self, target: Target) -> str:
        return TRAIL_NAME

    def _settings(self, target: Target) -> dict[str, Any]:
        return {
            "S3BucketName": target.bucket_name,
            "IsMultiRegionTrail": True,
            "IncludeGlobalServiceEvents": True,
            "EnableLogFileValidation": True,
            "CloudWatchLogsLogGroupArn": f"{target.log_group_arn}:*",
            "CloudWatchLogsRoleArn": target.delivery_role_arn,
        }

    def observe(self, ctx: MonitorContext) -> Observation:
        cloudtrail, target = ctx.client("cloudtrail"), ctx.target
        response = absent_on(("TrailNotFoundException",), cloudtrail.get_trail, Name=TRAIL_NAME)
        if response is None:
            return Observation("missing")
        trail = response["Trail"]
        differences: dict[str, str] = {}
        wrong = _wrong_settings(trail, self._settings(target))
        if wrong:
            differences["settings"] = f"not as declared: {', '.join(wrong)}"
        selectors = cloudtrail.get_event_selectors(TrailName=TRAIL_NAME)
        if not _records_management_writes(selectors):
            differences["selectors"] = "does not record write management events (IAM changes)"
        status = cloudtrail.get_trail_status(Name=TRAIL_NAME)
        logging = bool(status.get("IsLogging"))
        if not logging:
            differences["logging"] = "logging is stopped"
        tag_lists = cloudtrail.list_tags(ResourceIdList=[trail["TrailARN"]])["ResourceTagList"]
        tags = {t["Key"]: t["Value"] for entry in tag_lists for t in entry.get("TagsList", [])}
        if missing := missing_tags(tags):
            differences["tags"] = f"tags missing: {', '.join(missing)}"
        return found(
            str(trail["TrailARN"]),
            differences,
            detail={
                "logging": logging,
                "multi_region": bool(trail.get("IsMultiRegionTrail")),
                "home_region": trail.get("HomeRegion", target.region),
                "log_group_arn": trail.get("CloudWatchLogsLogGroupArn"),
                "bucket": trail.get("S3BucketName"),
            },
        )

    def create(self, ctx: MonitorContext) -> list[str]:
        cloudtrail, target = ctx.client("cloudtrail"), ctx.target
        ctx.retry_while(
            _PROPAGATING,
            cloudtrail.create_trail,
            Name=TRAIL_NAME,
            **self._settings(target),
            TagsList=tag_list(),
        )
        cloudtrail.put_event_selectors(TrailName=TRAIL_NAME, EventSelectors=EVENT_SELECTORS)
        cloudtrail.start_logging(Name=TRAIL_NAME)
        return [
            f"created the multi-region trail {TRAIL_NAME} (write management events, global "
            "services included) and started logging"
        ]

    def fix(self, ctx: MonitorContext, observed: Observation) -> list[str]:
        cloudtrail, target = ctx.client("cloudtrail"), ctx.target
        changes: list[str] = []
        if "settings" in observed.differences:
            ctx.retry_while(
                _PROPAGATING, cloudtrail.update_trail, Name=TRAIL_NAME, **self._settings(target)
            )
            changes.append(f"updated the trail ({observed.differences['settings']})")
        if "selectors" in observed.differences:
            cloudtrail.put_event_selectors(TrailName=TRAIL_NAME, EventSelectors=EVENT_SELECTORS)
            changes.append("set the trail to record write management events")
        if "logging" in observed.differences:
            cloudtrail.start_logging(Name=TRAIL_NAME)
            changes.append("started logging on the trail (it was stopped)")
        if "tags" in observed.differences:
            cloudtrail.add_tags(ResourceId=target.trail_arn, TagsList=tag_list())
            changes.append("tagged the trail")
        return changes


_SETTING_LABELS = {
    "S3BucketName": "bucket",
    "IsMultiRegionTrail": "multi-region",
    "IncludeGlobalServiceEvents": "global service events",
    "EnableLogFileValidation": "log file validation",
    "CloudWatchLogsLogGroupArn": "log group",
    "CloudWatchLogsRoleArn": "delivery role",
}


def _wrong_settings(trail: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    current = dict(trail)
    # DescribeTrails calls the request's EnableLogFileValidation LogFileValidationEnabled.
    current["EnableLogFileValidation"] = trail.get("LogFileValidationEnabled", False)
    return [
        label
        for key, label in _SETTING_LABELS.items()
        if _normal(current.get(key)) != _normal(wanted[key])
    ]


def _normal(value: Any) -> Any:
    if isinstance(value, str) and value.endswith(":*"):
        return value[:-2]
    return value


def _records_management_writes(selectors: dict[str, Any]) -> bool:
    """True when the trail records write management events from every source, IAM included."""
    advanced = selectors.get("AdvancedEventSelectors") or []
    if advanced:
        return any(_advanced_records_management_writes(s) for s in advanced)
    basic = selectors.get("EventSelectors")
    if not basic:
        return True  # no selectors at all: CloudTrail's default, all management events
    return any(
        s.get("IncludeManagementEvents", True)
        and s.get("ReadWriteType", "All") in ("All", "WriteOnly")
        and "iam.amazonaws.com" not in s.get("ExcludeManagementEventSources", [])
        for s in basic
    )


def _advanced_records_management_writes(selector: dict[str, Any]) -> bool:
    fields = {f["Field"]: f for f in selector.get("FieldSelectors", [])}
    category = fields.get("eventCategory", {})
    if category.get("Equals") != ["Management"]:
        return False
    read_only = fields.get("readOnly", {})
    if read_only.get("Equals") == ["true"]:
        return False
    source = fields.get("eventSource", {})
    return "iam.amazonaws.com" not in source.get("NotEquals", [])
