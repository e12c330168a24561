"""RDS PostgreSQL for Airflow metadata, in the private subnets, password kept by AWS.

RDS offers no idempotency token, but DB instance and subnet group identifiers are unique
per account and region, so the deterministic name is the idempotency key: a repeated
create after a crash is answered by the describe that precedes it. The master password is
managed by RDS in Secrets Manager (``ManageMasterUserPassword``) so flightdeck never
holds it.
"""

from __future__ import annotations

from typing import Any

from flightdeck.aws.error_codes import absent_on
from flightdeck.aws.provision.context import (
    CLUSTER_TAG,
    PlannedChange,
    Ready,
    StepContext,
    StepResult,
    Waiting,
    tag_value,
)
from flightdeck.aws.provision.errors import PermanentError
from flightdeck.aws.provision.network_plan import AZ_SUFFIXES
from flightdeck.aws.provision.step import Step

INSTANCE_NOT_FOUND = ("DBInstanceNotFound", "DBInstanceNotFoundFault")
SUBNET_GROUP_NOT_FOUND = ("DBSubnetGroupNotFoundFault", "DBSubnetGroupNotFound")

READY_STATES = frozenset(
    {
        "available",
        "backing-up",
        "modifying",
        "storage-optimization",
        "configuring-enhanced-monitoring",
        "configuring-log-exports",
        "configuring-iam-database-auth",
        "upgrading",
        "maintenance",
    }
)
WAITING_STATES = frozenset(
    {"creating", "rebooting", "starting", "renaming", "resetting-master-credentials", "deleting"}
)


def db_identifier(cluster_id: str) -> str:
    return f"flightdeck-{cluster_id}"


def final_snapshot_identifier(cluster_id: str) -> str:
    """Deterministic, so a deletion repeated after a crash asks for the same snapshot."""
    return f"{db_identifier(cluster_id)}-final"


def _deletion_parameters(ctx: StepContext) -> dict[str, Any]:
    """A final snapshot unless the cluster was requested without one; automated backups
    go either way (the snapshot is what is kept)."""
    if ctx.spec.db_final_snapshot:
        return {
            "SkipFinalSnapshot": False,
            "FinalDBSnapshotIdentifier": final_snapshot_identifier(ctx.spec.cluster_id),
            "DeleteAutomatedBackups": True,
        }
    return {"SkipFinalSnapshot": True, "DeleteAutomatedBackups": True}


def _describe_instance(ctx: StepContext) -> dict[str, Any] | None:
    rds = ctx.client("rds")
    response = absent_on(
        INSTANCE_NOT_FOUND,
        rds.describe_db_instances,
        DBInstanceIdentifier=db_identifier(ctx.spec.cluster_id),
    )
    if response is None or not response["DBInstances"]:
        return None
    instance: dict[str, Any] = response["DBInstances"][0]
    owner = tag_value(instance.get("TagList"), CLUSTER_TAG)
    if owner != ctx.spec.cluster_id:
        raise PermanentError(
            f"DB instance {instance['DBInstanceIdentifier']} is tagged for cluster {owner!r}",
            remedy="delete or rename that DB instance; flightdeck owns flightdeck-<cluster-id>",
        )
    return instance


def _describe_subnet_group(ctx: StepContext) -> dict[str, Any] | None:
    rds = ctx.client("rds")
    response = absent_on(
        SUBNET_GROUP_NOT_FOUND,
        rds.describe_db_subnet_groups,
        DBSubnetGroupName=db_identifier(ctx.spec.cluster_id),
    )
    if response is None or not response["DBSubnetGroups"]:
        return None
    return response["DBSubnetGroups"][0]  # type: ignore[no-any-return]


# Resource keys this step records (``ClusterStatus.resource("database", DB_ENDPOINT)``).
DB_INSTANCE = "db-instance"  # the RDS instance's ARN
DB_ENDPOINT = "db-endpoint"  # host:port


class DatabaseStep(Step):
    """The DB subnet group, then the PostgreSQL instance (encrypted, private)."""

    name = "database"

    def ensure(self, ctx: StepContext) -> StepResult:
        rds = ctx.client("rds")
        name = db_identifier(ctx.spec.cluster_id)
        instance = _describe_instance(ctx)
        if instance is None:
            group = _describe_subnet_group(ctx)
            if group is None:
                group = rds.create_db_subnet_group(
                    DBSubnetGroupName=name,
                    DBSubnetGroupDescription=f"flightdeck cluster {ctx.spec.cluster_id}",
                    SubnetIds=[ctx.require_id("subnets", f"private-{s}") for s in AZ_SUFFIXES],
                    Tags=ctx.tags("db-subnet-group"),
                )["DBSubnetGroup"]
                ctx.record("db-subnet-group", group["DBSubnetGroupArn"], "created")
            else:
                ctx.record("db-subnet-group", group["DBSubnetGroupArn"], "found")
            instance = rds.create_db_instance(
                DBInstanceIdentifier=name,
                DBInstanceClass=ctx.spec.db_instance_type,
                Engine="postgres",
                EngineVersion=ctx.spec.db_engine_version,
                DBName="airflow",
                MasterUsername="airflow",
                ManageMasterUserPassword=True,
                AllocatedStorage=ctx.spec.db_allocated_storage_gb,
                StorageType="gp3",
                StorageEncrypted=True,
                DBSubnetGroupName=name,
                VpcSecurityGroupIds=[ctx.require_id("security_groups", "sg-database")],
                PubliclyAccessible=False,
                BackupRetentionPeriod=7,
                DeletionProtection=False,
                CopyTagsToSnapshot=False,
                Tags=ctx.tags(DB_INSTANCE),
            )["DBInstance"]
            ctx.record(
                DB_INSTANCE, instance["DBInstanceArn"], "created", ctx.spec.db_instance_type
            )
        else:
            ctx.record(DB_INSTANCE, instance["DBInstanceArn"], "found")
            group_arn = instance.get("DBSubnetGroup", {}).get("DBSubnetGroupArn")
            if group_arn:
                ctx.record("db-subnet-group", group_arn, "found")
            pending = instance.get("PendingModifiedValues", {}).get("DBInstanceClass")
            if (
                instance.get("DBInstanceClass") != ctx.spec.db_instance_type
                and pending != ctx.spec.db_instance_type
                and instance.get("DBInstanceStatus") == "available"
            ):
                rds.modify_db_instance(
                    DBInstanceIdentifier=name,
                    DBInstanceClass=ctx.spec.db_instance_type,
                    ApplyImmediately=True,
                )
                ctx.note("updated", DB_INSTANCE, f"class {ctx.spec.db_instance_type}")
                return Waiting("database modifying its instance class", after=60)
        ctx.condition()["aws_id"] = instance["DBInstanceArn"]
        return self._state(ctx, instance)

    def _state(self, ctx: StepContext, instance: dict[str, Any]) -> StepResult:
        status = instance.get("DBInstanceStatus", "available")
        endpoint = instance.get("Endpoint") or {}
        address = f"{endpoint.get('Address')}:{endpoint.get('Port', 5432)}"
        if endpoint.get("Address") and ctx.resource_id(self.name, DB_ENDPOINT) != address:
            # What a Deployment's runtime connects Airflow's metadata database to; recorded
            # only when new, so a steady pass leaves the status untouched.
            ctx.record(DB_ENDPOINT, address, "found")
        if status in READY_STATES:
            return Ready()
        if status in WAITING_STATES:
            ctx.note("waiting", DB_INSTANCE, status, instance["DBInstanceArn"])
            return Waiting(f"database {status}", after=30)
        raise PermanentError(
            f"DB instance {instance['DBInstanceIdentifier']} is {status}",
            remedy="look at the instance's events in the RDS console; fix the cause (storage, "
            "parameters, quota) and retry",
        )

    def verify(self, ctx: StepContext) -> StepResult:
        instance = _describe_instance(ctx)
        if instance is None:
            return Waiting("database is gone", after=0)
        if instance.get("DBInstanceClass") != ctx.spec.db_instance_type:
            return Waiting("database class differs from the spec", after=0)
        return self._state(ctx, instance)

    def delete(self, ctx: StepContext) -> StepResult:
        rds = ctx.client("rds")
        name = db_identifier(ctx.spec.cluster_id)
        try:
            instance = _describe_instance(ctx)
        except PermanentError:
            return Ready()  # another cluster's database: never delete it
        if instance is not None:
            if instance.get("DBInstanceStatus") != "deleting":
                parameters = _deletion_parameters(ctx)
                absent_on(
                    INSTANCE_NOT_FOUND,
                    rds.delete_db_instance,
                    DBInstanceIdentifier=name,
                    **parameters,
                )
                snapshot = parameters.get("FinalDBSnapshotIdentifier")
                detail = f"final snapshot {snapshot}" if snapshot else "no final snapshot"
                ctx.note(
                    "deleted", DB_INSTANCE, f"deletion requested ({detail})",
                    instance["DBInstanceArn"],
                )
            return Waiting("database deleting", after=30)
        group = _describe_subnet_group(ctx)
        if group is not None:
            absent_on(SUBNET_GROUP_NOT_FOUND, rds.delete_db_subnet_group, DBSubnetGroupName=name)
            ctx.note("deleted", "db-subnet-group", "", group.get("DBSubnetGroupArn", name))
        ctx.condition()["resources"] = {}
        return Ready()

    def plan(self, ctx: StepContext) -> list[PlannedChange]:
        instance = _describe_instance(ctx)
        if instance is None:
            changes = []
            if _describe_subnet_group(ctx) is None:
                changes.append(PlannedChange(self.name, "create", "db-subnet-group"))
            changes.append(
                PlannedChange(
                    self.name,
                    "create",
                    DB_INSTANCE,
                    f"PostgreSQL {ctx.spec.db_engine_version} on {ctx.spec.db_instance_type}",
                )
            )
            return changes
        if instance.get("DBInstanceClass") != ctx.spec.db_instance_type:
            return [
                PlannedChange(
                    self.name,
                    "update",
                    DB_INSTANCE,
                    f"class {instance.get('DBInstanceClass')} -> {ctx.spec.db_instance_type}",
                    instance["DBInstanceArn"],
                )
            ]
        return []

    def plan_delete(self, ctx: StepContext) -> list[PlannedChange]:
        changes = []
        instance = _describe_instance(ctx)
        if instance is not None:
            snapshot = _deletion_parameters(ctx).get("FinalDBSnapshotIdentifier")
            detail = f"final snapshot {snapshot}" if snapshot else "no final snapshot"
            changes.append(
                PlannedChange(self.name, "delete", DB_INSTANCE, detail, instance["DBInstanceArn"])
            )
        group = _describe_subnet_group(ctx)
        if group is not None:
            changes.append(
                PlannedChange(
                    self.name, "delete", "db-subnet-group", "", group.get("DBSubnetGroupArn")
                )
            )
        return changes
