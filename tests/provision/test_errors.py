"""Classification by AWS error code, and the jittered backoff."""

from __future__ import annotations

import random

import pytest
from botocore.exceptions import ClientError

from flightdeck.aws.provision.errors import (
    BACKOFF_CAP_SECONDS,
    ROLE_REMEDY,
    PermanentError,
    TemporaryError,
    backoff,
    classify,
)


def client_error(code: str, message: str = "boom", status: int = 400) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "CreateVpc",
    )


@pytest.mark.parametrize(
    "code",
    [
        "Throttling",
        "RequestLimitExceeded",
        "InsufficientInstanceCapacity",
        "InvalidVpcID.NotFound",
        "DependencyViolation",
        "InternalError",
    ],
)
def test_temporary_codes(code: str) -> None:
    error = classify(client_error(code))
    assert isinstance(error, TemporaryError)
    assert error.aws_code == code
    assert error.retry_after > 0


@pytest.mark.parametrize(
    "code",
    [
        "AccessDenied",
        "UnauthorizedOperation",
        "AuthFailure",
        "OptInRequired",
        "InvalidParameterCombination",
        "InvalidParameterValue",
        "VpcLimitExceeded",
    ],
)
def test_permanent_codes_carry_aws_message_and_a_remedy(code: str) -> None:
    error = classify(client_error(code, "You are not authorized"))
    assert isinstance(error, PermanentError)
    assert "You are not authorized" in error.message
    assert error.remedy
    assert error.aws_code == code


def test_access_denied_points_at_role_create() -> None:
    error = classify(client_error("AccessDenied"))
    assert isinstance(error, PermanentError)
    assert error.remedy == ROLE_REMEDY
    assert "flightdeck aws role create" in error.remedy


def test_eks_role_not_yet_assumable_is_temporary() -> None:
    error = classify(
        client_error("InvalidParameterException", "Role arn:... cannot be assumed by EKS")
    )
    assert isinstance(error, TemporaryError)


def test_unknown_codes_retry_and_server_errors_retry() -> None:
    assert isinstance(classify(client_error("SomethingNew")), TemporaryError)
    assert isinstance(classify(client_error("", status=503)), TemporaryError)


def test_backoff_is_full_jitter_and_capped() -> None:
    rng = random.Random(1)
    samples = [backoff(3, rng=rng) for _ in range(200)]
    assert all(0 <= s <= 16 for s in samples)
    assert len({round(s, 3) for s in samples}) > 150
    assert max(backoff(50, rng=rng) for _ in range(200)) <= BACKOFF_CAP_SECONDS
    assert max(backoff(50, rng=rng) for _ in range(200)) > BACKOFF_CAP_SECONDS / 2
