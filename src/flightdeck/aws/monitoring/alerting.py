"""From a matching CloudTrail event to an e-mail: metric filter, alarm, SNS topic, subscription."""

from __future__ import annotations

from typing import Any

from flightdeck.aws.error_codes import absent_on
from flightdeck.aws.monitoring.step import (
    MonitorContext,
    MonitorStep,
    Observation,
    found,
)
from flightdeck.aws.monitoring.target import (
    ALARM_NAME,
    ALARM_PERIOD_SECONDS,
    ALARM_THRESHOLD,
    LOG_GROUP_NAME,
    METRIC_FILTER_NAME,
    METRIC_NAME,
    METRIC_NAMESPACE,
    TOPIC_NAME,
    Target,
    missing_tags,
    tag_list,
)

# Each matching event counts 1; no default value, so quiet periods publish no data points
# (and the alarm treats missing data as "not breaching").
METRIC_TRANSFORMATION = {
    "metricName": METRIC_NAME,
    "metricNamespace": METRIC_NAMESPACE,
    "metricValue": "1",
}
PENDING = "PendingConfirmation"


class MetricFilterStep(MonitorStep):
    resource = "metric_filter"

    def name(self, target: Target) -> str:
        return METRIC_FILTER_NAME

    def observe(self, ctx: MonitorContext) -> Observation:
        response = absent_on(
            ("ResourceNotFoundException",),
            ctx.client("logs").describe_metric_filters,
            logGroupName=LOG_GROUP_NAME,
            filterNamePrefix=METRIC_FILTER_NAME,
        )
        filters = (response or {}).get("metricFilters", [])
        # A name is unique per log group in AWS (PutMetricFilter replaces). The emulator
        # (moto) appends instead, so the last one listed is the one written last.
        ours = [f for f in filters if f["filterName"] == METRIC_FILTER_NAME]
        current = ours[-1] if ours else None
        if current is None:
            return Observation("missing")
        differences: dict[str, str] = {}
        if current.get("filterPattern") != ctx.spec.filter_pattern:
            differences["pattern"] = "filter pattern differs from flightdeck's"
        transformations = current.get("metricTransformations", [])
        if [_transformation(t) for t in transformations] != [METRIC_TRANSFORMATION]:
            differences["metric"] = (
                f"does not count 1 per event into {METRIC_NAMESPACE}/{METRIC_NAME}"
            )
        return found(
            None,
            differences,
            detail={
                "log_group": LOG_GROUP_NAME,
                "metric": f"{METRIC_NAMESPACE}/{METRIC_NAME}",
                "pattern": current.get("filterPattern"),
            },
        )

    def create(self, ctx: MonitorContext) -> list[str]:
        self._put(ctx)
        return [
            f"created the metric filter {METRIC_FILTER_NAME} "
            f"(role changes → {METRIC_NAMESPACE}/{METRIC_NAME})"
        ]

    def fix(self, ctx: MonitorContext, observed: Observation) -> list[str]:
        self._put(ctx)
        return [f"rewrote the metric filter ({'; '.join(observed.differences.values())})"]

    def _put(self, ctx: MonitorContext) -> None:
        ctx.client("logs").put_metric_filter(
            logGroupName=LOG_GROUP_NAME,
            filterName=METRIC_FILTER_NAME,
            filterPattern=ctx.spec.filter_pattern,
            metricTransformations=[METRIC_TRANSFORMATION],
        )


def _transformation(item: dict[str, Any]) -> dict[str, Any]:
    keep = {k: item.get(k) for k in METRIC_TRANSFORMATION}
    if item.get("defaultValue") is not None or item.get("dimensions"):
        keep["extra"] = True  # a default value or dimensions change what the alarm sees
    return keep


class TopicStep(MonitorStep):
    resource = "topic"

    def name(self, target: Target) -> str:
        return TOPIC_NAME

    def observe(self, ctx: MonitorContext) -> Observation:
        sns, arn = ctx.client("sns"), ctx.target.topic_arn
        attributes = absent_on(
            ("NotFound", "NotFoundException"), sns.get_topic_attributes, TopicArn=arn
        )
        if attributes is None:
            return Observation("missing")
        differences: dict[str, str] = {}
        tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn)["Tags"]}
        if missing := missing_tags(tags):
            differences["tags"] = f"tags missing: {', '.join(missing)}"
        return found(arn, differences)

    def create(self, ctx: MonitorContext) -> list[str]:
        ctx.client("sns").create_topic(Name=TOPIC_NAME, Tags=tag_list())
        return [f"created the SNS topic {TOPIC_NAME}"]

    def fix(self, ctx: MonitorContext, observed: Observation) -> list[str]:
        ctx.client("sns").tag_resource(ResourceArn=ctx.target.topic_arn, Tags=tag_list())
        return ["tagged the SNS topic"]


class SubscriptionStep(MonitorStep):
    """The e-mail subscription. AWS mails a link; until it is clicked the subscription is
    pending and is reported so, never subscribed again (that would send another mail).

    Without an address (``show``) it reports every e-mail subscription of the topic.
    """

    resource = "subscription"

    def name(self, target: Target) -> str:
        return f"{TOPIC_NAME} (email)"

    def observe(self, ctx: MonitorContext) -> Observation:
        sns = ctx.client("sns")
        response = absent_on(
            ("NotFound", "NotFoundException"),
            _all_subscriptions,
            sns=sns,
            topic_arn=ctx.target.topic_arn,
        )
        emails = [
            {"endpoint": s["Endpoint"], "arn": s["SubscriptionArn"], "status": _status(sns, s)}
            for s in response or []
            if s.get("Protocol") == "email"
        ]
        wanted = ctx.spec.email
        if wanted is None:
            if not emails:
                return Observation("missing", detail={"subscriptions": []})
            confirmed = [e for e in emails if e["status"] == "confirmed"]
            arn = confirmed[0]["arn"] if confirmed else None
            return Observation("present", arn, detail={"subscriptions": emails})
        mine = next((e for e in emails if e["endpoint"].lower() == wanted.lower()), None)
        if mine is None:
            return Observation("missing", detail={"email": wanted, "subscriptions": emails})
        arn = None if mine["arn"] == PENDING else mine["arn"]
        return Observation(
            "present",
            arn,
            detail={"email": wanted, "status": mine["status"], "subscriptions": emails},
        )

    def create(self, ctx: MonitorContext) -> list[str]:
        email = ctx.spec.email
        if email is None:
            return []  # show never creates; setup always has an address
        ctx.client("sns").subscribe(
            TopicArn=ctx.target.topic_arn,
            Protocol="email",
            Endpoint=email,
            ReturnSubscriptionArn=True,
        )
        return [f"subscribed {email} to the topic (AWS sends a confirmation e-mail)"]

    def fix(self, ctx: MonitorContext, observed: Observation) -> list[str]:
        return []  # a subscription is either there (confirmed or pending) or not


def _all_subscriptions(sns: Any, topic_arn: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        items.extend(page["Subscriptions"])
    return items


def _status(sns: Any, subscription: dict[str, Any]) -> str:
    """``confirmed`` or ``pending confirmation``.

    ListSubscriptionsByTopic shows a pending subscription's ARN as ``PendingConfirmation``;
    a subscription made with ReturnSubscriptionArn has a real ARN while still pending, so
    its ``PendingConfirmation`` attribute is read too.
    """
    arn = subscription["SubscriptionArn"]
    if arn == PENDING:
        return "pending confirmation"
    attributes = absent_on(
        ("NotFound", "NotFoundException"), sns.get_subscription_attributes, SubscriptionArn=arn
    )
    if attributes and attributes["Attributes"].get("PendingConfirmation") == "true":
        return "pending confirmation"
    return "confirmed"


class AlarmStep(MonitorStep):
    """Sum ≥ 1 over 5 minutes: any one role change alarms; quiet periods are "OK"."""

    resource = "alarm"

    def name(self, target: Target) -> str:
        return ALARM_NAME

    def _settings(self, target: Target, extra_actions: list[str]) -> dict[str, Any]:
        return {
            "AlarmName": ALARM_NAME,
            "AlarmDescription": (
                "The flightdeck cross-account role or its policy was changed in this account. "
                "Check the CloudTrail events in the log group "
                f"{LOG_GROUP_NAME} to see who changed what."
            ),
            "ActionsEnabled": True,
            "AlarmActions": sorted({target.topic_arn, *extra_actions}),
            "MetricName": METRIC_NAME,
            "Namespace": METRIC_NAMESPACE,
            "Statistic": "Sum",
            "Period": ALARM_PERIOD_SECONDS,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "Threshold": ALARM_THRESHOLD,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
        }

    def observe(self, ctx: MonitorContext) -> Observation:
        cloudwatch, target = ctx.client("cloudwatch"), ctx.target
        alarms = cloudwatch.describe_alarms(AlarmNames=[ALARM_NAME])["MetricAlarms"]
        if not alarms:
            return Observation("missing")
        alarm = alarms[0]
        differences: dict[str, str] = {}
        wanted = self._settings(target, [])
        wrong = [key for key in _ALARM_KEYS if _alarm_value(alarm, key) != wanted[key]]
        if alarm.get("Dimensions"):
            wrong.append("Dimensions")
        if target.topic_arn not in alarm.get("AlarmActions", []):
            wrong.append("AlarmActions")
        if wrong:
            differences["settings"] = f"not as declared: {', '.join(wrong)}"
        tags = {
            t["Key"]: t["Value"]
            for t in cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
        }
        if missing := missing_tags(tags):
            differences["tags"] = f"tags missing: {', '.join(missing)}"
        return found(
            str(alarm["AlarmArn"]),
            differences,
            detail={"alarm_state": alarm.get("StateValue"), "actions": alarm.get("AlarmActions")},
            current=alarm,
        )

    def create(self, ctx: MonitorContext) -> list[str]:
        ctx.client("cloudwatch").put_metric_alarm(**self._settings(ctx.target, []), Tags=tag_list())
        return [f"created the alarm {ALARM_NAME} (≥ 1 role change in 5 minutes → {TOPIC_NAME})"]

    def fix(self, ctx: MonitorContext, observed: Observation) -> list[str]:
        cloudwatch, target = ctx.client("cloudwatch"), ctx.target
        changes: list[str] = []
        if "settings" in observed.differences:
            # PutMetricAlarm replaces the whole alarm; the customer's own extra actions stay.
            extra = list(observed.current.get("AlarmActions", []))
            cloudwatch.put_metric_alarm(**self._settings(target, extra))
            changes.append(f"updated the alarm ({observed.differences['settings']})")
        if "tags" in observed.differences:
            cloudwatch.tag_resource(ResourceARN=target.alarm_arn, Tags=tag_list())
            changes.append("tagged the alarm")
        return changes


_ALARM_KEYS = (
    "ActionsEnabled",
    "MetricName",
    "Namespace",
    "Statistic",
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
)


def _alarm_value(alarm: dict[str, Any], key: str) -> Any:
    """A setting as AWS applies it: DescribeAlarms leaves defaults out."""
    if key == "TreatMissingData":
        return alarm.get(key, "missing")
    if key == "DatapointsToAlarm":
        return alarm.get(key, alarm.get("EvaluationPeriods"))
    return alarm.get(key)
