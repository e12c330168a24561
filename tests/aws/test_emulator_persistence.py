"""The emulator's state outlives its process: restarts after SIGTERM and SIGKILL, bad state dirs.

Each emulator runs as its own process (moto's state is process-wide), on a state directory;
resources of every service the product uses are created through boto3, the process is stopped,
a new one started on the same directory, and every resource described back with the same ids.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from support.emulator_process import (
    PLATFORM_ACCOUNT,
    EmulatorProcess,
    run_emulator_expecting_failure,
    start_emulator_process,
)
from support.readonly import read_only_directory

pytestmark = pytest.mark.slow

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{PLATFORM_ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)


def create_everything(emulator: EmulatorProcess, suffix: str) -> dict[str, Any]:
    """One resource (or a few) of every service the product uses; returns their ids and ARNs."""
    c = emulator.client
    ids: dict[str, Any] = {}
    iam = c("iam")
    role = iam.create_role(RoleName=f"role-{suffix}", AssumeRolePolicyDocument=TRUST)["Role"]
    policy = iam.create_policy(PolicyName=f"policy-{suffix}", PolicyDocument=POLICY)["Policy"]
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=policy["Arn"])
    iam.attach_role_policy(
        RoleName=role["RoleName"], PolicyArn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
    )
    ids["iam"] = (role["RoleId"], role["Arn"], policy["PolicyId"], policy["Arn"])

    ec2 = c("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet_a = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")
    subnet_b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24", AvailabilityZone="us-east-1b")
    subnets = [subnet_a["Subnet"]["SubnetId"], subnet_b["Subnet"]["SubnetId"]]
    group = ec2.create_security_group(GroupName=f"sg-{suffix}", Description="x", VpcId=vpc)
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    ids["ec2"] = (vpc, tuple(subnets), group["GroupId"], gateway, table)

    eks = c("eks")
    cluster = eks.create_cluster(
        name=f"cluster-{suffix}",
        roleArn=role["Arn"],
        resourcesVpcConfig={"subnetIds": subnets},
    )["cluster"]
    nodegroup = eks.create_nodegroup(
        clusterName=cluster["name"],
        nodegroupName="workers",
        nodeRole=role["Arn"],
        subnets=subnets,
    )["nodegroup"]
    ids["eks"] = (cluster["arn"], nodegroup["nodegroupArn"])

    rds = c("rds")
    rds.create_db_subnet_group(
        DBSubnetGroupName=f"subnets-{suffix}", DBSubnetGroupDescription="x", SubnetIds=subnets
    )
    db = rds.create_db_instance(
        DBInstanceIdentifier=f"db-{suffix}",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="airflow",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
        DBSubnetGroupName=f"subnets-{suffix}",
    )["DBInstance"]
    ids["rds"] = (db["DBInstanceArn"], db["DbiResourceId"])

    s3 = c("s3")
    bucket = f"bucket-{suffix}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="dags/hello.py", Body=b"print('hello')\n")
    ids["s3"] = bucket

    secret = c("secretsmanager").create_secret(Name=f"secret-{suffix}", SecretString="s3cr3t")
    ids["secretsmanager"] = (secret["ARN"], secret["VersionId"])
    version = c("ssm").put_parameter(Name=f"/flightdeck/{suffix}", Value="v", Type="String")
    ids["ssm"] = version["Version"]
    trail = c("cloudtrail").create_trail(Name=f"trail-{suffix}", S3BucketName=bucket)
    ids["cloudtrail"] = trail["TrailARN"]
    c("logs").create_log_group(logGroupName=f"/flightdeck/{suffix}")
    topic = c("sns").create_topic(Name=f"topic-{suffix}")["TopicArn"]
    subscription = c("sns").subscribe(
        TopicArn=topic, Protocol="email", Endpoint="ops@example.com", ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    ids["sns"] = (topic, subscription)
    c("cloudwatch").put_metric_alarm(
        AlarmName=f"alarm-{suffix}",
        MetricName="Errors",
        Namespace="Flightdeck",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[topic],
    )
    kms = c("kms")
    signing = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    symmetric = kms.create_key(Description=f"key-{suffix}")["KeyMetadata"]
    kms.create_alias(AliasName=f"alias/signing-{suffix}", TargetKeyId=signing["KeyId"])
    kms.create_alias(AliasName=f"alias/data-{suffix}", TargetKeyId=symmetric["KeyId"])
    public_key = kms.get_public_key(KeyId=signing["KeyId"])["PublicKey"]
    ids["kms"] = (signing["Arn"], symmetric["Arn"], public_key)
    assumed = c("sts", account_id=PLATFORM_ACCOUNT).assume_role(
        RoleArn=role["Arn"], RoleSessionName="flightdeck"
    )["Credentials"]
    ids["sts"] = assumed["AccessKeyId"]
    ids["_assumed"] = assumed
    return ids


def describe_everything(emulator: EmulatorProcess, suffix: str) -> dict[str, Any]:
    """The same ids and ARNs, read back."""
    c = emulator.client
    ids: dict[str, Any] = {}
    iam = c("iam")
    role = iam.get_role(RoleName=f"role-{suffix}")["Role"]
    policy_arn = f"arn:aws:iam::222222222222:policy/policy-{suffix}"
    policy = iam.get_policy(PolicyArn=policy_arn)["Policy"]
    attached = {
        item["PolicyArn"]
        for item in iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
    }
    assert attached == {policy_arn, "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"}
    ids["iam"] = (role["RoleId"], role["Arn"], policy["PolicyId"], policy["Arn"])

    ec2 = c("ec2")
    group = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"sg-{suffix}"]}]
    )["SecurityGroups"][0]
    vpc = group["VpcId"]
    subnets = sorted(
        (s["CidrBlock"], s["SubnetId"])
        for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    )
    gateway = ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}]
    )["InternetGateways"][0]["InternetGatewayId"]
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
    custom = [
        t for t in tables["RouteTables"] if any(r.get("GatewayId") == gateway for r in t["Routes"])
    ]
    ids["ec2"] = (
        vpc,
        tuple(subnet_id for _, subnet_id in subnets),
        group["GroupId"],
        gateway,
        custom[0]["RouteTableId"],
    )

    eks = c("eks")
    cluster = eks.describe_cluster(name=f"cluster-{suffix}")["cluster"]
    nodegroup = eks.describe_nodegroup(clusterName=cluster["name"], nodegroupName="workers")
    ids["eks"] = (cluster["arn"], nodegroup["nodegroup"]["nodegroupArn"])
    assert cluster["status"] == "ACTIVE"

    db = c("rds").describe_db_instances(DBInstanceIdentifier=f"db-{suffix}")["DBInstances"][0]
    ids["rds"] = (db["DBInstanceArn"], db["DbiResourceId"])

    s3 = c("s3")
    body = s3.get_object(Bucket=f"bucket-{suffix}", Key="dags/hello.py")["Body"].read()
    assert body == b"print('hello')\n"
    ids["s3"] = f"bucket-{suffix}"

    secrets = c("secretsmanager")
    secret = secrets.get_secret_value(SecretId=f"secret-{suffix}")
    assert secret["SecretString"] == "s3cr3t"
    ids["secretsmanager"] = (secret["ARN"], secret["VersionId"])
    parameter = c("ssm").get_parameter(Name=f"/flightdeck/{suffix}")["Parameter"]
    assert parameter["Value"] == "v"
    ids["ssm"] = parameter["Version"]
    trail = c("cloudtrail").get_trail(Name=f"trail-{suffix}")["Trail"]
    ids["cloudtrail"] = trail["TrailARN"]
    groups = c("logs").describe_log_groups(logGroupNamePrefix=f"/flightdeck/{suffix}")
    assert [g["logGroupName"] for g in groups["logGroups"]] == [f"/flightdeck/{suffix}"]
    sns = c("sns")
    topic = f"arn:aws:sns:us-east-1:222222222222:topic-{suffix}"
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    ids["sns"] = (topic, subscriptions[0]["SubscriptionArn"])
    kms = c("kms")
    signing = kms.describe_key(KeyId=f"alias/signing-{suffix}")["KeyMetadata"]
    symmetric = kms.describe_key(KeyId=f"alias/data-{suffix}")["KeyMetadata"]
    public_key = kms.get_public_key(KeyId=signing["KeyId"])["PublicKey"]
    ids["kms"] = (signing["Arn"], symmetric["Arn"], public_key)
    alarms = c("cloudwatch").describe_alarms(AlarmNames=[f"alarm-{suffix}"])["MetricAlarms"]
    assert alarms[0]["AlarmActions"] == [topic]
    return ids


def assert_same(created: dict[str, Any], emulator: EmulatorProcess, suffix: str) -> None:
    described = describe_everything(emulator, suffix)
    for service, expected in created.items():
        if service.startswith("_") or service == "sts":
            continue
        assert described[service] == expected, service
    # Keys minted by AssumeRole before the restart still land in the customer's account.
    assumed = created["_assumed"]
    identity = emulator.client(
        "sts",
        aws_access_key_id=assumed["AccessKeyId"],
        aws_session_token=assumed["SessionToken"],
    ).get_caller_identity()
    assert identity["Account"] == "222222222222"


def test_resources_outlive_sigterm_and_then_sigkill(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    first = start_emulator_process(state_dir)
    try:
        before_stop = create_everything(first, "one")
    finally:
        output = first.terminate()
    assert f"state:             {state_dir}" in output

    second = start_emulator_process(state_dir)
    try:
        assert_same(before_stop, second, "one")
        before_kill = create_everything(second, "two")
        endpoint = second.endpoint_url
    finally:
        second.kill()

    # Nothing was written at the kill: the second batch comes back from the journal alone.
    third = start_emulator_process(state_dir)
    try:
        assert third.endpoint_url == endpoint, "the previous port is reused when free"
        assert_same(before_stop, third, "one")
        assert_same(before_kill, third, "two")
    finally:
        third.terminate()


def test_a_second_emulator_on_the_same_state_dir_is_refused(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    first = start_emulator_process(state_dir)
    try:
        first.client("s3").create_bucket(Bucket="still-here")
        code, stderr = run_emulator_expecting_failure(state_dir)
        assert code == 1
        lines = stderr.strip().splitlines()
        assert len(lines) == 1, stderr
        assert str(state_dir) in lines[0] and f"pid {first.process.pid}" in lines[0]
        assert "Traceback" not in stderr
        buckets = first.client("s3").list_buckets()["Buckets"]
        assert [b["Name"] for b in buckets] == ["still-here"]
    finally:
        first.terminate()


def _stopped_state_dir(tmp_path: Path, *, kill: bool) -> Path:
    state_dir = tmp_path / "state"
    emulator = start_emulator_process(state_dir)
    try:
        emulator.client("ssm").put_parameter(Name="/kept", Value="v", Type="String")
        emulator.client("ssm").put_parameter(Name="/kept-too", Value="v", Type="String")
    finally:
        if kill:
            emulator.kill()
        else:
            emulator.terminate()
    return state_dir


def _assert_refused(state_dir: Path, file_name: str) -> None:
    before = {p.name: p.read_bytes() for p in state_dir.iterdir() if p.name != "lock"}
    code, stderr = run_emulator_expecting_failure(state_dir)
    assert code == 1
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert str(state_dir / file_name) in lines[0]
    assert "move" in lines[0] and "aside" in lines[0]
    after = {p.name: p.read_bytes() for p in state_dir.iterdir() if p.name != "lock"}
    assert after == before, "a refused start changes nothing"


def test_a_damaged_snapshot_is_refused_naming_the_file(tmp_path: Path) -> None:
    state_dir = _stopped_state_dir(tmp_path, kill=False)
    snapshot = state_dir / "snapshot.pickle"
    data = snapshot.read_bytes()
    snapshot.write_bytes(data[: len(data) // 2])
    _assert_refused(state_dir, "snapshot.pickle")


def test_a_snapshot_of_another_moto_version_is_refused(tmp_path: Path) -> None:
    state_dir = _stopped_state_dir(tmp_path, kill=False)
    snapshot = state_dir / "snapshot.pickle"
    header, rest = snapshot.read_bytes().split(b"\n", 1)
    fields = json.loads(header)
    fields["moto"] = "4.0.0"
    snapshot.write_bytes(json.dumps(fields).encode() + b"\n" + rest)
    code, stderr = run_emulator_expecting_failure(state_dir)
    assert code == 1
    assert "moto 4.0.0" in stderr and str(snapshot) in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_journal_damage_is_refused_but_a_torn_last_record_is_dropped(tmp_path: Path) -> None:
    state_dir = _stopped_state_dir(tmp_path, kill=True)
    segment = sorted(state_dir.glob("journal-*.log"))[0]
    intact = segment.read_bytes()

    # A crash while appending leaves half a record at the end: it was never acknowledged.
    segment.write_bytes(intact + intact[-40:-10])
    emulator = start_emulator_process(state_dir)
    try:
        value = emulator.client("ssm").get_parameter(Name="/kept-too")["Parameter"]["Value"]
        assert value == "v"
    finally:
        emulator.kill()

    # A flipped byte in a record that is followed by more records is damage, not a crash.
    segment = sorted(state_dir.glob("journal-*.log"))[0]
    damaged = bytearray(segment.read_bytes())
    header_end = damaged.index(b"\n") + 1
    damaged[header_end + 20] ^= 0xFF
    segment.write_bytes(bytes(damaged))
    _assert_refused(state_dir, segment.name)


def test_an_unwritable_state_dir_is_refused(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    with read_only_directory(state_dir):
        code, stderr = run_emulator_expecting_failure(state_dir)
    assert code == 1
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert str(state_dir) in lines[0] and "writable" in lines[0]
    assert list(state_dir.iterdir()) == []
