"""AWS refusals turned into one sentence the customer can act on.

The failing call is known from the session's call record, so an AccessDenied names the
exact IAM action that is missing rather than just the API.
"""

from __future__ import annotations

from flightdeck.aws.error_codes import error_code
from flightdeck.aws.monitoring.actions import iam_action
from flightdeck.aws.monitoring.model import MonitoringError
from flightdeck.aws.monitoring.target import DELIVERY_ROLE_NAME, TRAIL_NAME

DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "AuthorizationError", "UnauthorizedOperation"}
)
UNRECOGNISED = frozenset({"InvalidClientTokenId", "UnrecognizedClientException"})
EXPIRED = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
REGION_DISABLED = frozenset({"OptInRequired"})
ADMIN_HINT = (
    "`flightdeck aws monitor` must run with your own administrator credentials for this AWS "
    "account (pass --profile), not with flightdeck's cross-account role"
)


def raise_for_aws_error(
    exc: BaseException, call: tuple[str, str] | None, region: str, opt_in: bool
) -> None:
    """Raise a MonitoringError for an AWS error; leave anything else to the caller."""
    code = error_code(exc)
    if code is None:
        return
    message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", "")).strip()
    action = iam_action(call)
    if code in DENIED:
        extra = ""
        if action in ("cloudtrail:CreateTrail", "cloudtrail:UpdateTrail"):
            extra = (
                " (a trail that writes to CloudWatch Logs also needs iam:PassRole on "
                f"{DELIVERY_ROLE_NAME})"
            )
        raise MonitoringError(
            f"your AWS credentials may not call {action}{extra}; {ADMIN_HINT}"
        ) from exc
    if code in REGION_DISABLED or (code in UNRECOGNISED and opt_in):
        raise MonitoringError(
            f"the region {region} is not enabled in this AWS account; enable it (console: "
            f"Account > AWS Regions, or `aws account enable-region --region-name {region}`) "
            "or pass another --region"
        ) from exc
    if code in UNRECOGNISED:
        raise MonitoringError(
            "AWS does not recognise your access key; check it with "
            "`aws sts get-caller-identity --profile <name>`"
        ) from exc
    if code in EXPIRED:
        raise MonitoringError(
            "your AWS session has expired; sign in again (for SSO: `aws sso login`) and re-run"
        ) from exc
    if (
        call is not None
        and call[1] == "Subscribe"
        and code in ("InvalidParameter", "InvalidParameterException")
    ):
        raise MonitoringError(
            f"--email: SNS refused the address ({message}); give a valid e-mail address",
            field="--email",
        ) from exc
    if code == "TrailAlreadyExistsException":
        raise MonitoringError(
            f"a trail named {TRAIL_NAME} already exists with another home region; run "
            "`flightdeck aws monitor show` without --region to see where, then set up there"
        ) from exc
    if code == "MaximumNumberOfTrailsExceededException":
        raise MonitoringError(
            f"the region {region} already holds the most trails AWS allows (5); delete a trail "
            "you no longer need, or pass another --region"
        ) from exc
    if code in ("BucketAlreadyExists",):
        raise MonitoringError(
            f"the trail's bucket name is taken by another AWS account ({message}); "
            "a bucket of that name must be deleted by its owner before setup can finish"
        ) from exc
    if code in (
        "InsufficientS3BucketPolicyException",
        "InvalidCloudWatchLogsRoleArnException",
        "InvalidCloudWatchLogsLogGroupArnException",
    ):
        raise MonitoringError(
            f"CloudTrail cannot use the bucket or the log-delivery role yet ({code}: {message}); "
            "new IAM roles and policies take a minute to reach CloudTrail: run the command "
            "again shortly"
        ) from exc
    raise MonitoringError(f"AWS refused {action} ({code}): {message}") from exc
