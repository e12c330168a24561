"""The one declared list of AWS actions flightdeck performs in a customer account.

Every provisioning step, verification probe and preflight check declares here what it
calls; the least-privilege managed policy ``FlightdeckCrossAccountRole`` and the preflight
permission list are generated from this list, and a test fails when code calls an action
that is not declared. Change a step's calls, change this list, bump ``POLICY_VERSION``.
"""

from __future__ import annotations

from typing import Any

POLICY_VERSION = "2026-11-21"
ROLE_NAME = "flightdeck-remote-management"
MANAGED_POLICY_NAME = "FlightdeckCrossAccountRole"
RESOURCE_PREFIX = "flightdeck-"

# Step name -> actions. Step names match the reconcile steps in ``flightdeck.aws.provision``.
PERMISSIONS_BY_STEP: dict[str, tuple[str, ...]] = {
    "verify": (
        "iam:GetRole",
        "iam:ListAttachedRolePolicies",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
        "sts:GetCallerIdentity",
    ),
    "preflight": (
        "servicequotas:GetServiceQuota",
        "account:GetRegionOptStatus",
        "account:EnableRegion",
        "ec2:DescribeRegions",
        "ec2:DescribeInstances",
        "ec2:DescribeVpcs",
        "eks:ListClusters",
        "rds:DescribeDBInstances",
        "cloudformation:ListStacks",
    ),
    "vpc": (
        "ec2:CreateVpc",
        "ec2:DescribeVpcs",
        "ec2:ModifyVpcAttribute",
        "ec2:DeleteVpc",
        "ec2:CreateTags",
    ),
    "subnets": (
        "ec2:DescribeAvailabilityZones",
        "ec2:CreateSubnet",
        "ec2:DescribeSubnets",
        "ec2:DeleteSubnet",
        "ec2:CreateTags",
    ),
    "internet_gateway": (
        "ec2:CreateInternetGateway",
        "ec2:DescribeInternetGateways",
        "ec2:AttachInternetGateway",
        "ec2:DetachInternetGateway",
        "ec2:DeleteInternetGateway",
        "ec2:CreateTags",
    ),
    "nat_gateways": (
        "ec2:AllocateAddress",
        "ec2:DescribeAddresses",
        "ec2:ReleaseAddress",
        "ec2:CreateNatGateway",
        "ec2:DescribeNatGateways",
        "ec2:DeleteNatGateway",
        "ec2:CreateTags",
    ),
    "route_tables": (
        "ec2:CreateRouteTable",
        "ec2:DescribeRouteTables",
        "ec2:CreateRoute",
        "ec2:ReplaceRoute",
        "ec2:AssociateRouteTable",
        "ec2:DisassociateRouteTable",
        "ec2:DeleteRouteTable",
        "ec2:CreateTags",
    ),
    "security_groups": (
        "ec2:CreateSecurityGroup",
        "ec2:DescribeSecurityGroups",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:DeleteSecurityGroup",
        "ec2:CreateTags",
    ),
    "vpc_endpoints": (
        "ec2:CreateVpcEndpoint",
        "ec2:DescribeVpcEndpoints",
        "ec2:DeleteVpcEndpoints",
        "ec2:CreateTags",
    ),
    "iam_roles": (
        "iam:CreateRole",
        "iam:GetRole",
        "iam:TagRole",
        "iam:AttachRolePolicy",
        "iam:DetachRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:DeleteRole",
        "iam:PassRole",
    ),
    "eks_cluster": (
        "eks:CreateCluster",
        "eks:DescribeCluster",
        "eks:DeleteCluster",
        "eks:TagResource",
    ),
    "node_groups": (
        "eks:CreateNodegroup",
        "eks:DescribeNodegroup",
        "eks:ListNodegroups",
        "eks:UpdateNodegroupConfig",
        "eks:DeleteNodegroup",
        "eks:TagResource",
    ),
    "database": (
        "rds:CreateDBSubnetGroup",
        "rds:DescribeDBSubnetGroups",
        "rds:DeleteDBSubnetGroup",
        "rds:CreateDBInstance",
        "rds:DescribeDBInstances",
        "rds:DeleteDBInstance",
        "rds:AddTagsToResource",
    ),
    "log_bucket": (
        "s3:CreateBucket",
        "s3:ListBucket",
        "s3:PutEncryptionConfiguration",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketTagging",
        "s3:GetBucketTagging",
        "s3:DeleteBucket",
        "s3:DeleteObject",
    ),
    "tag_scan": ("tag:GetResources",),
}


def all_actions() -> list[str]:
    """Every declared action, sorted and de-duplicated."""
    return sorted({action for actions in PERMISSIONS_BY_STEP.values() for action in actions})


def managed_policy_document() -> dict[str, Any]:
    """The IAM policy document of ``FlightdeckCrossAccountRole``: one statement per step."""
    statements = []
    for step, actions in PERMISSIONS_BY_STEP.items():
        statements.append(
            {
                "Sid": "".join(part.capitalize() for part in step.split("_")),
                "Effect": "Allow",
                "Action": sorted(set(actions)),
                "Resource": "*",
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
