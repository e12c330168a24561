"""`flightdeck deploy`: a DAG that does not import stops the deploy on the developer's
machine with the file and the message, before anything is uploaded; `deploy NAME` takes any
name (`list` and `code` too) and the history is `deployment deploys NAME`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devenv.cli_helpers import VENV_CACHE
from flightdeck.airflow_versions import DEFAULT_AIRFLOW_VERSION
from flightdeck.cli.deploy_cmd import check_dags
from flightdeck.cli.errors import CliError
from flightdeck.cli.main import app
from flightdeck.devenv.project import init_project


@pytest.mark.slow
def test_an_import_error_aborts_with_file_and_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLIGHTDECK_DEV_CACHE_DIR", VENV_CACHE)
    project = tmp_path / "proj"
    init_project(project, DEFAULT_AIRFLOW_VERSION, force=False)
    assert set(check_dags(project, lambda _m: None)) >= {"secrets_example", "example_pipeline"}
    (project / "dags" / "broken.py").write_text(
        "from airflow.sdk import dag\nimport package_that_is_not_installed\n"
    )
    with pytest.raises(CliError) as refused:
        check_dags(project, lambda _m: None)
    assert "nothing was deployed" in refused.value.message
    assert "dags/broken.py: ModuleNotFoundError: No module named " \
        "'package_that_is_not_installed'" in refused.value.message


def test_deploy_takes_any_deployment_name_and_the_history_is_deployment_deploys(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    env = {**os.environ, "FLIGHTDECK_URL": "http://127.0.0.1:9", "FLIGHTDECK_TOKEN": "x",
           "FLIGHTDECK_CONFIG_DIR": str(tmp_path)}
    for args in (["deploy", "analytics", "--dags"], ["deploy"], ["deploy", "list"],
                 ["deploy", "code"], ["deployment", "deploys", "analytics"]):
        result = runner.invoke(app, args, env=env)
        # Each form parses and reaches the server (none listens on port 9): `list` and
        # `code` are Deployment names like any other.
        assert result.exit_code != 2, result.output
        assert isinstance(result.exception, CliError)
        assert "no flightdeck server is running at http://127.0.0.1:9" in result.exception.message
    two = runner.invoke(app, ["deploy", "list", "analytics"], env=env)
    assert two.exit_code == 2 and "unexpected extra argument" in two.output.lower()
    helped = runner.invoke(app, ["deploy", "--help"], env=env)
    assert helped.exit_code == 0
    assert "flightdeck deployment deploys DEPLOYMENT" in " ".join(helped.output.split())
    assert "[DEPLOYMENT]" in helped.output
