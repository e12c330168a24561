"""The ordered steps of a cluster. Creation runs them forwards, deletion backwards."""

from __future__ import annotations

from flightdeck.aws.provision.database import DatabaseStep
from flightdeck.aws.provision.eks import EksClusterStep, NodeGroupsStep
from flightdeck.aws.provision.iam import IamRolesStep
from flightdeck.aws.provision.network import (
    InternetGatewayStep,
    NatGatewaysStep,
    RouteTablesStep,
    SecurityGroupsStep,
    SubnetsStep,
    VpcEndpointsStep,
    VpcStep,
)
from flightdeck.aws.provision.region import RegionStep
from flightdeck.aws.provision.step import Step
from flightdeck.aws.provision.storage import LogBucketStep

STEPS: tuple[Step, ...] = (
    RegionStep(),
    VpcStep(),
    SubnetsStep(),
    InternetGatewayStep(),
    NatGatewaysStep(),
    RouteTablesStep(),
    SecurityGroupsStep(),
    VpcEndpointsStep(),
    IamRolesStep(),
    EksClusterStep(),
    NodeGroupsStep(),
    DatabaseStep(),
    LogBucketStep(),
)

STEP_NAMES: tuple[str, ...] = tuple(step.name for step in STEPS)
