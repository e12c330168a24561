"""Request and response bodies. Inputs and outputs are separate models, so a secret
field (password hash, token hash, external ID) can never slip into a response."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from flightdeck.aws import reference
from flightdeck.db.models import OrganizationMembership, WorkspaceMembership
from flightdeck.phases import DeploymentEventKind
from flightdeck.runtime import base as deployment
from flightdeck.runtime.base import Executor, SchedulerSize
from flightdeck.services import validation
from flightdeck.services.validation import (
    MIN_PASSWORD_LENGTH,
    NAME_MAX_LENGTH,
    NAME_PATTERN,
    name_problem,
)

OrgRole = Literal["owner", "member"]
WorkspaceRole = Literal["admin", "member"]


# What the services check, documented in the OpenAPI schema (the services stay the check:
# they strip surrounding blanks first and answer with a message naming the field).
NAME_RULE: dict[str, Any] = {
    "pattern": NAME_PATTERN,
    "minLength": 1,
    "maxLength": NAME_MAX_LENGTH,
    "description": f"{validation.NAME_RULE}.",
}


def _valid_name(value: str) -> str:
    """Refuse a bad name here with the services' own sentence, not a validator's."""
    problem = name_problem(value)
    if problem is not None:
        raise PydanticCustomError("invalid_name", "{problem}", {"problem": problem})
    return value


Name = Annotated[str, AfterValidator(_valid_name), Field(json_schema_extra=NAME_RULE)]
"""An organization, workspace, cluster, Deployment or token name."""


def _account_check(check: Any) -> AfterValidator:
    """The reference table's account-ID rule, said in its own words when it fails."""

    def validate(value: str) -> str:
        try:
            return str(check(value))
        except reference.InvalidAccountId as exc:
            problem = {"problem": exc.problem}
            raise PydanticCustomError("invalid_account_id", "{problem}", problem) from None

    return AfterValidator(validate)


AccountId = Annotated[
    str,
    _account_check(reference.check_account_id),
    Field(description=f"The AWS account: {reference.ACCOUNT_ID_RULE}."),
]
AccountRef = Annotated[
    str,
    _account_check(reference.check_account_ref),
    Field(description=f"{reference.ACCOUNT_ID_RULE}, or the account's flightdeck id."),
]
EMAIL_RULE: dict[str, Any] = {"format": "email", "description": "An email address."}


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SignUpIn(Input):
    email: str = Field(max_length=320, json_schema_extra=EMAIL_RULE)
    password: str = Field(max_length=1024, json_schema_extra={"minLength": MIN_PASSWORD_LENGTH})
    name: str = Field(default="", max_length=200, description="Display name, any text.")
    organization_name: Name | None = None
    invitation_token: str | None = Field(default=None, max_length=200)


class LoginIn(Input):
    email: str = Field(max_length=320, json_schema_extra=EMAIL_RULE)
    password: str = Field(max_length=1024)
    token_name: Name | None = Field(
        default=None,
        description="Also issue an API token with this name (for the CLI); shown once.",
    )


class UserOut(Output):
    id: str
    email: str
    name: str
    created_at: datetime


class OrganizationOut(Output):
    id: str
    name: str
    slug: str = Field(description="Unique; what `--org` takes besides the id.")
    created_at: datetime


class MyOrganizationOut(OrganizationOut):
    role: OrgRole


class SignUpOut(Output):
    user: UserOut
    organization: OrganizationOut | None


class LoginOut(Output):
    user: UserOut
    token: str | None = Field(default=None, description="Shown once; store it safely.")


class SignUpRequestedOut(Output):
    """The same answer whether or not the address is registered; the mail tells which."""

    status: Literal["verification_sent"] = "verification_sent"
    email: str
    expires_at: datetime
    message: str


class VerifyEmailIn(Input):
    token: str = Field(max_length=200, description="The token mailed at sign-up.")
    password: str = Field(max_length=1024, description="The password chosen at sign-up.")
    token_name: Name | None = Field(
        default=None,
        description="Also issue an API token with this name (for the CLI); shown once.",
    )


class VerifiedOut(SignUpOut):
    token: str | None = Field(default=None, description="Shown once; store it safely.")


class MyInvitationOut(Output):
    id: str
    organization_id: str
    organization_name: str
    role: str
    expires_at: datetime


class MeOut(Output):
    user: UserOut
    organizations: list[MyOrganizationOut]


class OrganizationCreateIn(Input):
    name: Name


class ExternalIdOut(Output):
    organization_id: str
    external_id: str


class MemberOut(Output):
    user_id: str
    email: str
    name: str
    role: str
    created_at: datetime

    @classmethod
    def from_membership(cls, membership: OrganizationMembership | WorkspaceMembership) -> MemberOut:
        return cls(
            user_id=membership.user_id,
            email=membership.user.email,
            name=membership.user.name,
            role=membership.role,
            created_at=membership.created_at,
        )


class InviteIn(Input):
    email: str = Field(max_length=320, json_schema_extra=EMAIL_RULE)
    role: OrgRole = "member"
    workspace_id: str | None = None
    workspace_role: WorkspaceRole | None = None


class InvitationOut(Output):
    id: str
    email: str
    role: str
    expires_at: datetime


class InviteOut(Output):
    status: Literal["invited"]
    member: MemberOut | None = None
    invitation: InvitationOut | None = None
    invitation_token: str | None = Field(
        default=None, description="Shown once: the invitee signs up with it."
    )


class RoleIn(Input):
    role: OrgRole


class WorkspaceCreateIn(Input):
    name: Name


class WorkspaceOut(Output):
    id: str
    organization_id: str
    name: str
    created_at: datetime


class WorkspaceMemberIn(Input):
    user_id: str
    role: WorkspaceRole = "member"


class WorkspaceRoleIn(Input):
    role: WorkspaceRole


class TokenCreateIn(Input):
    name: Name
    expires_in_days: int | None = None


class TokenOut(Output):
    id: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str = Field(description="Shown once; only its hash is stored.")


class AuditEventOut(Output):
    id: str
    action: str
    actor_user_id: str | None
    target: str
    created_at: datetime


class CheckOut(Output):
    name: str
    status: Literal["pass", "warn", "fail"]
    message: str
    remedy: str | None = None
    details: dict[str, object] = Field(default_factory=dict)


class AwsAccountIn(Input):
    account_id: AccountId
    role_arn: str | None = Field(
        default=None,
        max_length=2048,
        description="Defaults to arn:aws:iam::<account_id>:role/flightdeck-remote-management.",
    )


class AwsAccountOut(Output):
    id: str
    organization_id: str
    account_id: str
    role_arn: str
    hosted: bool
    status: str
    checks: list[CheckOut]
    verified_at: datetime | None
    created_at: datetime


class PreflightIn(Input):
    region: str = Field(default=reference.DEFAULT_REGION, max_length=32)
    vpc_cidr: str = Field(default=reference.DEFAULT_VPC_CIDR, max_length=43)
    peer_cidrs: list[str] = Field(default_factory=list, max_length=50)


class CheckReportOut(Output):
    status: Literal["pass", "warn", "fail"]
    checks: list[CheckOut]


class RoleSetupOut(Output):
    platform_account_id: str
    role_name: str
    policy_name: str
    policy_version: str
    stack_name: str
    template_url: str
    quick_create_url: str | None
    cli_command: str
    note: str | None = None


class ClusterCreateIn(Input):
    account: AccountRef
    name: Name
    region: str = Field(default=reference.DEFAULT_REGION, max_length=32)
    node_instance_type: str = Field(default=reference.DEFAULT_NODE_INSTANCE_TYPE, max_length=32)
    max_nodes: int = reference.DEFAULT_MAX_NODES
    db_instance_type: str = Field(default=reference.DEFAULT_DB_INSTANCE_TYPE, max_length=32)
    vpc_cidr: str = Field(default=reference.DEFAULT_VPC_CIDR, max_length=43)
    force: bool = Field(default=False, description="Proceed although preflight warns.")


class CostLineOut(Output):
    what: str
    count: int
    hourly_each_usd: float
    hourly_usd: float


class CostOut(Output):
    """What runs and its on-demand price per hour (estimate; see ``source``)."""

    region: str
    running: bool = Field(description="False: hibernating or deleted, none of `lines` is billed.")
    hourly_usd: float = Field(description="What it costs now, per hour.")
    not_incurred_hourly_usd: float = Field(description="What hibernation is saving, per hour.")
    lines: list[CostLineOut]
    note: str
    source: str
    prices_date: str


class ClusterOut(Output):
    id: str
    organization_id: str
    name: str
    region: str
    account_id: str
    spec: dict[str, object]
    phase: str
    desired_state: str
    conditions: dict[str, object]
    last_error: str | None
    generation: int
    observed_generation: int
    created_at: datetime
    updated_at: datetime
    cost: CostOut | None = None


class PeeringDnsIn(Input):
    domain: str = Field(max_length=253, description="A private zone, e.g. corp.example.internal.")
    resolver_ips: list[str] = Field(
        max_length=6, description="IPv4 addresses of the DNS servers that answer the zone."
    )


class PeeringIngressIn(Input):
    target: str = Field(
        max_length=20, description="The cluster's security group: nodes or database."
    )
    port: int = Field(description="The TCP port the peer CIDRs may reach it on.")


class PeeringCreateIn(Input):
    name: Name
    peer_account_id: str = Field(max_length=32, description=reference.ACCOUNT_ID_RULE)
    peer_region: str = Field(max_length=32)
    peer_vpc_id: str = Field(max_length=32, description="The peer VPC, e.g. vpc-0a1b2c3d.")
    peer_cidrs: list[str] = Field(max_length=10, description="The peer VPC's RFC 1918 CIDRs.")
    dns: list[PeeringDnsIn] = Field(default_factory=list, max_length=20)
    ingress: list[PeeringIngressIn] = Field(default_factory=list, max_length=20)


class PeeringOut(Output):
    id: str
    cluster_id: str
    name: str
    spec: dict[str, object]
    status: dict[str, object]
    phase: str
    desired_state: str
    aws_peering_id: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class ClusterEventOut(Output):
    id: str
    step: str
    action: str
    resource: str
    aws_id: str | None
    message: str
    created_at: datetime


class DeploymentEventOut(Output):
    id: str
    kind: DeploymentEventKind
    message: str
    created_at: datetime


class PlannedChangeOut(Output):
    step: str
    action: str
    resource: str
    detail: str = ""
    aws_id: str | None = None


class NotificationOut(Output):
    id: str
    recipient: str
    subject: str
    body: str
    kind: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class WorkerQueueOut(Output):
    name: str
    min_workers: int
    max_workers: int
    tasks_per_worker: int
    instance_type: str | None = None


class WorkerQueueIn(Input):
    """One worker queue by name; ``default`` is the default queue. A field left out keeps
    the queue's current value (a new queue's default)."""

    name: str = Field(max_length=30)
    instance_type: str | None = Field(default=None, max_length=40)
    min_workers: int | None = None
    max_workers: int | None = None
    tasks_per_worker: int | None = None


class DeploymentCreateIn(Input):
    name: Name
    workspace: str = Field(max_length=100, description="Workspace id or name.")
    cluster: str = Field(max_length=100, description="An Active cluster's id or name.")
    airflow_version: str | None = Field(default=None, max_length=20)
    executor: Executor = deployment.DEFAULT_EXECUTOR
    scheduler_size: SchedulerSize = deployment.DEFAULT_SCHEDULER_SIZE
    scheduler_count: int = deployment.DEFAULT_SCHEDULER_COUNT
    min_workers: int = deployment.DEFAULT_MIN_WORKERS
    max_workers: int = deployment.DEFAULT_MAX_WORKERS
    tasks_per_worker: int = deployment.DEFAULT_TASKS_PER_WORKER
    environment: dict[str, str] = Field(default_factory=dict)
    secret_environment: dict[str, str] = Field(
        default_factory=dict, description="Write-only: values are never returned."
    )
    is_development: bool = Field(
        default=False, description="A development Deployment may hibernate on a schedule."
    )
    worker_queues: list[WorkerQueueIn] = Field(
        default_factory=list,
        description="Queues by name: `default` sets the default queue, any other is a further "
        "Celery queue.",
    )


class DeploymentUpdateIn(Input):
    airflow_version: str | None = Field(default=None, max_length=20)
    executor: Executor | None = None
    scheduler_size: SchedulerSize | None = None
    scheduler_count: int | None = None
    min_workers: int | None = None
    max_workers: int | None = None
    tasks_per_worker: int | None = None
    environment: dict[str, str] | None = None
    secret_environment: dict[str, str] | None = Field(
        default=None, description="Write-only: sets these secret variables."
    )
    remove_secrets: list[str] = Field(default_factory=list)
    is_development: bool | None = None
    worker_queues: list[WorkerQueueIn] | None = Field(
        default=None,
        description="Given: the further queues become exactly these (a queue left out is "
        "removed); `default` among them changes the default queue.",
    )


class HibernationScheduleIn(Input):
    hibernate_at: str = Field(max_length=100, description="Cron: when it falls asleep.")
    wake_at: str = Field(max_length=100, description="Cron: when it wakes.")
    timezone: str = Field(max_length=64, description="IANA time zone, e.g. Europe/Paris.")


class HibernationScheduleOut(Output):
    hibernate_at: str
    wake_at: str
    timezone: str
    next_change_at: datetime
    next_change: Literal["hibernate", "wake"]


class DeploymentOut(Output):
    id: str
    organization_id: str
    workspace_id: str
    cluster_id: str
    name: str
    runtime: str
    airflow_version: str
    executor: str
    # What really runs: LocalExecutor on the local runtime, the requested one on Kubernetes.
    running_executor: str = ""
    scheduler_size: str
    scheduler_count: int
    worker_queue: WorkerQueueOut
    # Every queue, the default one first.
    worker_queues: list[WorkerQueueOut] = Field(default_factory=list)
    environment: dict[str, str]
    secret_environment_keys: list[str]
    phase: str
    desired_state: str
    health_message: str
    airflow_url: str | None
    components: dict[str, bool]
    current_deploy_id: str | None
    # Asked to sleep (phase Hibernating once its Airflow stopped), and when it wakes by itself.
    hibernated: bool = False
    wake_at: datetime | None = None
    is_development: bool = False
    hibernation_schedule: HibernationScheduleOut | None = None
    cost: CostOut | None = None
    last_error: str | None
    generation: int
    observed_generation: int
    created_at: datetime
    updated_at: datetime


class HibernateIn(Input):
    """Give at most one: no value sleeps until someone wakes the Deployment up."""

    until: datetime | None = Field(
        default=None, description="When it wakes, with a time zone (ISO 8601)."
    )
    duration: str | None = Field(
        default=None, max_length=20, description="How long it sleeps: 30m, 8h, 2d, 1h30m."
    )


class DeployOut(Output):
    id: str
    deployment_id: str
    kind: str
    status: str
    sha256: str
    size_bytes: int
    description: str
    message: str
    errors: dict[str, str]
    created_at: datetime
    finished_at: datetime | None


class RollbackIn(Input):
    deploy: str | None = Field(
        default=None,
        max_length=36,
        description="The deploy whose bundle to deploy again [default: the newest succeeded "
        "one not serving now].",
    )
    description: str = Field(default="", max_length=400)


class AirflowLoginOut(Output):
    """The way into a Deployment's own Airflow; a secret, sent with ``no-store``."""

    url: str
    username: str
    password: str = Field(description="The generated login's password (local runtime).")
    kind: str = Field(description="How to sign in: `password` for the local runtime.")


class LogLineOut(Output):
    component: str
    timestamp: datetime | None
    line: str


class DeploymentLogsOut(Output):
    lines: list[LogLineOut]
    cursor: str = Field(description="Pass back as `after` to read only newer lines.")
    truncated: bool = Field(description="Older lines were left out to keep the read bounded.")


class PolicyChangeOut(Output):
    """Moving one account's role policy to a published version (see docs/governance.md)."""

    id: str
    aws_account_ref: str
    account_id: str
    from_version: str | None
    to_version: str
    kind: Literal["expands", "reduces"]
    status: Literal["pending-notice", "scheduled", "failed", "applied", "superseded"]
    summary: str
    reason: str
    diff: str
    example: dict[str, object] | None
    statement: dict[str, object] | None
    notice_completed_at: datetime | None
    effective_at: datetime | None
    applied_at: datetime | None
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime


class RoleDriftOut(Output):
    key: str
    message: str


class AccountPolicyOut(Output):
    id: str
    account_id: str
    policy_version: str | None
    checked_at: datetime | None
    drift: list[RoleDriftOut]
    last_error: str | None


class PolicyChangesOut(Output):
    latest_version: str
    accounts: list[AccountPolicyOut]
    changes: list[PolicyChangeOut]


class AccountEventOut(Output):
    id: str
    kind: str
    message: str
    detail: dict[str, object]
    created_at: datetime


# -- alerts (services/alerts) ------------------------------------------------------------
class AlertChannelIn(Input):
    name: Name
    kind: Literal["email", "webhook", "slack", "pagerduty"] = Field(
        description="email, webhook (signed JSON), slack (incoming webhook), pagerduty."
    )
    target: str = Field(
        default="",
        max_length=2000,
        description="The address (email) or URL; PagerDuty defaults to its Events API v2.",
    )
    routing_key: str | None = Field(
        default=None, max_length=64, description="PagerDuty's integration key."
    )


class AlertChannelOut(Output):
    id: str
    name: str
    kind: str
    target: str = Field(description="Where it goes, without its secret part.")
    created_at: datetime


class AlertChannelCreatedOut(AlertChannelOut):
    signing_secret: str | None = Field(
        default=None,
        description="A webhook's HMAC-SHA256 secret: shown this once, stored sealed.",
    )


class AlertRuleIn(Input):
    name: Name
    kind: str = Field(max_length=30, description="dag-failed, dag-succeeded, task-duration, "
                      "dag-deadline or deployment-health.")
    channels: list[str] = Field(max_length=20, description="Channel names or ids.")
    workspace: str | None = Field(default=None, max_length=100)
    deployment: str | None = Field(default=None, max_length=100)
    dag_glob: str = Field(default="*", max_length=250)
    minutes: int | None = Field(default=None, description="task-duration: longer than this.")
    deadline: str | None = Field(default=None, max_length=5, description="dag-deadline: HH:MM.")
    timezone: str | None = Field(default=None, max_length=64, description="IANA, e.g. UTC.")


class AlertRuleOut(Output):
    id: str
    name: str
    kind: str
    scope: str
    workspace_id: str | None
    deployment_id: str | None
    dag_glob: str
    minutes: int | None
    deadline: str | None
    timezone: str | None
    channels: list[str] = Field(description="The channels' names.")
    created_at: datetime


class AlertDeliveryOut(Output):
    id: str
    kind: str
    transport: str
    recipient: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    alert_id: str | None
    created_at: datetime
    sent_at: datetime | None


# -- a Deployment's environment variables and Airflow objects ---------------------------------
class EnvironmentVariableOut(Output):
    key: str
    secret: bool
    value: str | None = Field(description="Plain variables only; a secret's value is never sent.")


class EnvironmentChangeIn(Input):
    variables: dict[str, str] = Field(
        default_factory=dict, description="Set these (write-only when secret)."
    )
    secret: bool = Field(default=False, description="Seal these values: they are never shown.")
    unset: list[str] = Field(default_factory=list, description="Remove these variables.")


class AirflowConnectionOut(Output):
    connection_id: str
    conn_type: str
    host: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    login: str | None = None
    password: str | None = Field(default=None, description="*** when set; never the value.")
    port: int | None = None
    extra: dict[str, Any] = Field(default_factory=dict, description="Sensitive fields masked.")

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)


class AirflowConnectionIn(Input):
    conn_type: str = Field(max_length=500)
    host: str | None = Field(default=None, max_length=65536)
    schema_: str | None = Field(default=None, alias="schema", max_length=65536)
    login: str | None = Field(default=None, max_length=65536)
    password: str | None = Field(default=None, max_length=65536, description="Write-only.")
    port: int | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AirflowVariableOut(Output):
    key: str
    value: str | None = Field(description="*** when its name is sensitive (Airflow's rule).")
    description: str | None = None


class AirflowVariableIn(Input):
    value: str = Field(max_length=65536)


class AirflowPoolOut(Output):
    name: str
    slots: int
    description: str = ""
    include_deferred: bool = False


class AirflowPoolIn(Input):
    slots: int
    description: str = Field(default="", max_length=4000)
    include_deferred: bool = False


class AirflowObjectWriteOut(Output):
    key: str
    action: str = Field(description="created or updated.")


class AirflowSettingsIn(Input):
    settings: str = Field(
        max_length=1024 * 1024, description="The text of an Astro airflow_settings.yaml."
    )


class AirflowSettingsOut(Output):
    connections: int
    pools: int
    variables: int
