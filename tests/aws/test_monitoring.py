"""Customer-side monitoring of the flightdeck role, against the emulator (moto server over HTTP).

What moto does not do, and how these tests cope:
- it never delivers trail events to the log group, and it implements neither TestMetricFilter
  nor JSON patterns in FilterLogEvents (it returns every event); so delivery is tested by
  putting CloudTrail-shaped records into the log group with PutLogEvents, reading them back,
  and evaluating the metric filter as stored in AWS with flightdeck's offline evaluator;
- it confirms e-mail subscriptions at once; AWS keeps them pending until the link in the
  mail is clicked. The pending answers AWS gives are produced by rewriting moto's parsed
  responses in botocore's ``after-call`` event (the real service model still parses them).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from flightdeck.aws.emulator import RunningEmulator
from flightdeck.aws.monitoring import (
    REQUIRED_ACTIONS,
    RESOURCES,
    MonitoringError,
    MonitorSpec,
    setup,
    show,
)
from flightdeck.aws.monitoring.actions import iam_action
from flightdeck.aws.monitoring.target import (
    ALARM_NAME,
    DELIVERY_POLICY_NAME,
    DELIVERY_ROLE_NAME,
    LOG_GROUP_NAME,
    METRIC_FILTER_NAME,
    METRIC_NAME,
    METRIC_NAMESPACE,
    TOPIC_NAME,
    TRAIL_NAME,
)
from flightdeck.aws.permissions import MANAGED_POLICY_NAME, ROLE_NAME
from flightdeck.aws.session import client, customer_session, record_calls
from flightdeck.filterpattern import compile_pattern
from flightdeck.filterpattern.cloudtrail import role_change_pattern

EMAIL = "security@example.com"
PATTERN = role_change_pattern(ROLE_NAME, MANAGED_POLICY_NAME)
WRITES = ("Create", "Put", "Update", "Start", "Stop", "Subscribe", "Tag", "Add", "Delete")


@pytest.fixture
def customer(customer_profile: str) -> Any:
    return customer_session(customer_profile)


@pytest.fixture
def account(emulator_env: RunningEmulator) -> str:
    return emulator_env.customer_account_id


def spec(email: str | None = EMAIL) -> MonitorSpec:
    return MonitorSpec(filter_pattern=PATTERN, email=email)


def aws(session: Any, service: str, region: str = "us-east-1") -> Any:
    return client(session, service, region)


def bucket_of(account: str, region: str = "us-east-1") -> str:
    return f"flightdeck-role-monitor-{account}-{region}"


def statements_by_sid(session: Any, bucket: str) -> dict[str, Any]:
    policy = json.loads(aws(session, "s3").get_bucket_policy(Bucket=bucket)["Policy"])
    return {s.get("Sid"): s for s in policy["Statement"]}


def test_setup_creates_every_resource_as_declared(customer: Any, account: str) -> None:
    report = setup(customer, spec())

    assert [r.resource for r in report.resources] == list(RESOURCES)
    assert {(r.found, r.action, r.state) for r in report.resources} == {
        ("missing", "created", "present")
    }
    assert report.account_id == account and report.region == "us-east-1"
    assert report.changed and report.complete

    # The log group, and a trail that delivers all regions' IAM events to it and the bucket.
    logs = aws(customer, "logs")
    group = logs.describe_log_groups(logGroupNamePrefix=LOG_GROUP_NAME)["logGroups"][0]
    assert group["retentionInDays"] == 90
    trail = aws(customer, "cloudtrail").get_trail(Name=TRAIL_NAME)["Trail"]
    assert trail["IsMultiRegionTrail"] is True
    assert trail["IncludeGlobalServiceEvents"] is True
    assert trail["LogFileValidationEnabled"] is True
    assert trail["S3BucketName"] == bucket_of(account)
    assert trail["CloudWatchLogsLogGroupArn"] == group["arn"]  # the ":*" form
    role_arn = f"arn:aws:iam::{account}:role/{DELIVERY_ROLE_NAME}"
    assert trail["CloudWatchLogsRoleArn"] == role_arn
    assert aws(customer, "cloudtrail").get_trail_status(Name=TRAIL_NAME)["IsLogging"] is True
    selectors = aws(customer, "cloudtrail").get_event_selectors(TrailName=TRAIL_NAME)
    assert selectors["EventSelectors"][0]["ReadWriteType"] == "WriteOnly"
    assert selectors["EventSelectors"][0]["IncludeManagementEvents"] is True
    assert report.resource("trail").arn == trail["TrailARN"]

    # The bucket: CloudTrail may check the ACL and write, for this trail only; private.
    bucket = bucket_of(account)
    trail_arn = f"arn:aws:cloudtrail:us-east-1:{account}:trail/{TRAIL_NAME}"
    by_sid = statements_by_sid(customer, bucket)
    acl_check, write = by_sid["AWSCloudTrailAclCheck"], by_sid["AWSCloudTrailWrite"]
    assert acl_check["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert acl_check["Action"] == "s3:GetBucketAcl"
    assert acl_check["Resource"] == f"arn:aws:s3:::{bucket}"
    assert acl_check["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn}}
    assert write["Action"] == "s3:PutObject"
    assert write["Resource"] == f"arn:aws:s3:::{bucket}/AWSLogs/{account}/*"
    assert write["Condition"] == {
        "StringEquals": {
            "s3:x-amz-acl": "bucket-owner-full-control",
            "aws:SourceArn": trail_arn,
        }
    }
    assert by_sid["DenyInsecureTransport"]["Effect"] == "Deny"
    s3 = aws(customer, "s3")
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(
        block[key]
        for key in (
            "BlockPublicAcls",
            "IgnorePublicAcls",
            "BlockPublicPolicy",
            "RestrictPublicBuckets",
        )
    )
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    bucket_tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert bucket_tags["flightdeck:component"] == "role-monitor"

    # The delivery role: CloudTrail only, and only streams and events in our log group.
    iam = aws(customer, "iam")
    trust = iam.get_role(RoleName=DELIVERY_ROLE_NAME)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    permissions = iam.get_role_policy(RoleName=DELIVERY_ROLE_NAME, PolicyName=DELIVERY_POLICY_NAME)
    allowed = {(s["Action"], s["Resource"]) for s in permissions["PolicyDocument"]["Statement"]}
    streams = (
        f"arn:aws:logs:us-east-1:{account}:log-group:{LOG_GROUP_NAME}"
        f":log-stream:{account}_CloudTrail_*"
    )
    assert allowed == {("logs:CreateLogStream", streams), ("logs:PutLogEvents", streams)}

    # The metric filter counts role changes; the alarm fires on one within five minutes.
    (metric_filter,) = logs.describe_metric_filters(logGroupName=LOG_GROUP_NAME)["metricFilters"]
    assert metric_filter["filterName"] == METRIC_FILTER_NAME
    assert metric_filter["filterPattern"] == PATTERN
    assert metric_filter["metricTransformations"][0]["metricNamespace"] == METRIC_NAMESPACE
    assert metric_filter["metricTransformations"][0]["metricName"] == METRIC_NAME
    assert metric_filter["metricTransformations"][0]["metricValue"] == "1"
    (alarm,) = aws(customer, "cloudwatch").describe_alarms(AlarmNames=[ALARM_NAME])["MetricAlarms"]
    topic_arn = f"arn:aws:sns:us-east-1:{account}:{TOPIC_NAME}"
    assert (alarm["Namespace"], alarm["MetricName"]) == (METRIC_NAMESPACE, METRIC_NAME)
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Sum", 300, 1)
    assert alarm["Threshold"] == 1.0
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [topic_arn]
    assert alarm["ActionsEnabled"] is True

    # The e-mail subscription on the topic.
    (subscription,) = aws(customer, "sns").list_subscriptions_by_topic(TopicArn=topic_arn)[
        "Subscriptions"
    ]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", EMAIL)
    assert report.resource("subscription").detail["email"] == EMAIL


def test_second_run_changes_nothing_and_makes_no_write_call(customer: Any, account: str) -> None:
    setup(customer, spec())

    with record_calls(customer) as calls:
        again = setup(customer, spec())

    assert {(r.found, r.action) for r in again.resources} == {("present", "unchanged")}
    assert not again.changed
    assert all(r.changes == [] and r.differences == [] for r in again.resources)
    writes = [op for _, op in calls if op.startswith(WRITES)]
    assert writes == []
    # Nothing duplicated.
    assert len(aws(customer, "cloudtrail").describe_trails()["trailList"]) == 1
    topic_arn = f"arn:aws:sns:us-east-1:{account}:{TOPIC_NAME}"
    subscriptions = aws(customer, "sns").list_subscriptions_by_topic(TopicArn=topic_arn)
    assert len(subscriptions["Subscriptions"]) == 1
    assert len(aws(customer, "sns").list_topics()["Topics"]) == 1
    assert len(aws(customer, "cloudwatch").describe_alarms()["MetricAlarms"]) == 1
    filters = aws(customer, "logs").describe_metric_filters(logGroupName=LOG_GROUP_NAME)
    assert len(filters["metricFilters"]) == 1


def test_show_on_an_empty_account_lists_everything_missing(customer: Any, account: str) -> None:
    with record_calls(customer) as calls:
        report = show(customer, spec(email=None))

    assert [(r.resource, r.state) for r in report.resources] == [
        (name, "missing") for name in RESOURCES
    ]
    assert all(r.action is None for r in report.resources)
    assert not report.complete
    assert [op for _, op in calls if op.startswith(WRITES)] == []
    assert aws(customer, "s3").list_buckets()["Buckets"] == []


def test_drift_is_shown_then_fixed_by_setup_keeping_the_customers_own_settings(
    customer: Any, account: str
) -> None:
    setup(customer, spec())
    logs, cloudtrail, cloudwatch, s3 = (
        aws(customer, name) for name in ("logs", "cloudtrail", "cloudwatch", "s3")
    )
    bucket = bucket_of(account)
    # Someone weakens the monitoring: a narrower filter, a stopped trail, no alarm, a shorter
    # retention, CloudTrail's write access gone (the customer's own statement stays).
    logs.put_metric_filter(
        logGroupName=LOG_GROUP_NAME,
        filterName=METRIC_FILTER_NAME,
        filterPattern='{ $.eventName = "DeleteRole" }',
        metricTransformations=[
            {"metricName": METRIC_NAME, "metricNamespace": METRIC_NAMESPACE, "metricValue": "1"}
        ],
    )
    cloudtrail.stop_logging(Name=TRAIL_NAME)
    cloudwatch.delete_alarms(AlarmNames=[ALARM_NAME])
    logs.put_retention_policy(logGroupName=LOG_GROUP_NAME, retentionInDays=7)
    own = {
        "Sid": "CustomerAuditRead",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [own]})
    )

    shown = show(customer, spec(email=None))
    states = {r.resource: r.state for r in shown.resources}
    assert states == {
        "bucket": "drifted",
        "log_group": "drifted",
        "delivery_role": "present",
        "trail": "drifted",
        "metric_filter": "drifted",
        "topic": "present",
        "subscription": "present",
        "alarm": "missing",
    }
    assert shown.resource("trail").differences == ["logging is stopped"]
    assert shown.resource("trail").detail["logging"] is False
    assert shown.resource("metric_filter").differences == [
        "filter pattern differs from flightdeck's"
    ]
    assert shown.resource("log_group").differences == ["events are kept 7 days, not 90 days"]
    assert "CloudTrail" in shown.resource("bucket").differences[0]

    fixed = setup(customer, spec())
    actions = {r.resource: (r.found, r.action) for r in fixed.resources}
    assert actions == {
        "bucket": ("drifted", "updated"),
        "log_group": ("drifted", "updated"),
        "delivery_role": ("present", "unchanged"),
        "trail": ("drifted", "updated"),
        "metric_filter": ("drifted", "updated"),
        "topic": ("present", "unchanged"),
        "subscription": ("present", "unchanged"),
        "alarm": ("missing", "created"),
    }
    assert fixed.resource("trail").changes == ["started logging on the trail (it was stopped)"]
    assert fixed.complete
    assert cloudtrail.get_trail_status(Name=TRAIL_NAME)["IsLogging"] is True
    # moto appends on PutMetricFilter where AWS replaces: the last one listed is the latest.
    listed = logs.describe_metric_filters(logGroupName=LOG_GROUP_NAME)["metricFilters"]
    assert listed[-1]["filterPattern"] == PATTERN
    assert cloudwatch.describe_alarms(AlarmNames=[ALARM_NAME])["MetricAlarms"]
    by_sid = statements_by_sid(customer, bucket)
    assert by_sid["CustomerAuditRead"] == own
    assert {"AWSCloudTrailAclCheck", "AWSCloudTrailWrite"} <= set(by_sid)
    assert {r.state for r in show(customer, spec(email=None)).resources} == {"present"}


def test_trail_settings_drift_is_put_back(customer: Any, account: str) -> None:
    setup(customer, spec())
    cloudtrail = aws(customer, "cloudtrail")
    cloudtrail.update_trail(Name=TRAIL_NAME, IsMultiRegionTrail=False)
    cloudtrail.put_event_selectors(
        TrailName=TRAIL_NAME,
        EventSelectors=[{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}],
    )

    trail = show(customer, spec(email=None)).resource("trail")
    assert trail.state == "drifted"
    assert "not as declared: multi-region" in trail.differences

    fixed = setup(customer, spec()).resource("trail")
    assert fixed.action == "updated" and fixed.state == "present"
    assert cloudtrail.get_trail(Name=TRAIL_NAME)["Trail"]["IsMultiRegionTrail"] is True
    selectors = cloudtrail.get_event_selectors(TrailName=TRAIL_NAME)["EventSelectors"]
    assert selectors[0]["ReadWriteType"] == "WriteOnly"


@pytest.mark.parametrize("pending_as", ["listing", "attribute"])
def test_pending_subscription_is_reported_and_not_subscribed_again(
    customer: Any, account: str, pending_as: str
) -> None:
    setup(customer, spec())

    # What AWS answers until the mail's link is clicked: ListSubscriptionsByTopic shows the
    # ARN as "PendingConfirmation", or (for a subscription made with ReturnSubscriptionArn)
    # the attribute PendingConfirmation is "true".
    def pending_listing(parsed: dict[str, Any], **_: Any) -> None:
        for item in parsed.get("Subscriptions", []):
            item["SubscriptionArn"] = "PendingConfirmation"

    def pending_attribute(parsed: dict[str, Any], **_: Any) -> None:
        parsed["Attributes"]["PendingConfirmation"] = "true"

    if pending_as == "listing":
        customer.events.register("after-call.sns.ListSubscriptionsByTopic", pending_listing)
    else:
        customer.events.register("after-call.sns.GetSubscriptionAttributes", pending_attribute)

    with record_calls(customer) as calls:
        report = setup(customer, spec())
    subscription = report.resource("subscription")
    assert (subscription.found, subscription.action) == ("present", "unchanged")
    assert subscription.detail["status"] == "pending confirmation"
    assert ("sns", "Subscribe") not in calls
    shown = show(customer, spec(email=None)).resource("subscription")
    assert shown.detail["subscriptions"][0]["status"] == "pending confirmation"
    assert shown.detail["subscriptions"][0]["endpoint"] == EMAIL


def test_another_address_gets_its_own_subscription(customer: Any, account: str) -> None:
    setup(customer, spec())
    report = setup(customer, spec(email="oncall@example.org"))

    subscription = report.resource("subscription")
    assert subscription.action == "created"
    assert subscription.changes == [
        "subscribed oncall@example.org to the topic (AWS sends a confirmation e-mail)"
    ]
    endpoints = {s["endpoint"] for s in subscription.detail["subscriptions"]}
    assert endpoints == {EMAIL, "oncall@example.org"}
    assert {r.action for r in report.resources if r.resource != "subscription"} == {"unchanged"}


@pytest.mark.parametrize("email", ["not-an-address", "a@", "two@@example.com", ""])
def test_bad_email_is_refused_before_any_aws_call(email: str) -> None:
    with pytest.raises(MonitoringError) as refused:
        MonitorSpec(filter_pattern=PATTERN, email=email)
    assert refused.value.field == "--email"
    assert "--email" in refused.value.message and "valid e-mail address" in refused.value.message


def test_setup_without_an_email_is_refused(customer: Any) -> None:
    with record_calls(customer) as calls, pytest.raises(MonitoringError, match="--email"):
        setup(customer, spec(email=None))
    assert calls == []


def test_home_region_is_honoured_and_found_again_from_another_region(
    customer: Any, account: str
) -> None:
    report = setup(customer, spec(), region="eu-west-2")
    assert report.region == "eu-west-2"
    trail = aws(customer, "cloudtrail", "eu-west-2").get_trail(Name=TRAIL_NAME)["Trail"]
    assert trail["TrailARN"] == f"arn:aws:cloudtrail:eu-west-2:{account}:trail/{TRAIL_NAME}"
    assert trail["CloudWatchLogsLogGroupArn"].startswith(f"arn:aws:logs:eu-west-2:{account}:")
    location = aws(customer, "s3").get_bucket_location(Bucket=bucket_of(account, "eu-west-2"))
    assert location["LocationConstraint"] == "eu-west-2"
    alarms = aws(customer, "cloudwatch", "eu-west-2").describe_alarms(AlarmNames=[ALARM_NAME])
    assert alarms["MetricAlarms"][0]["AlarmActions"] == [
        f"arn:aws:sns:eu-west-2:{account}:{TOPIC_NAME}"
    ]

    # The profile's region is us-east-1: without --region the trail's home region is used.
    shown = show(customer, spec(email=None))
    assert shown.region == "eu-west-2" and shown.complete
    with pytest.raises(MonitoringError, match="home region eu-west-2") as refused:
        setup(customer, spec(), region="us-east-1")
    assert refused.value.field == "--region"


def test_disabled_opt_in_region_is_refused_before_anything_is_created(
    customer: Any, emulator_env: RunningEmulator, account: str
) -> None:
    emulator_env.control.set_region_status(account, "eu-south-1", "DISABLED")

    with pytest.raises(MonitoringError, match="eu-south-1 is an opt-in region that is disabled"):
        setup(customer, spec(), region="eu-south-1")
    assert aws(customer, "s3").list_buckets()["Buckets"] == []


def test_access_denied_names_the_missing_permission_and_the_credentials_to_use(
    customer: Any, emulator_env: RunningEmulator
) -> None:
    emulator_env.control.inject_faults(
        1.0, service="cloudtrail", action="CreateTrail", code="AccessDeniedException"
    )

    with pytest.raises(MonitoringError) as denied:
        setup(customer, spec())
    message = denied.value.message
    assert "cloudtrail:CreateTrail" in message
    assert f"iam:PassRole on {DELIVERY_ROLE_NAME}" in message
    assert "your own administrator credentials" in message
    # What was made before the refusal stays, and the next run picks up from there.
    emulator_env.control.clear_faults()
    resumed = setup(customer, spec())
    assert resumed.resource("bucket").action == "unchanged"
    assert resumed.resource("trail").action == "created"


def test_the_deployed_metric_filter_counts_cloudtrail_role_changes(
    customer: Any, account: str
) -> None:
    setup(customer, spec())
    logs = aws(customer, "logs")

    def record(event_name: str, **parameters: str) -> str:
        return json.dumps(
            {
                "eventVersion": "1.09",
                "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{account}:user/x"},
                "eventTime": "2026-11-21T10:00:00Z",
                "eventSource": "iam.amazonaws.com",
                "eventName": event_name,
                "awsRegion": "us-east-1",
                "requestParameters": parameters,
                "responseElements": None,
                "eventType": "AwsApiCall",
                "recipientAccountId": account,
            }
        )

    policy_arn = f"arn:aws:iam::{account}:policy/{MANAGED_POLICY_NAME}"
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    events = [
        record("AttachRolePolicy", roleName=ROLE_NAME, policyArn=admin),  # counts
        record("AttachRolePolicy", roleName="some-other-role", policyArn=admin),
        record("CreatePolicyVersion", policyArn=policy_arn, setAsDefault="true"),  # counts
        record("CreatePolicyVersion", policyArn=f"arn:aws:iam::{account}:policy/Other"),
        record("GetRole", roleName=ROLE_NAME),
        record("UpdateAssumeRolePolicy", roleName=ROLE_NAME),  # counts
    ]
    stream = f"{account}_CloudTrail_us-east-1"
    logs.create_log_stream(logGroupName=LOG_GROUP_NAME, logStreamName=stream)
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=LOG_GROUP_NAME,
        logStreamName=stream,
        logEvents=[{"timestamp": now, "message": message} for message in events],
    )

    stored = [e["message"] for e in logs.filter_log_events(logGroupName=LOG_GROUP_NAME)["events"]]
    assert stored == events
    (deployed,) = logs.describe_metric_filters(logGroupName=LOG_GROUP_NAME)["metricFilters"]
    assert list(compile_pattern(deployed["filterPattern"]).matching_lines(stored)) == [1, 3, 6]


def test_spec_refuses_a_retention_cloudwatch_logs_does_not_offer() -> None:
    with pytest.raises(MonitoringError, match="retention_days: 42"):
        MonitorSpec(filter_pattern=PATTERN, email=EMAIL, retention_days=42)


def test_required_actions_are_exactly_what_setup_and_show_call(
    customer: Any, emulator_env: RunningEmulator, account: str
) -> None:
    region = "eu-south-1"  # an opt-in region, enabled: the Account API is asked first
    emulator_env.control.set_region_status(account, region, "ENABLED")
    calls: list[tuple[str, str]] = []
    with record_calls(customer) as recorded:
        setup(customer, spec(), region=region)
    calls += recorded

    # Take every tag off and loosen every setting, so each fix path runs once.
    s3, logs, iam, cloudtrail, sns, cloudwatch = (
        aws(customer, name, region)
        for name in ("s3", "logs", "iam", "cloudtrail", "sns", "cloudwatch")
    )
    bucket = bucket_of(account, region)
    s3.delete_bucket_tagging(Bucket=bucket)
    s3.delete_public_access_block(Bucket=bucket)
    s3.delete_bucket_encryption(Bucket=bucket)
    group_arn = f"arn:aws:logs:{region}:{account}:log-group:{LOG_GROUP_NAME}"
    logs.untag_resource(resourceArn=group_arn, tagKeys=["flightdeck:component"])
    iam.untag_role(RoleName=DELIVERY_ROLE_NAME, TagKeys=["flightdeck:component"])
    iam.update_assume_role_policy(
        RoleName=DELIVERY_ROLE_NAME,
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    trail_arn = f"arn:aws:cloudtrail:{region}:{account}:trail/{TRAIL_NAME}"
    cloudtrail.remove_tags(ResourceId=trail_arn, TagsList=[{"Key": "flightdeck:component"}])
    cloudtrail.update_trail(Name=TRAIL_NAME, IncludeGlobalServiceEvents=False)
    cloudtrail.put_event_selectors(
        TrailName=TRAIL_NAME,
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": False}],
    )
    topic_arn = f"arn:aws:sns:{region}:{account}:{TOPIC_NAME}"
    sns.untag_resource(ResourceArn=topic_arn, TagKeys=["flightdeck:component"])
    alarm_arn = f"arn:aws:cloudwatch:{region}:{account}:alarm:{ALARM_NAME}"
    cloudwatch.untag_resource(ResourceARN=alarm_arn, TagKeys=["flightdeck:component"])

    with record_calls(customer) as recorded:
        shown = show(customer, spec(email=None))
        fixed = setup(customer, spec())
    calls += recorded

    assert shown.region == region
    assert {r.resource for r in shown.resources if r.state == "drifted"} == {
        "bucket", "log_group", "delivery_role", "trail", "topic", "alarm"
    }  # fmt: skip
    assert fixed.complete and all(
        r.state == "present" and "still_different" not in r.detail for r in fixed.resources
    )
    # iam:PassRole is checked by AWS inside CreateTrail/UpdateTrail, never called itself.
    assert {iam_action(call) for call in calls} == set(REQUIRED_ACTIONS) - {"iam:PassRole"}


def test_a_delivery_role_cloudtrail_cannot_use_yet_is_retried_then_explained(
    customer: Any, emulator_env: RunningEmulator
) -> None:
    # Right after CreateRole, AWS's CloudTrail may not see the new role yet (IAM is
    # eventually consistent) and answers InvalidCloudWatchLogsRoleArnException.
    emulator_env.control.inject_faults(
        1.0, service="cloudtrail", action="CreateTrail",
        code="InvalidCloudWatchLogsRoleArnException", count=2,
    )  # fmt: skip
    report = setup(customer, spec(), propagation_delays=(0.0, 0.0, 0.0))
    assert report.resource("trail").action == "created"
    assert emulator_env.control.faults()[0]["injected"] == 2

    emulator_env.control.clear_faults()
    aws(customer, "cloudtrail").delete_trail(Name=TRAIL_NAME)
    emulator_env.control.inject_faults(
        1.0, service="cloudtrail", action="CreateTrail",
        code="InvalidCloudWatchLogsRoleArnException",
    )  # fmt: skip
    with pytest.raises(MonitoringError, match="run the command again shortly"):
        setup(customer, spec(), propagation_delays=(0.0, 0.0))
    assert emulator_env.control.faults()[0]["injected"] == 3
