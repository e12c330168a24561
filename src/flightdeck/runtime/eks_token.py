"""A bearer token for an EKS cluster's Kubernetes API, from an AWS session.

EKS accepts ``k8s-aws-v1.<base64url of a presigned STS GetCallerIdentity URL>``: the API
server calls that URL and maps the identity it answers to Kubernetes users. The cluster name
travels in the signed ``x-k8s-aws-id`` header, so a token for one cluster is refused by
another. The URL is presigned for 60 seconds (EKS honours a token for 15 minutes from
signing), so callers ask for a fresh token per operation rather than caching one.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3

TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_HEADER = "x-k8s-aws-id"
PRESIGN_SECONDS = 60


def sts_endpoint(region: str) -> str:
    """The regional STS endpoint EKS's authenticator accepts (never a custom endpoint)."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://sts.{region}.{suffix}"


def eks_token(session: boto3.Session, cluster_name: str, region: str) -> str:
    """Sign with ``session``'s credentials (the customer role); no network call is made."""
    sts = session.client("sts", region_name=region, endpoint_url=sts_endpoint(region))

    def add_cluster_header(request: Any, **_: Any) -> None:
        request.headers[CLUSTER_HEADER] = cluster_name

    # before-sign runs inside the presigner, so the header is part of the signature.
    sts.meta.events.register("before-sign.sts.GetCallerIdentity", add_cluster_header)
    url: str = sts.generate_presigned_url(
        "get_caller_identity", Params={}, ExpiresIn=PRESIGN_SECONDS, HttpMethod="GET"
    )
    encoded = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    return TOKEN_PREFIX + encoded
