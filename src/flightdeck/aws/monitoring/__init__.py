"""Customer-side monitoring of the flightdeck cross-account role: the customer sees, in
their own account, every change made to the role or its policy.

With the customer's own credentials: a multi-region CloudTrail trail into an S3 bucket and a
CloudWatch Logs log group, a metric filter for changes to the role or its policy, an alarm
and an e-mail SNS topic. ``setup`` converges on that, ``show`` reports it. Every client
comes from :mod:`flightdeck.aws.session`, so the emulator endpoint is honoured.
"""

from __future__ import annotations

from flightdeck.aws.monitoring.actions import REQUIRED_ACTIONS
from flightdeck.aws.monitoring.model import (
    DEFAULT_RETENTION_DAYS,
    MonitoringError,
    MonitorReport,
    MonitorSpec,
    ResourceReport,
    normalise_email,
)
from flightdeck.aws.monitoring.runner import RESOURCES, STEPS, setup, show

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "REQUIRED_ACTIONS",
    "RESOURCES",
    "STEPS",
    "MonitorReport",
    "MonitorSpec",
    "MonitoringError",
    "ResourceReport",
    "normalise_email",
    "setup",
    "show",
]
