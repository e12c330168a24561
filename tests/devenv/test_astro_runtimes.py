"""Astro Runtime tags, pinned and floating, resolve through the runtime table."""

from __future__ import annotations

from pathlib import Path

import pytest

from flightdeck.devenv.astro import airflow_version_for_image
from flightdeck.devenv.astro_runtimes import RUNTIME_LINES, resolve_runtime_tag
from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.project import Project


@pytest.mark.parametrize(
    ("tag", "airflow", "release", "floating"),
    [
        ("3.1", "3.1.*", "3.1-12", True),
        ("3.1-base", "3.1.*", "3.1-12", True),
        ("3.1-python-3.12", "3.1.*", "3.1-12", True),
        ("3.1-python-3.12-base", "3.1.*", "3.1-12", True),
        ("3.1-3", "3.1.*", "3.1-3", False),
        ("3.1-3-python-3.12-base", "3.1.*", "3.1-3", False),
        ("3.3", "3.3.*", "3.3-2", True),
        ("3.0", "3.0.*", None, True),
        ("12", "2.10.*", "12.8.0", True),
        ("12-base", "2.10.*", "12.8.0", True),
        ("12-python-3.11", "2.10.*", "12.8.0", True),
        ("12.8", "2.10.*", "12.8.0", True),
        ("12.2", "2.10.*", None, True),
        ("12.1.0-slim", "2.10.*", "12.1.0", False),
        ("9.4.0-python-3.11-base", "2.7.*", "9.4.0", False),
    ],
)
def test_tags_resolve_to_their_line(
    tag: str, airflow: str, release: str | None, floating: bool
) -> None:
    resolved = resolve_runtime_tag(tag)
    assert (resolved.airflow, resolved.release, resolved.floating) == (airflow, release, floating)


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("astrocrpublic.azurecr.io/runtime:3.1", "3.1.*"),
        ("quay.io/astronomer/astro-runtime:12", "2.10.*"),
        ("quay.io/astronomer/astro-runtime:12-base", "2.10.*"),
        ("astrocrpublic.azurecr.io/runtime:3.2-python-3.12", "3.2.*"),
    ],
)
def test_floating_images_give_the_airflow_version(image: str, version: str) -> None:
    assert airflow_version_for_image(image) == version


@pytest.mark.parametrize(
    ("tag", "nearest"),
    [
        ("3.9", "3.3 (Airflow 3.3, newest 3.3-2)"),
        ("3.9-1-base", "3.3 (Airflow 3.3, newest 3.3-2)"),
        ("99.0.0", "9 (Airflow 2.7)"),
        ("latest", "3.3 (Airflow 3.3, newest 3.3-2)"),
    ],
)
def test_an_unknown_tag_is_one_line_naming_the_nearest_lines(tag: str, nearest: str) -> None:
    with pytest.raises(DevEnvError, match=r"^Dockerfile: unknown Astro Runtime tag") as caught:
        resolve_runtime_tag(tag)
    message = str(caught.value)
    assert "\n" not in message and nearest in message and "nearest known" in message


def test_a_floating_tag_in_an_astro_project_sets_the_airflow_version(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM astrocrpublic.azurecr.io/runtime:3.1\n")
    assert Project(tmp_path).load_config().airflow_version == "3.1.*"


def test_every_line_is_well_formed() -> None:
    for line in RUNTIME_LINES:
        assert line.airflow.endswith(".*")
        if line.newest is not None:
            assert resolve_runtime_tag(line.newest).line == line
