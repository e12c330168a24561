"""Point Airflow at AWS Secrets Manager or SSM Parameter Store, and prove it works.

The backends themselves are the Amazon provider's; we only write their configuration into
``.env`` and, for ``check``, run the provider's own backend and credential resolution inside
the project's venv with the exact environment Airflow gets. Values are masked inside that
child process, so an unmasked secret never reaches our output.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from typing import Any

from flightdeck.devenv.envfile import update_env_file
from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.project import Project

BACKENDS = {
    "aws-secrets-manager": (
        "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend",
        "airflow/connections",
        "airflow/variables",
    ),
    "aws-ssm": (
        "airflow.providers.amazon.aws.secrets.systems_manager.SystemsManagerParameterStoreBackend",
        "/airflow/connections",
        "/airflow/variables",
    ),
}
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")


def backend_settings(
    kind: str, region: str | None, connections_prefix: str | None, variables_prefix: str | None
) -> dict[str, str]:
    """The two ``.env`` entries for a backend; kwargs are JSON because Airflow parses them so."""
    if kind not in BACKENDS:
        raise DevEnvError(
            f"secrets backend {kind!r} is not known; use one of: {', '.join(BACKENDS)}"
        )
    if region is not None and not _REGION.match(region):
        raise DevEnvError(f"--region {region!r} is not an AWS region name such as eu-west-1")
    path, default_conn, default_var = BACKENDS[kind]
    kwargs: dict[str, Any] = {
        "connections_prefix": default_conn if connections_prefix is None else connections_prefix,
        "variables_prefix": default_var if variables_prefix is None else variables_prefix,
    }
    if region:
        kwargs["region_name"] = region
    return {
        "AIRFLOW__SECRETS__BACKEND": path,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(kwargs, separators=(",", ":")),
    }


def use_backend(project: Project, settings: dict[str, str]) -> None:
    update_env_file(project.env_file, dict(settings), comment="Secrets backend (flightdeck dev)")


def disable_backend(project: Project) -> None:
    update_env_file(
        project.env_file,
        {"AIRFLOW__SECRETS__BACKEND": None, "AIRFLOW__SECRETS__BACKEND_KWARGS": None},
    )


# Runs inside the project's venv. It prints one JSON line; every value is masked here.
_CHECK_SCRIPT = r"""
import importlib, json, os, sys
from airflow.configuration import conf


def mask(value):
    return None if value in (None, "") else "***"


def partly(value):
    if not value:
        return None
    return value[:4] + "***" if len(value) > 8 else "***"


def run(out, want_var, want_conn):
    if not out["backend"]:
        return
    module, _, name = out["backend"].rpartition(".")
    kwargs = json.loads(conf.get("secrets", "backend_kwargs", fallback="") or "{}")
    out["kwargs"] = {k: v for k, v in kwargs.items() if "prefix" in k or k == "region_name"}
    backend = getattr(importlib.import_module(module), name)(**kwargs)
    from airflow.providers.amazon.aws.hooks.base_aws import SessionFactory
    from airflow.providers.amazon.aws.utils.connection_wrapper import AwsConnectionWrapper

    wrapper = AwsConnectionWrapper.from_connection_metadata(
        conn_id=f"{name}__connection", extra=backend.kwargs
    )
    session = SessionFactory(conn=wrapper).create_session()
    creds = session.get_credentials()
    out["credentials"] = {
        "method": getattr(creds, "method", None),
        "profile": session.profile_name,
        "region": wrapper.region_name or session.region_name,
        "endpoint_url": wrapper.endpoint_url or os.environ.get("AWS_ENDPOINT_URL"),
    }
    if creds is None:
        raise RuntimeError("no AWS credentials found; choose a profile with flightdeck dev aws use")
    # Resolving may fail here (an expired SSO session): the source above is reported anyway.
    out["credentials"]["access_key_id"] = partly(creds.get_frozen_credentials().access_key)
    if want_var:
        value = backend.get_variable(want_var)
        out["variable"] = {"key": want_var, "found": value is not None, "value": mask(value)}
    if want_conn:
        c = backend.get_connection(want_conn)
        out["connection"] = {"conn_id": want_conn, "found": c is not None}
        if c is not None:
            out["connection"].update({
                "conn_type": c.conn_type, "host": c.host, "port": c.port, "schema": c.schema,
                "login": partly(c.login), "password": mask(c.password),
                "extra_keys": sorted(c.extra_dejson) if c.extra else [],
            })


out = {"backend": conf.get("secrets", "backend", fallback="") or None}
try:
    run(out, sys.argv[1] or None, sys.argv[2] or None)
except Exception as exc:  # reported as one line by the CLI; AWS errors carry no secret values
    out["error"] = f"{type(exc).__name__}: {exc}"[:400]
print(json.dumps(out))
"""


@dataclass(frozen=True)
class CheckResult:
    data: dict[str, Any]

    @property
    def ok(self) -> bool:
        if "error" in self.data or not self.data.get("backend"):
            return False
        found = [self.data[k]["found"] for k in ("variable", "connection") if k in self.data]
        return all(found)


def check(
    python: str, env: dict[str, str], variable: str | None, connection: str | None
) -> CheckResult:
    """Resolve the named secrets with the provider's backend, as Airflow's processes would."""
    result = subprocess.run(
        [python, "-c", _CHECK_SCRIPT, variable or "", connection or ""],
        env=env, capture_output=True, text=True, check=False, timeout=120,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if not lines:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise DevEnvError(f"The secrets check could not run in the project's venv: {last[:300]}")
    return CheckResult(json.loads(lines[-1]))
