"""`flightdeck quickstart`: the whole product on one machine, narrated step by step.

It starts the embedded default (SQLite, the AWS emulator, the local runtime, the worker)
in this process and then plays every part through the same doors real users use: the
Owner through the control plane's HTTP API, the customer with their own credentials in
the emulated customer account, Airflow through its REST API. Nothing is faked for the
demo: the cluster is provisioned by the reconcile worker through the customer's role, and
the DAG's secret comes from the emulator's Secrets Manager.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flightdeck.cli.client import ApiClient
from flightdeck.cli.errors import CliError
from flightdeck.runtime.base import DeploymentSpec
from flightdeck.runtime.local import LocalRuntime

if TYPE_CHECKING:
    from flightdeck.api.server_lock import ServerLock

OWNER_EMAIL = "owner@quickstart.example"
CLUSTER = "quickstart"
DEPLOYMENT = "quickstart"
WORKSPACE = "Quickstart"
SECRETS_DAG = "secrets_example"
SECRET_VARIABLE = "example_api_key"
SECRET_CONNECTION = "example_database"
TOTAL_STEPS = 10


class QuickstartFailed(Exception):
    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


@dataclass
class Outcome:
    control_plane_url: str = ""
    owner_email: str = OWNER_EMAIL
    owner_password: str = ""
    airflow_url: str = ""
    airflow_username: str = ""
    airflow_password: str = ""
    external_id: str = ""
    dag_run_id: str = ""
    timings: list[tuple[str, float]] = field(default_factory=list)


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise CliError("no free TCP port on 127.0.0.1")


class Quickstart:
    def __init__(
        self,
        data_dir: Path,
        port: int,
        airflow_version: str,
        say: Callable[[str], None],
        timeout: float = 900.0,
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.airflow_version = airflow_version
        self.say = say
        self.timeout = timeout
        self.outcome = Outcome()
        self.client: ApiClient | None = None
        self.org_id = ""
        self.account_id = ""
        self._server: Any = None
        self._lock: ServerLock | None = None
        self._thread: threading.Thread | None = None
        self._step = 0
        self._step_title = "starting"
        self.deployment_id: str | None = None
        self._secret_values: list[str] = []

    # -- narration --------------------------------------------------------------------------
    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        self._step += 1
        self._step_title = title
        self.say(f"\n[{self._step}/{TOTAL_STEPS}] {title}")
        started = time.monotonic()
        try:
            yield
        except QuickstartFailed:
            raise
        except CliError as exc:
            raise QuickstartFailed(title, exc.message) from None
        elapsed = time.monotonic() - started
        self.outcome.timings.append((title, elapsed))
        self.say(f"      done in {elapsed:.1f}s")

    def detail(self, message: str) -> None:
        self.say(f"      {message}")

    def fail(self, reason: str) -> QuickstartFailed:
        return QuickstartFailed(self._step_title, reason)

    @property
    def api(self) -> ApiClient:
        assert self.client is not None
        return self.client

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> Outcome:
        self.start_control_plane()
        self.sign_up_owner()
        self.reveal_external_id()
        role_arn = self.customer_creates_role()
        self.verify_role(role_arn)
        self.preflight()
        self.provision_cluster()
        self.create_deployment()
        self.deploy_example_project()
        self.run_secrets_dag()
        return self.outcome

    def start_control_plane(self) -> None:
        with self.step("Start the control plane: SQLite, AWS emulator, worker, local runtime"):
            listener = self._own_port_and_data_dir()
            self._reset_data_dir()
            import uvicorn

            from flightdeck.api.app import create_app
            from flightdeck.config import Settings

            settings = Settings(
                data_dir=self.data_dir,
                port=self.port,
                secret_key=secrets.token_urlsafe(48),
                max_requeue_seconds=1.0,
            )
            config = uvicorn.Config(
                create_app(settings), host="127.0.0.1", port=self.port,
                log_level="warning", access_log=False, log_config=None,
            )
            self._server = uvicorn.Server(config)
            self._thread = threading.Thread(
                target=self._server.run,
                kwargs={"sockets": [listener]},
                name="flightdeck-quickstart-server",
                daemon=True,
            )
            self._thread.start()
            url = f"http://127.0.0.1:{self.port}"
            self._wait_for(lambda: self._healthy(url), 60, "the control plane did not start")
            self.client = ApiClient(url=url, token="")
            self.outcome.control_plane_url = url
            self.detail(f"control plane at {url} (database {self.data_dir / 'flightdeck.db'})")
            running = self._server.config.app.state.settings  # the emulator's, once started
            self.detail(f"AWS emulator at {running.aws_endpoint_url}: "
                        f"platform account {running.platform_account_id}")

    def sign_up_owner(self) -> None:
        with self.step("An Owner signs up, verifies the address and creates the organization"):
            password = secrets.token_urlsafe(12)
            self.api.post("/auth/signup", json={
                "email": OWNER_EMAIL, "password": password, "organization_name": "Quickstart"})
            token = self._verification_token_from_outbox()
            self.detail("verification mail read from the local outbox "
                        "(`flightdeck notifications list --local`)")
            verified = self.api.post("/auth/verify-email", json={
                "token": token, "password": password, "token_name": "quickstart"})
            self.client = ApiClient(url=self.api.url, token=verified["token"])
            self.org_id = self.api.get("/organizations")[0]["id"]
            self.outcome.owner_password = password
            self.detail(f"{OWNER_EMAIL} owns organization Quickstart ({self.org_id})")

    def _verification_token_from_outbox(self) -> str:
        """As a user of the embedded default would: read the mail the server could not send
        from its outbox and take the token from it."""
        from flightdeck.db.engine import make_engine, make_session_factory
        from flightdeck.services.auth import VERIFICATION_PREFIX
        from flightdeck.services.notifications import list_outbox

        engine = make_engine(f"sqlite:///{self.data_dir / 'flightdeck.db'}")
        try:
            with make_session_factory(engine)() as session:
                mails = list_outbox(session, OWNER_EMAIL)
        finally:
            engine.dispose()
        for mail in mails:
            found = re.search(re.escape(VERIFICATION_PREFIX) + r"[A-Za-z0-9_-]+", mail.body)
            if found:
                return found.group(0)
        raise self.fail("no verification mail in the outbox")

    def reveal_external_id(self) -> None:
        with self.step("The Owner reads the organization's AWS external ID (Owners only)"):
            data = self.api.get(f"/organizations/{self.org_id}/aws-external-id")
            self.outcome.external_id = data["external_id"]
            self.detail(f"external ID {data['external_id'][:6]}… (shown in full to Owners)")

    def customer_creates_role(self) -> str:
        with self.step("The customer creates the cross-account role from the template, "
                       "with their own credentials"):
            from flightdeck.aws.role_setup import RoleSetupError, ensure_cross_account_role

            setup = self.api.get(f"/organizations/{self.org_id}/aws/role-setup")
            session = self._customer_session()
            try:
                result = ensure_cross_account_role(
                    session, setup["platform_account_id"], self.outcome.external_id,
                    method="cloudformation", region="us-east-1",
                )
            except RoleSetupError as exc:
                raise self.fail(exc.message) from None
            self.account_id = result.role_arn.split(":")[4]
            self.detail(f"CloudFormation stack {setup['stack_name']} in customer account "
                        f"{self.account_id} created {result.role_arn}")
            return str(result.role_arn)

    def verify_role(self, role_arn: str) -> None:
        with self.step("The control plane verifies the role (trust, external ID, permissions)"):
            self.api.post(f"/organizations/{self.org_id}/aws/accounts",
                          json={"account_id": self.account_id, "role_arn": role_arn})
            account = self.api.post(
                f"/organizations/{self.org_id}/aws/accounts/{self.account_id}/verify")
            if account["status"] != "verified":
                failing = [c for c in account.get("checks", []) if c["status"] == "fail"]
                raise self.fail("; ".join(f"{c['name']}: {c['message']}" for c in failing)
                                or f"account is {account['status']}")
            self.detail(f"account {self.account_id}: verified")

    def preflight(self) -> None:
        with self.step("Preflight: quotas, clean account, permissions, region, CIDR"):
            report = self.api.post(
                f"/organizations/{self.org_id}/aws/accounts/{self.account_id}/preflight",
                json={"region": "us-east-1"})
            for check in report["checks"]:
                self.detail(f"{check['status']:<4} {check['name']}: {check['message']}")
            if report["status"] == "fail":
                raise self.fail("preflight failed (see the checks above)")

    def provision_cluster(self) -> None:
        with self.step("Provision the cluster through the customer's role (VPC … EKS, RDS, S3)"):
            cluster = self.api.post(f"/organizations/{self.org_id}/clusters", json={
                "account": self.account_id, "name": CLUSTER, "region": "us-east-1"})
            seen = 0
            deadline = time.monotonic() + self.timeout
            while True:
                cluster = self.api.get(f"/organizations/{self.org_id}/clusters/{cluster['id']}")
                events = self.api.get(
                    f"/organizations/{self.org_id}/clusters/{cluster['id']}/events")
                for event in events[seen:]:
                    if event["action"] in ("created", "deleted", "failed", "error"):
                        self.detail(f"{event['action']:<8} {event['resource'] or event['step']}"
                                    f"  {event['aws_id'] or ''}")
                seen = len(events)
                if cluster["phase"] == "Active":
                    break
                if cluster["phase"] == "Failed" or time.monotonic() > deadline:
                    raise self.fail(f"cluster is {cluster['phase']}: {cluster['last_error']}")
                time.sleep(0.5)
            self.detail(f"cluster {CLUSTER}: Active")

    def create_deployment(self) -> None:
        with self.step("Create a Deployment: real Airflow on the local runtime"):
            reader = self._customer_secrets()
            self.api.post(f"/organizations/{self.org_id}/workspaces", json={"name": WORKSPACE})
            backend_kwargs = json.dumps({"connections_prefix": "airflow/connections",
                                         "variables_prefix": "airflow/variables",
                                         "region_name": "us-east-1"})
            deployment = self.api.post(f"/organizations/{self.org_id}/deployments", json={
                "name": DEPLOYMENT, "workspace": WORKSPACE, "cluster": CLUSTER,
                "airflow_version": self.airflow_version,
                "environment": {
                    "AIRFLOW__SECRETS__BACKEND": "airflow.providers.amazon.aws.secrets."
                                                 "secrets_manager.SecretsManagerBackend",
                    "AIRFLOW__SECRETS__BACKEND_KWARGS": backend_kwargs,
                    "AWS_DEFAULT_REGION": "us-east-1",
                },
                "secret_environment": reader,
            })
            self.deployment_id = deployment["id"]
            self.detail(f"Deployment {DEPLOYMENT} ({deployment['id']}), Airflow "
                        f"{deployment['airflow_version']}; the worker prepares and starts it")
            from flightdeck.cli.deployment_cmd import wait_until_settled

            data = wait_until_settled(self.api, f"/organizations/{self.org_id}",
                                      deployment["id"], self.timeout, echo=self.detail)
            if data["phase"] != "Healthy":
                raise self.fail(f"Deployment is {data['phase']}: {data['health_message']}")
            self.outcome.airflow_url = data["airflow_url"] or ""

    def deploy_example_project(self) -> None:
        with self.step("Deploy the example project (every DAG parsed first)"):
            from flightdeck.cli.deploy_cmd import check_dags, wait_for_deploy
            from flightdeck.devenv.project import init_project
            from flightdeck.runtime.bundle import build_bundle

            project = self.data_dir / "project"
            init_project(project, self.airflow_version, force=True)
            self.detail(f"example project in {project}")
            dags = check_dags(project, self.detail)
            self.detail(f"parsed {len(dags)} DAG(s): {', '.join(dags)}")
            bundle = build_bundle(project, "dags")
            assert self.deployment_id is not None
            deploy = self.api.upload(
                f"/organizations/{self.org_id}/deployments/{self.deployment_id}/deploys",
                bundle, params={"kind": "dags", "description": "quickstart example project"})
            deploy = wait_for_deploy(self.api, f"/organizations/{self.org_id}",
                                     self.deployment_id, deploy["id"], self.timeout)
            if deploy["status"] != "succeeded":
                raise self.fail(f"deploy {deploy['status']}: {deploy['message']}")
            self.detail(f"deploy {deploy['id']} is serving")

    def run_secrets_dag(self) -> None:
        with self.step("Trigger the secrets example DAG; its secret comes from Secrets Manager"):
            from flightdeck.runtime.base import RuntimeError_

            runtime, spec = self._local_runtime()
            try:
                url, username, password = runtime.credentials(spec)
                self.outcome.airflow_url = url
                self.outcome.airflow_username = username
                self.outcome.airflow_password = password
                run_id = runtime.trigger_dag(spec, SECRETS_DAG)
                self.detail(f"DAG run {run_id} triggered")
                state = runtime.wait_for_run(spec, SECRETS_DAG, run_id, timeout=self.timeout)
            except RuntimeError_ as exc:
                raise self.fail(str(exc)) from None
            log = runtime.task_log(spec, SECRETS_DAG, run_id)
            if state != "success":
                last = (log.strip().splitlines() or ["no log"])[-1]
                raise self.fail(f"DAG run {run_id} ended {state}: {last}")
            if any(value in log for value in self._secret_values):
                raise self.fail("a secret value appeared unmasked in the task log")
            if f"variable {SECRET_VARIABLE}: ***" not in log:
                raise self.fail("the task log does not show the variable read from Secrets "
                                "Manager")
            self.outcome.dag_run_id = run_id
            self.detail(f"DAG run {run_id}: success; the task read {SECRET_VARIABLE} and "
                        f"{SECRET_CONNECTION} from Secrets Manager, masked as *** in its log")

    # -- the customer's side (their own credentials, in the emulated customer account) -----
    def _customer_session(self) -> Any:
        """The emulated customer account's admin, from the profile the embedded emulator
        wrote under the data directory (the customer's own credentials, not the platform's)."""
        from flightdeck.aws.session import customer_session

        aws_dir = self.data_dir / "aws"
        return customer_session(
            "customer", "us-east-1", config_files=(aws_dir / "config", aws_dir / "credentials")
        )

    def _customer_secrets(self) -> dict[str, str]:
        """The customer stores the DAG's secrets and gives Airflow a read-only identity."""
        from flightdeck.aws.session import client

        session = self._customer_session()
        sm = client(session, "secretsmanager", "us-east-1")
        self._secret_values = [secrets.token_urlsafe(16), secrets.token_urlsafe(16)]
        sm.create_secret(Name=f"airflow/variables/{SECRET_VARIABLE}",
                         SecretString=self._secret_values[0])
        sm.create_secret(Name=f"airflow/connections/{SECRET_CONNECTION}", SecretString=json.dumps(
            {"conn_type": "postgres", "host": "db.quickstart.internal", "login": "airflow",
             "password": self._secret_values[1], "port": 5432}))
        iam = client(session, "iam")
        user = "flightdeck-quickstart-airflow"
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="read-airflow-secrets", PolicyDocument=
                            json.dumps({"Version": "2012-10-17", "Statement": [{
                                "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                "Resource": f"arn:aws:secretsmanager:us-east-1:"
                                            f"{self.account_id}:secret:airflow/*"}]}))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        self.detail(f"customer stored airflow/variables/{SECRET_VARIABLE} and "
                    f"airflow/connections/{SECRET_CONNECTION} in Secrets Manager; Airflow reads "
                    f"them as IAM user {user} (GetSecretValue on airflow/* only)")
        return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}

    # -- helpers ----------------------------------------------------------------------------
    def _local_runtime(self) -> tuple[LocalRuntime, DeploymentSpec]:
        """The runtime serving the Deployment in this process, and its spec."""
        from flightdeck.db.models import Deployment
        from flightdeck.services.deployments.requests import runtime_spec
        from flightdeck.services.deployments.runtimes import local_runtime

        app = self._server.config.app
        with app.state.session_factory() as session:
            row = session.get(Deployment, self.deployment_id)
            spec = runtime_spec(row, app.state.settings.secret_key)
        settings = app.state.settings
        runtime = local_runtime(settings.deployments_dir, settings.sandbox_network)
        assert isinstance(runtime, LocalRuntime)
        return runtime, spec

    @staticmethod
    def _healthy(url: str) -> bool:
        import httpx

        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def _wait_for(self, ready: Callable[[], bool], timeout: float, reason: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise self.fail(f"{reason} within {timeout:.0f}s")
            time.sleep(0.5)

    def _own_port_and_data_dir(self) -> socket.socket:
        """Bind the control plane's port (another free one if it is taken), then take the
        data directory's lock, before anything is written: a quickstart (or server) already
        running there is refused by name, never wiped."""
        from flightdeck.api.server_lock import ServerLock, ServerLockError
        from flightdeck.sockets import listen

        try:
            listener = listen("127.0.0.1", self.port)
        except OSError:
            listener = listen("127.0.0.1", 0)
        self.port = int(listener.getsockname()[1])
        try:
            self._lock = ServerLock.take(self.data_dir)
        except ServerLockError as exc:
            listener.close()
            raise self.fail(str(exc)) from None
        self._lock.announce(f"http://127.0.0.1:{self.port}")
        return listener

    def _reset_data_dir(self) -> None:
        """Each run starts from nothing: a fresh organization, account and cluster, so the
        narration shows every step. The lock (held by this run) stays."""
        from flightdeck.api.server_lock import LOCK_FILE

        LocalRuntime(self.data_dir / "deployments").stop_all()
        for entry in self.data_dir.iterdir():
            if entry.name == LOCK_FILE:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def shutdown(self) -> None:
        """Delete the Deployment (its Airflow processes stop, its ports are freed), then stop
        the control plane. Safe to call after a failure at any step."""
        if self.client is not None and self.deployment_id and self.org_id:
            self.say("\nStopping: deleting the Deployment (its Airflow stops)…")
            with contextlib.suppress(CliError):
                self.api.delete(f"/organizations/{self.org_id}/deployments/{self.deployment_id}")
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    data = self.api.get(
                        f"/organizations/{self.org_id}/deployments/{self.deployment_id}")
                    if data["phase"] == "Deleted":
                        break
                    time.sleep(0.5)
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(60)
        with contextlib.suppress(Exception):
            LocalRuntime(self.data_dir / "deployments").stop_all()
        if self._lock is not None:
            self._lock.release()
            self._lock = None
