"""The one place the console imports the services layer from.

Pages call exactly what the API calls (same use cases, same authorization); keeping the
imports here means a reorganised services package is followed by editing one file.
"""

from __future__ import annotations

from flightdeck.airflow_versions import DEFAULT_AIRFLOW_VERSION
from flightdeck.aws import peering_request, reference
from flightdeck.aws.checks import CheckResult, overall
from flightdeck.aws.permissions import MANAGED_POLICY_NAME, POLICY_VERSION, ROLE_NAME
from flightdeck.aws.role_template import STACK_NAME, quick_create_url, role_template_yaml
from flightdeck.db.models import (
    ApiToken,
    AuditEvent,
    AwsAccount,
    Cluster,
    ClusterEvent,
    Deploy,
    Deployment,
    Invitation,
    Notification,
    Organization,
    OrganizationMembership,
    User,
    Workspace,
    WorkspaceMembership,
)
from flightdeck.phases import ACTIVE_POLICY_CHANGE_STATUSES
from flightdeck.runtime.base import EXECUTORS, SCHEDULER_SIZES
from flightdeck.services import (
    access,
    audit,
    auth,
    dns_txt,
    notifications,
    onboarding,
    orgs,
    platform_signin,
    sso,
    sso_enforcement,
    sso_roles,
    workspaces,
)
from flightdeck.services.alerts import channels as alert_channels
from flightdeck.services.alerts import delivery as alert_deliveries
from flightdeck.services.alerts import rules as alert_rules
from flightdeck.services.alerts import samples as alert_samples
from flightdeck.services.alerts.kinds import KIND_DESCRIPTIONS, ChannelInput, ChannelKind, RuleInput
from flightdeck.services.clusters import engine as provisioning
from flightdeck.services.clusters import peering_pass, peerings
from flightdeck.services.clusters import requests as clusters
from flightdeck.services.deployments import airflow_objects, operate, timeline, variables
from flightdeck.services.deployments import requests as deployments
from flightdeck.services.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
)
from flightdeck.services.governance import views as governance
from flightdeck.services.platform import platform_account_id
from flightdeck.services.validation import MIN_PASSWORD_LENGTH

__all__ = [
    "ACTIVE_POLICY_CHANGE_STATUSES",
    "DEFAULT_AIRFLOW_VERSION",
    "EXECUTORS",
    "KIND_DESCRIPTIONS",
    "MANAGED_POLICY_NAME",
    "MIN_PASSWORD_LENGTH",
    "POLICY_VERSION",
    "ROLE_NAME",
    "SCHEDULER_SIZES",
    "STACK_NAME",
    "ApiToken",
    "AuditEvent",
    "AwsAccount",
    "ChannelInput",
    "ChannelKind",
    "CheckResult",
    "Cluster",
    "ClusterEvent",
    "Conflict",
    "Deploy",
    "Deployment",
    "DomainError",
    "Forbidden",
    "InvalidInput",
    "Invitation",
    "NotFound",
    "Notification",
    "Organization",
    "OrganizationMembership",
    "RuleInput",
    "TooManyAttempts",
    "Unauthenticated",
    "User",
    "Workspace",
    "WorkspaceMembership",
    "access",
    "airflow_objects",
    "alert_channels",
    "alert_deliveries",
    "alert_rules",
    "alert_samples",
    "audit",
    "auth",
    "clusters",
    "deployments",
    "dns_txt",
    "governance",
    "notifications",
    "onboarding",
    "operate",
    "orgs",
    "overall",
    "peering_pass",
    "peering_request",
    "peerings",
    "platform_account_id",
    "platform_signin",
    "provisioning",
    "quick_create_url",
    "reference",
    "role_template_yaml",
    "sso",
    "sso_enforcement",
    "sso_roles",
    "timeline",
    "variables",
    "workspaces",
]
