"""Two kinds of failure, decided by AWS's error code in one table.

A step either retries later (:class:`TemporaryError`: throttling, capacity, eventual
consistency right after a create, a dependency still being torn down) or stops and tells
the user what to do (:class:`PermanentError`: access denied, a disabled region, a spec AWS
rejects). Codes not in the table are treated as temporary: an unknown failure is more often
a blip than a verdict, and the reconciler's growing backoff bounds the cost of being wrong.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from flightdeck.aws.error_codes import error_code

# What boto3 raises when AWS answers with an error (``AwsAnswered``) or cannot be reached or
# signed for (both): callers outside ``flightdeck.aws`` catch these names, never botocore's.
AwsAnswered = ClientError
AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)

ROLE_REMEDY = (
    "update the FlightdeckCrossAccountRole policy: run `flightdeck aws role create` again "
    "in the customer account, then retry the cluster"
)
SPEC_REMEDY = "correct the cluster request (instance types, region, CIDR) and retry"


class ProvisioningError(Exception):
    """Base of the two outcomes a failing step can have."""


class TemporaryError(ProvisioningError):
    """Retry after ``retry_after`` seconds (at least); nothing is wrong with the request."""

    def __init__(self, message: str, retry_after: float = 5.0, aws_code: str | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.aws_code = aws_code


class PermanentError(ProvisioningError):
    """Retrying cannot help; ``remedy`` is the sentence that tells the user what to do."""

    def __init__(self, message: str, remedy: str, aws_code: str | None = None):
        super().__init__(message)
        self.message = message
        self.remedy = remedy
        self.aws_code = aws_code


@dataclass(frozen=True)
class ErrorRule:
    """How one AWS error code is handled: temporary (with a minimum delay) or permanent."""

    temporary: bool
    retry_after: float = 0.0
    remedy: str = ""


def _temporary(retry_after: float) -> ErrorRule:
    return ErrorRule(temporary=True, retry_after=retry_after)


def _permanent(remedy: str) -> ErrorRule:
    return ErrorRule(temporary=False, remedy=remedy)


# The one table. Keys are AWS error codes as botocore reports them in Error.Code.
ERROR_RULES: dict[str, ErrorRule] = {
    # Throttling and service-side blips.
    "Throttling": _temporary(2),
    "ThrottlingException": _temporary(2),
    "ThrottledException": _temporary(2),
    "RequestLimitExceeded": _temporary(2),
    "TooManyRequestsException": _temporary(2),
    "RequestThrottled": _temporary(2),
    "RequestThrottledException": _temporary(2),
    "SlowDown": _temporary(2),
    "PriorRequestNotComplete": _temporary(2),
    "ServiceUnavailable": _temporary(5),
    "ServiceUnavailableException": _temporary(5),
    "InternalError": _temporary(5),
    "InternalFailure": _temporary(5),
    "ServerException": _temporary(5),
    "RequestTimeout": _temporary(5),
    "RequestTimeoutException": _temporary(5),
    # Capacity: AWS may have room a few minutes later.
    "InsufficientInstanceCapacity": _temporary(60),
    "InsufficientDBInstanceCapacity": _temporary(60),
    "InsufficientCapacityException": _temporary(60),
    "InsufficientAddressCapacity": _temporary(60),
    # Eventual consistency: an id we just created is not visible everywhere yet.
    "InvalidVpcID.NotFound": _temporary(3),
    "InvalidSubnetID.NotFound": _temporary(3),
    "InvalidInternetGatewayID.NotFound": _temporary(3),
    "InvalidNatGatewayID.NotFound": _temporary(3),
    "NatGatewayNotFound": _temporary(3),
    "InvalidAllocationID.NotFound": _temporary(3),
    "InvalidRouteTableID.NotFound": _temporary(3),
    "InvalidGroup.NotFound": _temporary(3),
    "InvalidVpcEndpointId.NotFound": _temporary(3),
    "InvalidGatewayID.NotFound": _temporary(3),
    "DBSubnetGroupNotFoundFault": _temporary(3),
    "InvalidDBInstanceState": _temporary(15),
    "InvalidDBSubnetGroupStateFault": _temporary(15),
    "ResourceInUseException": _temporary(15),
    "ResourceNotReady": _temporary(15),
    "IncorrectState": _temporary(10),
    "IncorrectInstanceState": _temporary(10),
    "ConcurrentModification": _temporary(5),
    "ConcurrentModificationException": _temporary(5),
    "OperationAborted": _temporary(5),
    # Deletion order: a dependent resource is still going away.
    "DependencyViolation": _temporary(15),
    "InvalidParameterException.InUse": _temporary(15),
    "DeleteConflict": _temporary(10),
    "InvalidIPAddress.InUse": _temporary(10),
    # EKS needs a role seconds after IAM created it; its message says "cannot be assumed".
    "InvalidParameterException.RoleNotReady": _temporary(10),
    # Credentials and permissions: the customer role must change.
    "AccessDenied": _permanent(ROLE_REMEDY),
    "AccessDeniedException": _permanent(ROLE_REMEDY),
    "UnauthorizedOperation": _permanent(ROLE_REMEDY),
    "UnauthorizedAccess": _permanent(ROLE_REMEDY),
    "AuthFailure": _permanent(
        "the assumed-role credentials were rejected: check that the account id is right and "
        "run `flightdeck aws role create` again; in an opt-in region, enable the region first"
    ),
    "InvalidClientTokenId": _permanent(
        "the credentials are not valid in this region: enable the region for the account "
        "(AWS console → Account → AWS Regions → Enable) and retry"
    ),
    "UnrecognizedClientException": _permanent(
        "the credentials are not valid in this region: enable the region for the account "
        "(AWS console → Account → AWS Regions → Enable) and retry"
    ),
    "OptInRequired": _permanent(
        "the account is not subscribed to this service or region: enable the region "
        "(AWS console → Account → AWS Regions → Enable) or accept the service terms, then retry"
    ),
    "SignatureDoesNotMatch": _permanent(ROLE_REMEDY),
    # The request itself is wrong: a spec AWS will never accept.
    "InvalidParameterValue": _permanent(SPEC_REMEDY),
    "InvalidParameterCombination": _permanent(SPEC_REMEDY),
    "InvalidParameter": _permanent(SPEC_REMEDY),
    "InvalidParameterException": _permanent(SPEC_REMEDY),
    "ValidationError": _permanent(SPEC_REMEDY),
    "ValidationException": _permanent(SPEC_REMEDY),
    "InvalidRequestException": _permanent(SPEC_REMEDY),
    "MalformedPolicyDocument": _permanent(SPEC_REMEDY),
    "InvalidVpcRange": _permanent("choose a VPC CIDR between /16 and /19 in a private range"),
    "InvalidSubnet.Range": _permanent(SPEC_REMEDY),
    "InvalidSubnet.Conflict": _permanent(
        "a subnet that flightdeck did not create overlaps the plan: choose another VPC CIDR"
    ),
    "Unsupported": _permanent(SPEC_REMEDY),
    "UnsupportedOperation": _permanent(SPEC_REMEDY),
    "UnsupportedAvailabilityZoneException": _permanent(
        "EKS does not support one of the chosen availability zones: retry, flightdeck skips "
        "zones EKS rejects, or choose another region"
    ),
    "InvalidDBInstanceClass": _permanent(SPEC_REMEDY),
    "StorageTypeNotSupported": _permanent(SPEC_REMEDY),
    "InvalidBucketName": _permanent(SPEC_REMEDY),
    "BucketAlreadyExists": _permanent(
        "the log bucket name is taken by another AWS account: contact flightdeck support"
    ),
    # Quotas: someone has to raise a limit; retrying will not.
    "VpcLimitExceeded": _permanent(
        "raise the VPCs-per-region quota in Service Quotas or delete an unused VPC"
    ),
    "AddressLimitExceeded": _permanent(
        "raise the Elastic IP quota in Service Quotas or release unused addresses"
    ),
    "NatGatewayLimitExceeded": _permanent("raise the NAT gateways-per-AZ quota"),
    "InternetGatewayLimitExceeded": _permanent("raise the internet gateways-per-region quota"),
    "LimitExceeded": _permanent("raise the AWS service quota named in the message"),
    "LimitExceededException": _permanent("raise the AWS service quota named in the message"),
    "ResourceLimitExceededException": _permanent("raise the AWS service quota in the message"),
    "InstanceQuotaExceeded": _permanent("raise the RDS DB instances quota"),
    "DBInstanceQuotaExceeded": _permanent("raise the RDS DB instances quota"),
    "ServiceLimitExceeded": _permanent("raise the AWS service quota named in the message"),
    "EntityAlreadyExists": _permanent(
        "an IAM role with flightdeck's name exists but belongs to another cluster: delete it"
    ),
}

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0


def error_message(error: Exception) -> str:
    """AWS's own message, which users can search for; falls back to ``str(error)``."""
    response: Any = getattr(error, "response", None)
    if isinstance(response, dict):
        message = response.get("Error", {}).get("Message")
        if message:
            return str(message)
    return str(error)


def classify(error: Exception) -> TemporaryError | PermanentError:
    """Turn a botocore ``ClientError`` into the outcome its AWS error code calls for."""
    code = error_code(error) or ""
    message = error_message(error)
    rule = ERROR_RULES.get(code)
    if code == "InvalidParameterException" and "assume" in message.lower():
        # EKS answers this for a role IAM created seconds ago: consistency, not a bad spec.
        rule = ERROR_RULES["InvalidParameterException.RoleNotReady"]
    if rule is None:
        status = _http_status(error)
        if status is not None and status >= 500:
            rule = _temporary(5)
        elif status == 403:
            rule = ERROR_RULES["AccessDenied"]
        else:
            rule = _temporary(10)
    text = f"{code}: {message}" if code else message
    if rule.temporary:
        return TemporaryError(text, retry_after=rule.retry_after, aws_code=code or None)
    return PermanentError(text, remedy=rule.remedy, aws_code=code or None)


def _http_status(error: Exception) -> int | None:
    response: Any = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if isinstance(status, int) else None


def backoff(attempt: int, *, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)].

    Full jitter spreads retries of many clusters hitting the same throttle, which a fixed
    exponential schedule would synchronise into waves.
    """
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * (2 ** max(0, min(attempt, 30))))
    return (rng or random).uniform(0.0, ceiling)
