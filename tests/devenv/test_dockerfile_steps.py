"""A Dockerfile's ENV/ARG/RUN pip install applied natively, the rest reported; packages.txt
checked against the host's dpkg database. No Airflow is started."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flightdeck.devenv import venvs
from flightdeck.devenv.astro_packages import PREINSTALLED
from flightdeck.devenv.dockerfile import read_dockerfile
from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.ospackages import check_packages
from flightdeck.devenv.project import Project
from flightdeck.devenv.supervisor import prepare

ASTRO_DOCKERFILE = """\
# syntax=docker/dockerfile:1
ARG REGION=eu-west-1
FROM astrocrpublic.azurecr.io/runtime:3.1-python-3.12
ARG BUILD_ONLY
ENV AIRFLOW__CORE__TEST_CONNECTION=Enabled \\
    DATA_BUCKET="s3://data-${REGION}"
ENV LEGACY_FORM a value with spaces
ENV PATH=/usr/local/airflow/.local/bin:$PATH
COPY requirements.txt /usr/local/airflow/requirements.txt
RUN pip install --no-cache-dir "pandas<3" pyarrow==17.0.0 && \\
    python -m pip install -i https://example.invalid/simple polars
RUN pip install -r /usr/local/airflow/requirements.txt "apache-airflow==3.1.0"
COPY include/certs /etc/certs
USER root
RUN apt-get update && apt-get install -y git
"""


def test_env_and_arg_are_applied_and_pip_packages_collected(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(ASTRO_DOCKERFILE)
    steps = read_dockerfile(path)
    assert steps.environment == {
        "REGION": "eu-west-1",
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "DATA_BUCKET": "s3://data-eu-west-1",
        "LEGACY_FORM": "a value with spaces",
    }
    assert steps.requirements == ["pandas<3", "pyarrow==17.0.0", "polars"]
    assert steps.not_applied == ["COPY (line 13)", "USER (line 14)", "RUN (line 15)"]
    assert steps.skipped_variables == ["PATH"]
    notes = steps.notes()
    assert notes[0] == (
        "Dockerfile: COPY (line 13), USER (line 14), RUN (line 15) not applied in a native "
        "run; use `flightdeck dev compose` to run the project in its image"
    )
    assert "ENV PATH" in notes[1]


def test_the_scaffold_dockerfile_needs_no_note(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(
        "FROM apache/airflow:3.1.0-python3.11\nCOPY requirements.txt /requirements.txt\n"
        'RUN pip install --no-cache-dir "apache-airflow==3.1.0" apache-airflow-providers-amazon'
        " \\\n    -r /requirements.txt\n"
    )
    steps = read_dockerfile(path)
    assert steps.not_applied == [] and steps.notes() == []
    assert steps.requirements == ["apache-airflow-providers-amazon"]


def test_a_bad_env_line_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM apache/airflow:3.1.0\nENV 1BAD=x\n")
    with pytest.raises(DevEnvError, match=r"^Dockerfile line 2: ENV '1BAD' is not a valid"):
        read_dockerfile(path)
    path.write_text('FROM apache/airflow:3.1.0\nENV A="open\n')
    with pytest.raises(DevEnvError, match=r"^Dockerfile line 2: ENV has an unclosed quote"):
        read_dockerfile(path)


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs a dpkg-based host")
def test_packages_are_reported_present_or_missing() -> None:
    check = check_packages(["bash", "flightdeck-no-such-package"])
    assert check.present == ["bash"] and check.missing == ["flightdeck-no-such-package"]
    note = check.note()
    assert note is not None and "present on this machine: bash" in note
    assert "missing: flightdeck-no-such-package" in note and "dev compose" in note


def test_extra_requirements_change_the_venv_key_only_when_present() -> None:
    base = venvs.venv_key("3.1.*", ["pandas"])
    assert venvs.venv_key("3.1.*", ["pandas"], ()) == base
    assert venvs.venv_key("3.1.*", ["pandas"], ["polars"]) != base


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs a dpkg-based host")
def test_prepare_applies_the_dockerfile_and_reports_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """prepare() end to end, with the venv it would use already in the cache (not built)."""
    root = tmp_path / "proj"
    (root / "dags").mkdir(parents=True)
    (root / "Dockerfile").write_text(ASTRO_DOCKERFILE)
    (root / "packages.txt").write_text("bash\nflightdeck-no-such-package\n")
    (root / ".env").write_text('DATA_BUCKET=s3://from-dotenv\nCERT="a\nb"\n')
    cache = tmp_path / "cache"
    monkeypatch.setenv("FLIGHTDECK_DEV_CACHE_DIR", str(cache))
    runtime_packages = PREINSTALLED["3.1"]  # the Dockerfile names an Astro Runtime 3.1 image
    key = venvs.venv_key("3.1.*", [], ["pandas<3", "pyarrow==17.0.0", "polars"], runtime_packages)
    (cache / key).mkdir(parents=True)
    (cache / key / ".flightdeck-complete").write_text("3.1.*\n")
    prepared = prepare(Project(root), lambda _m: None)
    assert prepared.venv == cache / key
    assert prepared.dotenv["DATA_BUCKET"] == "s3://from-dotenv"  # .env wins over the image
    assert prepared.dotenv["LEGACY_FORM"] == "a value with spaces"
    assert prepared.dotenv["CERT"] == "a\nb"
    assert "PATH" not in prepared.dotenv
    joined = "\n".join(prepared.notes)
    assert "USER (line 14)" in joined and "missing: flightdeck-no-such-package" in joined
    assert "RUN pip install pandas<3 pyarrow==17.0.0 polars added to the venv" in joined
