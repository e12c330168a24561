"""The one declared list of AWS actions flightdeck performs in a customer account.

Every provisioning step, verification probe and preflight check declares here what it
calls; the least-privilege managed policy ``FlightdeckCrossAccountRole`` and the preflight
permission list are generated from this list, and a test fails when code calls an action
that is not declared. Change a step's calls, change this list, then publish a version:
bump ``POLICY_VERSION`` and add ``policy_versions/<version>.json`` and its CHANGELOG entry
(a test fails until the stored latest version equals :func:`managed_policy_document`).
"""

from __future__ import annotations

import json
from typing import Any

POLICY_VERSION = "2026-12-01.7"
# The first published version that grants the ``peering`` step: a peering is requested on an
# account only once this version (or a later one) is in force there.
PEERING_POLICY_VERSION = "2026-12-01.7"
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
        "ec2:DescribeVpcs",
        "ec2:CreateInternetGateway",
    ),
    "preflight": (
        "servicequotas:GetServiceQuota",
        "servicequotas:GetAWSDefaultServiceQuota",
        "iam:SimulatePrincipalPolicy",
        "sts:GetCallerIdentity",
        "account:GetRegionOptStatus",
        "account:EnableRegion",
        "ec2:DescribeRegions",
        "ec2:DescribeInstances",
        "ec2:DescribeVpcs",
        "eks:ListClusters",
        "rds:DescribeDBInstances",
        "cloudformation:ListStacks",
    ),
    # Step names below match ``flightdeck.aws.provision.STEP_NAMES``; each lists exactly the
    # actions that step's ensure, delete, plan and verify perform, including the actions
    # AWS checks implicitly (tag-on-create, PassRole, service-linked roles): see
    # ``IMPLIED_ACTIONS``. tests/provision/test_declared_permissions.py keeps this true.
    "region": (
        "account:GetRegionOptStatus",
        "account:EnableRegion",
    ),
    "vpc": (
        "ec2:DescribeVpcs",
        "ec2:CreateVpc",
        "ec2:CreateTags",
        "ec2:ModifyVpcAttribute",
        "ec2:DeleteVpc",
    ),
    "subnets": (
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeSubnets",
        "ec2:CreateSubnet",
        "ec2:CreateTags",
        "ec2:DeleteSubnet",
    ),
    "internet_gateway": (
        "ec2:DescribeInternetGateways",
        "ec2:CreateInternetGateway",
        "ec2:CreateTags",
        "ec2:AttachInternetGateway",
        "ec2:DetachInternetGateway",
        "ec2:DeleteInternetGateway",
    ),
    "nat_gateways": (
        "ec2:DescribeNatGateways",
        "ec2:DescribeAddresses",
        "ec2:AllocateAddress",
        "ec2:CreateTags",
        "ec2:CreateNatGateway",
        "ec2:DeleteNatGateway",
        "ec2:ReleaseAddress",
    ),
    "route_tables": (
        "ec2:DescribeRouteTables",
        "ec2:CreateRouteTable",
        "ec2:CreateTags",
        "ec2:CreateRoute",
        "ec2:ReplaceRoute",
        "ec2:AssociateRouteTable",
        "ec2:DisassociateRouteTable",
        "ec2:DeleteRouteTable",
    ),
    "security_groups": (
        "ec2:DescribeSecurityGroups",
        "ec2:CreateSecurityGroup",
        "ec2:CreateTags",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:DeleteSecurityGroup",
    ),
    "vpc_endpoints": (
        "ec2:DescribeVpcEndpoints",
        "ec2:CreateVpcEndpoint",
        "ec2:CreateTags",
        "ec2:ModifyVpcEndpoint",
        "ec2:DeleteVpcEndpoints",
        "route53:AssociateVPCWithHostedZone",
    ),
    "iam_roles": (
        "iam:GetRole",
        "iam:CreateRole",
        "iam:TagRole",
        "iam:ListAttachedRolePolicies",
        "iam:AttachRolePolicy",
        "iam:DetachRolePolicy",
        "iam:DeleteRole",
    ),
    "eks_cluster": (
        "eks:DescribeCluster",
        "eks:CreateCluster",
        "eks:TagResource",
        "eks:DeleteCluster",
        "iam:PassRole",
        "iam:CreateServiceLinkedRole",
    ),
    "node_groups": (
        "eks:DescribeCluster",
        "eks:DescribeNodegroup",
        "eks:ListNodegroups",
        "eks:CreateNodegroup",
        "eks:TagResource",
        "eks:UpdateNodegroupConfig",
        "eks:DeleteNodegroup",
        "iam:PassRole",
        "iam:CreateServiceLinkedRole",
    ),
    "database": (
        "rds:DescribeDBInstances",
        "rds:DescribeDBSubnetGroups",
        "rds:CreateDBSubnetGroup",
        "rds:CreateDBInstance",
        "rds:AddTagsToResource",
        "rds:ModifyDBInstance",
        "rds:DeleteDBInstance",
        "rds:CreateDBSnapshot",
        "rds:DeleteDBSubnetGroup",
        "iam:CreateServiceLinkedRole",
        "secretsmanager:CreateSecret",
        "secretsmanager:TagResource",
    ),
    "log_bucket": (
        "s3:ListBucket",
        "s3:CreateBucket",
        "s3:GetBucketTagging",
        "s3:PutBucketTagging",
        "s3:GetEncryptionConfiguration",
        "s3:PutEncryptionConfiguration",
        "s3:GetBucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
        "s3:DeleteObject",
        "s3:DeleteBucket",
    ),
    # The governance pass (``flightdeck.aws.role_policy``): read the role to detect drift,
    # and install published policy versions on the role's own managed policy.
    "governance": (
        "iam:GetRole",
        "iam:ListAttachedRolePolicies",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
        "iam:ListPolicyVersions",
        "iam:CreatePolicyVersion",
        "iam:SetDefaultPolicyVersion",
        "iam:DeletePolicyVersion",
    ),
    # VPC peering (``flightdeck.aws.peering`` and its rules and DNS modules): the peering
    # pass's calls, granted from policy version ``PEERING_POLICY_VERSION`` on.
    "peering": (
        "ec2:DescribeVpcPeeringConnections",
        "ec2:CreateVpcPeeringConnection",
        "ec2:CreateTags",
        "ec2:DeleteVpcPeeringConnection",
        "ec2:DescribeRouteTables",
        "ec2:CreateRoute",
        "ec2:ReplaceRoute",
        "ec2:DeleteRoute",
        "ec2:DescribeSecurityGroups",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:CreateSecurityGroup",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:DeleteSecurityGroup",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "ec2:DescribeAvailabilityZones",
        "route53resolver:ListResolverEndpoints",
        "route53resolver:CreateResolverEndpoint",
        "route53resolver:DeleteResolverEndpoint",
        "route53resolver:ListResolverRules",
        "route53resolver:CreateResolverRule",
        "route53resolver:DeleteResolverRule",
        "route53resolver:AssociateResolverRule",
        "route53resolver:DisassociateResolverRule",
        "route53resolver:ListResolverRuleAssociations",
        "route53resolver:ListTagsForResource",
        "route53resolver:TagResource",
    ),
    "tag_scan": (
        "ec2:DescribeVpcs",
        "ec2:DescribeSubnets",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeNatGateways",
        "ec2:DescribeAddresses",
        "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeVpcEndpoints",
        "iam:ListRoles",
        "eks:DescribeCluster",
        "eks:ListNodegroups",
        "rds:DescribeDBInstances",
        "rds:DescribeDBSubnetGroups",
        "s3:ListBucket",
        "tag:GetResources",
    ),
}

# What the customer's own credentials need for ``flightdeck aws peering accept`` and
# ``validate`` in the peer VPC's account (never granted to the role; docs/peering.md).
CUSTOMER_PEERING_ACTIONS: tuple[str, ...] = (
    "ec2:DescribeVpcPeeringConnections",
    "ec2:AcceptVpcPeeringConnection",
    "ec2:ModifyVpcPeeringConnectionOptions",
    "ec2:DescribeRouteTables",
    "ec2:CreateRoute",
    "ec2:ReplaceRoute",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeSecurityGroups",
)

# IAM action prefix of each boto3 service name, where they differ.
SERVICE_PREFIXES: dict[str, str] = {"resourcegroupstaggingapi": "tag"}

# API operations whose IAM action has another name (S3 mostly). Anything not listed maps
# to ``<prefix>:<OperationName>``.
ACTION_NAMES: dict[tuple[str, str], str] = {
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "PutBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
}

# Actions AWS authorises in addition to the operation's own, when a parameter is present
# (``None``: always). Tagging at creation needs the tagging action; handing a role to a
# service needs iam:PassRole; the first EKS cluster, node group or RDS instance of an
# account creates a service-linked role; RDS-managed master passwords live in Secrets
# Manager; private DNS of an interface endpoint associates a Route 53 private zone.
IMPLIED_ACTIONS: dict[tuple[str, str], tuple[tuple[str | None, str], ...]] = {
    **{
        ("ec2", operation): (("TagSpecifications", "ec2:CreateTags"),)
        for operation in (
            "CreateVpc",
            "CreateSubnet",
            "CreateInternetGateway",
            "AllocateAddress",
            "CreateNatGateway",
            "CreateRouteTable",
            "CreateSecurityGroup",
            "CreateVpcPeeringConnection",
        )
    },
    # Tagging a security group rule is not needed: the rules are found by description.
    **{
        ("route53resolver", operation): (("Tags", "route53resolver:TagResource"),)
        for operation in ("CreateResolverRule",)
    },
    # A Resolver endpoint is network interfaces in the subnets, made by the caller's rights.
    ("route53resolver", "CreateResolverEndpoint"): (
        ("Tags", "route53resolver:TagResource"),
        (None, "ec2:CreateNetworkInterface"),
        (None, "ec2:DescribeNetworkInterfaces"),
        (None, "ec2:DescribeSubnets"),
        (None, "ec2:DescribeSecurityGroups"),
        (None, "ec2:DescribeVpcs"),
        (None, "ec2:DescribeAvailabilityZones"),
    ),
    ("route53resolver", "DeleteResolverEndpoint"): (
        (None, "ec2:DeleteNetworkInterface"),
        (None, "ec2:DescribeNetworkInterfaces"),
    ),
    ("route53resolver", "AssociateResolverRule"): ((None, "ec2:DescribeVpcs"),),
    ("ec2", "CreateVpcEndpoint"): (
        ("TagSpecifications", "ec2:CreateTags"),
        ("PrivateDnsEnabled", "route53:AssociateVPCWithHostedZone"),
    ),
    ("iam", "CreateRole"): (("Tags", "iam:TagRole"),),
    ("eks", "CreateCluster"): (
        ("tags", "eks:TagResource"),
        ("roleArn", "iam:PassRole"),
        (None, "iam:CreateServiceLinkedRole"),
    ),
    ("eks", "CreateNodegroup"): (
        ("tags", "eks:TagResource"),
        ("nodeRole", "iam:PassRole"),
        (None, "iam:CreateServiceLinkedRole"),
    ),
    ("rds", "CreateDBSubnetGroup"): (("Tags", "rds:AddTagsToResource"),),
    # A deletion with a final snapshot creates that snapshot.
    ("rds", "DeleteDBInstance"): (("FinalDBSnapshotIdentifier", "rds:CreateDBSnapshot"),),
    ("rds", "CreateDBInstance"): (
        ("Tags", "rds:AddTagsToResource"),
        (None, "iam:CreateServiceLinkedRole"),
        ("ManageMasterUserPassword", "secretsmanager:CreateSecret"),
        ("ManageMasterUserPassword", "secretsmanager:TagResource"),
    ),
}


def iam_actions_for_call(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """The IAM actions AWS checks for one API call of boto3 ``service`` (e.g. ``"ec2"``)."""
    prefix = SERVICE_PREFIXES.get(service, service)
    actions = [ACTION_NAMES.get((service, operation), f"{prefix}:{operation}")]
    for parameter, action in IMPLIED_ACTIONS.get((service, operation), ()):
        if parameter is None or params.get(parameter):
            actions.append(action)
    return actions


# Steps a cluster works without: a role missing only their actions (it still holds an
# earlier policy version while the newer one's notice runs) is usable, with a warning.
OPTIONAL_STEPS = ("peering",)


def optional_actions() -> set[str]:
    """Actions no step outside :data:`OPTIONAL_STEPS` needs."""
    needed = {
        a for step, acts in PERMISSIONS_BY_STEP.items() if step not in OPTIONAL_STEPS for a in acts
    }
    return {a for step in OPTIONAL_STEPS for a in PERMISSIONS_BY_STEP[step]} - needed


def all_actions() -> list[str]:
    """Every declared action, sorted and de-duplicated."""
    return sorted({action for actions in PERMISSIONS_BY_STEP.values() for action in actions})


# Actions that can reach beyond flightdeck's own resources get a narrower statement:
# action -> (resources, condition). Everything else in a step is granted on "*" (most EC2,
# EKS and RDS actions cannot be scoped before the resource exists; they are tag-checked by
# the engine instead).
_CLUSTER_ROLES = "arn:aws:iam::*:role/flightdeck-*"
_BUCKETS = ("arn:aws:s3:::fd-logs-*", "arn:aws:s3:::fd-logs-*/*")  # log_bucket_name()
_OWN_POLICY = f"arn:aws:iam::*:policy/{MANAGED_POLICY_NAME}"
EKS_MANAGED_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
)
SCOPED_ACTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any] | None]] = {
    "iam:CreateRole": ((_CLUSTER_ROLES,), None),
    "iam:TagRole": ((_CLUSTER_ROLES,), None),
    "iam:DeleteRole": ((_CLUSTER_ROLES,), None),
    "iam:AttachRolePolicy": (
        (_CLUSTER_ROLES,),
        {"ArnEquals": {"iam:PolicyARN": list(EKS_MANAGED_POLICIES)}},
    ),
    "iam:DetachRolePolicy": (
        (_CLUSTER_ROLES,),
        {"ArnEquals": {"iam:PolicyARN": list(EKS_MANAGED_POLICIES)}},
    ),
    "iam:PassRole": (
        (_CLUSTER_ROLES,),
        {"StringEquals": {"iam:PassedToService": ["eks.amazonaws.com", "ec2.amazonaws.com"]}},
    ),
    "iam:CreateServiceLinkedRole": (
        ("*",),
        {
            "StringEquals": {
                "iam:AWSServiceName": [
                    "eks.amazonaws.com",
                    "eks-nodegroup.amazonaws.com",
                    "rds.amazonaws.com",
                    "elasticloadbalancing.amazonaws.com",
                    "autoscaling.amazonaws.com",
                ]
            }
        },
    ),
}
for _action in (
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:DeleteObject",
    "s3:PutBucketTagging",
    "s3:PutEncryptionConfiguration",
    "s3:PutBucketPublicAccessBlock",
):
    SCOPED_ACTIONS[_action] = (_BUCKETS, None)
# Published policy versions are installed through the role itself, on its own managed
# policy only; the customer's CloudTrail alarm on the role watches every one of them.
POLICY_VERSION_ACTIONS = (
    "iam:ListPolicyVersions",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:DeletePolicyVersion",
)
for _action in POLICY_VERSION_ACTIONS:
    SCOPED_ACTIONS[_action] = ((_OWN_POLICY,), None)

# The platform may never loosen its own leash: whatever else is allowed, changes to this
# role (trust policy, attachments, inline policies, tags) and deleting its policy are
# denied. New policy versions are the one way in, allowed above on the policy alone; the
# control plane installs an expanding one only 14 days after every Owner was told.
SELF_PROTECTION_ACTIONS = (
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:DeleteRole",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeletePolicy",
)


def managed_policy_document() -> dict[str, Any]:
    """The IAM policy document of ``FlightdeckCrossAccountRole``: per step, one statement
    of what can only be granted on ``*`` (less what an earlier step's statement already
    grants there); one statement per distinct scope for the narrower actions; then the
    self-protection Deny. Kept under IAM's 6,144-character limit for managed policies (a
    test checks it)."""
    statements: list[dict[str, Any]] = []
    scoped: dict[str, list[str]] = {}
    granted_on_star: set[str] = set()
    for step, actions in PERMISSIONS_BY_STEP.items():
        unscoped = sorted({a for a in actions if a not in SCOPED_ACTIONS} - granted_on_star)
        granted_on_star.update(unscoped)
        if unscoped:
            sid = "".join(part.capitalize() for part in step.split("_"))
            statements.append({"Sid": sid, "Effect": "Allow", "Action": unscoped, "Resource": "*"})
        for action in actions:
            if action in SCOPED_ACTIONS:
                key = json.dumps(SCOPED_ACTIONS[action], sort_keys=True)
                scoped.setdefault(key, [])
                if action not in scoped[key]:
                    scoped[key].append(action)
    for index, (key, granted) in enumerate(sorted(scoped.items()), start=1):
        resources, condition = json.loads(key)
        statement: dict[str, Any] = {
            "Sid": f"Scoped{index}",
            "Effect": "Allow",
            "Action": sorted(granted),
            "Resource": resources if len(resources) > 1 else resources[0],
        }
        if condition:
            statement["Condition"] = condition
        statements.append(statement)
    statements.append(
        {
            "Sid": "DenyChangesToThisRole",
            "Effect": "Deny",
            "Action": list(SELF_PROTECTION_ACTIONS),
            "Resource": [
                f"arn:aws:iam::*:role/{ROLE_NAME}",
                _OWN_POLICY,
            ],
        }
    )
    return {"Version": "2012-10-17", "Statement": statements}
