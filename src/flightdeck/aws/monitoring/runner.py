"""``setup`` and ``show``: run every step in order against the customer's own account.

Both run with the customer's credentials (a named profile or boto3's default chain), never
the control plane's: the trail, the alarm and the role that CloudTrail assumes are the
customer's own guard over the role they gave flightdeck.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from flightdeck.aws.monitoring.alerting import (
    AlarmStep,
    MetricFilterStep,
    SubscriptionStep,
    TopicStep,
)
from flightdeck.aws.monitoring.delivery import DeliveryRoleStep, LogGroupStep, TrailStep
from flightdeck.aws.monitoring.errors import raise_for_aws_error
from flightdeck.aws.monitoring.model import (
    Action,
    MonitoringError,
    MonitorReport,
    MonitorSpec,
    ResourceReport,
)
from flightdeck.aws.monitoring.step import (
    PROPAGATION_DELAYS,
    MonitorContext,
    MonitorStep,
    Observation,
)
from flightdeck.aws.monitoring.storage import TrailBucketStep
from flightdeck.aws.monitoring.target import TRAIL_NAME, Target, partition_of
from flightdeck.aws.reference import COMMERCIAL_REGIONS, is_opt_in
from flightdeck.aws.session import DEFAULT_REGION, client, record_calls

if TYPE_CHECKING:
    import boto3

# Order matters: the trail needs the bucket policy, the log group and the role; the
# metric filter needs the log group; the alarm needs the topic.
STEPS: tuple[MonitorStep, ...] = (
    TrailBucketStep(),
    LogGroupStep(),
    DeliveryRoleStep(),
    TrailStep(),
    MetricFilterStep(),
    TopicStep(),
    SubscriptionStep(),
    AlarmStep(),
)
RESOURCES: tuple[str, ...] = tuple(step.resource for step in STEPS)

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_ENABLED = ("ENABLED", "ENABLED_BY_DEFAULT")


def setup(
    session: boto3.Session,
    spec: MonitorSpec,
    *,
    region: str | None = None,
    propagation_delays: Sequence[float] = PROPAGATION_DELAYS,
) -> MonitorReport:
    """Create what is missing and fix what drifted; a second run changes nothing.

    ``region`` is the trail's home region (default: the existing trail's, else the
    session's). Raises :class:`MonitoringError` with the next step for anything AWS refused.
    """
    if spec.email is None:
        raise MonitoringError(
            "--email: setup needs the address that receives the alarm", field="--email"
        )
    return _run(session, spec, region, apply=True, delays=propagation_delays)


def show(session: boto3.Session, spec: MonitorSpec, *, region: str | None = None) -> MonitorReport:
    """Each resource as it is: present, missing or drifted (and how). Read-only."""
    return _run(session, spec, region, apply=False, delays=())


def _run(
    session: boto3.Session,
    spec: MonitorSpec,
    region: str | None,
    *,
    apply: bool,
    delays: Sequence[float],
) -> MonitorReport:
    if region is not None and not _REGION.match(region):
        raise MonitoringError(
            f"--region: {region!r} is not an AWS region name such as us-east-1", field="--region"
        )
    home = region or session.region_name or DEFAULT_REGION
    with record_calls(session) as calls:
        try:
            target = _resolve_target(session, home, explicit=region is not None)
            home = target.region
            ctx = MonitorContext(session, target, spec, delays)
            reports = [_apply(step, ctx) if apply else _observe(step, ctx) for step in STEPS]
        except MonitoringError:
            raise
        except Exception as exc:
            raise_for_aws_error(exc, calls[-1] if calls else None, home, _is_opt_in(home))
            raise
    return MonitorReport(account_id=target.account_id, region=target.region, resources=reports)


def _report(step: MonitorStep, ctx: MonitorContext, observed: Observation) -> ResourceReport:
    return ResourceReport(
        resource=step.resource,
        name=step.name(ctx.target),
        state=observed.state,
        arn=observed.arn,
        differences=list(observed.differences.values()),
        detail=observed.detail,
    )


def _observe(step: MonitorStep, ctx: MonitorContext) -> ResourceReport:
    return _report(step, ctx, step.observe(ctx))


def _apply(step: MonitorStep, ctx: MonitorContext) -> ResourceReport:
    """Observe, create or fix, observe again: the report says what was found and done."""
    before = step.observe(ctx)
    if before.state == "present":
        report = _report(step, ctx, before)
        report.found, report.action = "present", "unchanged"
        return report
    action: Action = "created" if before.state == "missing" else "updated"
    changes = step.create(ctx) if before.state == "missing" else step.fix(ctx, before)
    after = step.observe(ctx)
    report = _report(step, ctx, after)
    report.found, report.action, report.changes = before.state, action, changes
    report.differences = list(before.differences.values())
    if after.differences:
        report.detail["still_different"] = list(after.differences.values())
    return report


def _resolve_target(session: boto3.Session, home: str, *, explicit: bool) -> Target:
    """Account and partition from STS; the home region of an existing trail wins."""
    caller = client(session, "sts", home).get_caller_identity()["Arn"]
    partition, account = partition_of(caller), caller.split(":")[4]
    _require_enabled(session, home)
    existing = _existing_home_region(session, home)
    if existing is not None and existing != home:
        if explicit:
            raise MonitoringError(
                f"--region: the trail {TRAIL_NAME} already exists with home region {existing}; "
                f"pass --region {existing} (or leave --region out)",
                field="--region",
            )
        home = existing
        _require_enabled(session, home)
    return Target(partition=partition, account_id=account, region=home)


def _existing_home_region(session: boto3.Session, region: str) -> str | None:
    """Where our multi-region trail lives, seen from any region through its shadow trail."""
    trails = client(session, "cloudtrail", region).describe_trails(
        trailNameList=[TRAIL_NAME], includeShadowTrails=True
    )["trailList"]
    for trail in trails:
        if trail.get("Name") == TRAIL_NAME:
            return str(trail.get("HomeRegion") or region)
    return None


def _is_opt_in(region: str) -> bool:
    """An opt-in region, or one flightdeck does not know (treated as possibly disabled)."""
    return is_opt_in(region) or region not in COMMERCIAL_REGIONS


def _require_enabled(session: boto3.Session, region: str) -> None:
    """Refuse an opt-in region the account has not enabled, before creating anything."""
    if not _is_opt_in(region):
        return
    try:
        status = client(session, "account", region).get_region_opt_status(RegionName=region)[
            "RegionOptStatus"
        ]
    except Exception:
        return  # not allowed to ask, or no Account API here: the calls themselves will tell
    if status not in _ENABLED:
        raise MonitoringError(
            f"--region: {region} is an opt-in region that is {str(status).lower()} in this "
            f"account; enable it (console: Account > AWS Regions, or `aws account "
            f"enable-region --region-name {region}`) and wait until it is ENABLED, or pass "
            "another --region",
            field="--region",
        )
