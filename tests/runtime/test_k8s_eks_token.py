"""The EKS bearer token, built by the real botocore presigner and taken apart here: prefix,
base64url without padding, STS host and query, 60-second expiry, the signed cluster header,
and a SigV4 signature recomputed independently from the secret key."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qs, quote, urlsplit

import boto3
import pytest

from flightdeck.runtime.eks_token import eks_token

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def session(token: str | None = None) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=token,
        region_name="eu-west-1",
    )


def decode(token: str) -> str:
    assert token.startswith("k8s-aws-v1.")
    body = token.removeprefix("k8s-aws-v1.")
    assert "=" not in body  # EKS wants the padding stripped
    assert set(body) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def expected_signature(url: str, cluster: str, secret: str) -> str:
    """SigV4 for a presigned GET, written out from the AWS documentation."""
    parts = urlsplit(url)
    query = parse_qs(parts.query, keep_blank_values=True)
    pairs = sorted(
        (quote(k, safe="-_.~"), quote(v[0], safe="-_.~"))
        for k, v in query.items()
        if k != "X-Amz-Signature"
    )
    canonical_query = "&".join(f"{k}={v}" for k, v in pairs)
    canonical_request = "\n".join(
        [
            "GET",
            parts.path or "/",
            canonical_query,
            f"host:{parts.netloc}\nx-k8s-aws-id:{cluster}\n",
            "host;x-k8s-aws-id",
            hashlib.sha256(b"").hexdigest(),
        ]
    )
    amz_date = query["X-Amz-Date"][0]
    scope = query["X-Amz-Credential"][0].split("/", 1)[1]
    date, region, service, _ = scope.split("/")
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _hmac(("AWS4" + secret).encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def test_token_is_a_presigned_get_caller_identity_for_the_cluster() -> None:
    url = decode(eks_token(session(), "flightdeck-c-1", "eu-west-1"))
    parts = urlsplit(url)
    assert parts.scheme == "https"
    assert parts.netloc == "sts.eu-west-1.amazonaws.com"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["Action"] == "GetCallerIdentity"
    assert query["Version"] == "2011-06-15"
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == "60"
    assert query["X-Amz-SignedHeaders"] == "host;x-k8s-aws-id"
    assert query["X-Amz-Credential"].startswith(f"{ACCESS_KEY}/")
    assert query["X-Amz-Credential"].endswith("/eu-west-1/sts/aws4_request")
    assert "X-Amz-Security-Token" not in query
    assert query["X-Amz-Signature"] == expected_signature(url, "flightdeck-c-1", SECRET_KEY)


def test_signature_binds_the_cluster_name() -> None:
    url = decode(eks_token(session(), "flightdeck-c-1", "eu-west-1"))
    signature = parse_qs(urlsplit(url).query)["X-Amz-Signature"][0]
    assert signature != expected_signature(url, "flightdeck-c-2", SECRET_KEY)


def test_assumed_role_credentials_carry_their_session_token() -> None:
    url = decode(eks_token(session("FQoGZXIvYXdzE-session"), "c", "us-east-1"))
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Security-Token"] == ["FQoGZXIvYXdzE-session"]
    assert query["X-Amz-Signature"][0] == expected_signature(url, "c", SECRET_KEY)


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("ap-southeast-2", "sts.ap-southeast-2.amazonaws.com"),
        ("cn-north-1", "sts.cn-north-1.amazonaws.com.cn"),
    ],
)
def test_regional_sts_host_even_when_aws_endpoint_url_points_elsewhere(
    region: str, host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    url = decode(eks_token(session(), "c", region))
    assert urlsplit(url).netloc == host
