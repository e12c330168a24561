"""The Helm values flightdeck renders, awake and hibernated, checked against the official Apache
Airflow chart's own JSON schema (``../shared/airflow-chart``: data files of the chart, read from
there and never copied into the project), merged over the chart's defaults as Helm does."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from tests.runtime.test_k8s_rendering import VARIANTS, make_cluster, make_spec

from flightdeck.runtime.helm_values import SCALED_COMPONENTS, render_values

CHART = Path(__file__).resolve().parents[2].parent / "shared" / "airflow-chart"
pytestmark = pytest.mark.skipif(
    not (CHART / "values.schema.json").is_file(),
    reason=f"the chart's values schema is not at {CHART} (a clone outside this workplace)",
)


@cache
def _chart() -> tuple[dict[str, Any], dict[str, Any]]:
    schema = json.loads((CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    return schema, defaults


def _merged(base: Any, override: Any) -> Any:
    """Helm's coalescing of user values over the chart's: maps merge, anything else replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {k: _merged(base.get(k), v) if k in base else v for k, v in override.items()} | {
            k: v for k, v in base.items() if k not in override
        }
    return override


def _check(values: dict[str, Any]) -> None:
    schema, defaults = _chart()
    jsonschema.Draft7Validator(schema).validate(_merged(defaults, values))


@pytest.mark.parametrize("hibernated", [False, True], ids=["awake", "hibernated"])
@pytest.mark.parametrize(("executor", "version"), VARIANTS)
def test_rendered_values_satisfy_the_charts_schema(
    executor: str, version: str, hibernated: bool
) -> None:
    spec = make_spec(executor=executor, airflow_version=version, hibernated=hibernated)
    _check(render_values(spec, make_cluster(), deploy_id="d-1"))


def test_the_schema_check_catches_a_wrong_value() -> None:
    values = render_values(make_spec(), make_cluster())
    values["scheduler"]["replicas"] = "two"
    with pytest.raises(jsonschema.ValidationError):
        _check(values)


@pytest.mark.parametrize(("executor", "version"), VARIANTS)
def test_hibernated_values_leave_no_pod_and_change_nothing_else(
    executor: str, version: str
) -> None:
    awake_spec = make_spec(executor=executor, airflow_version=version)
    awake = render_values(awake_spec, make_cluster(), deploy_id="d-1")
    asleep = render_values(replace(awake_spec, hibernated=True), make_cluster(), deploy_id="d-1")
    scaled = [name for name in SCALED_COMPONENTS if "replicas" in asleep.get(name, {})]
    assert {"scheduler", "triggerer"} <= set(scaled)
    assert ("apiServer" if version.startswith("3") else "webserver") in scaled
    assert all(asleep[name]["replicas"] == 0 for name in scaled)
    if executor == "CeleryExecutor":
        assert asleep["workers"]["replicas"] == 0 and asleep["workers"]["keda"]["enabled"] is False
    assert asleep["redis"]["enabled"] is False
    assert asleep["migrateDatabaseJob"]["enabled"] is False
    # The database, the secrets, the code and the logs are the same: waking finds them.
    for key in ("data", "fernetKeySecretName", "config", "airflowPodAnnotations", "env", "secret"):
        assert asleep[key] == awake[key]
