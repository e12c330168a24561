"""Hostile project files: every reader answers with a value or one DevEnvError line, fast."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flightdeck.devenv.astro import airflow_version_for_image, airflow_version_from_dockerfile
from flightdeck.devenv.envfile import parse_env_text, read_env_file
from flightdeck.devenv.errors import DevEnvError
from flightdeck.devenv.project import load_yaml, parse_settings
from flightdeck.devenv.safeyaml import MAX_YAML_DEPTH, SettingsYamlError, load_settings_yaml
from flightdeck.devenv.textfile import MAX_PROJECT_FILE_BYTES

FUZZ = settings(
    max_examples=200,
    deadline=timedelta(seconds=5),  # per input: no file may stall a reader
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_YAML_CHARS = st.sampled_from(list("airflow:connections- \n\t[]{},&*!|>'\"#%@`?0123456789."))
_SETTINGS = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10), st.dates()),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "airflow",
                    "connections",
                    "pools",
                    "variables",
                    "conn_id",
                    "conn_type",
                    "conn_port",
                    "conn_extra",
                    "pool_name",
                    "pool_slot",
                    "variable_name",
                    "variable_value",
                ]
            ),
            children,
            max_size=4,
        ),
    ),
    max_leaves=25,
)


def _one_line(exc: Exception) -> None:
    assert str(exc) and "\n" not in str(exc)


@FUZZ
@given(st.text(max_size=200))
def test_env_text_is_parsed_or_refused(text: str) -> None:
    try:
        values = parse_env_text(text)
    except DevEnvError as exc:
        _one_line(exc)
        return
    assert all("\x00" not in value for value in values.values())


@FUZZ
@given(st.binary(max_size=200))
def test_env_bytes_are_read_or_refused(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / ".env"
    path.write_bytes(data)
    try:
        read_env_file(path)
    except DevEnvError as exc:
        _one_line(exc)


@FUZZ
@given(st.text(_YAML_CHARS, max_size=120))
def test_yaml_text_is_loaded_or_refused(text: str) -> None:
    try:
        load_settings_yaml(text)
    except SettingsYamlError as exc:
        _one_line(exc)


@FUZZ
@given(st.binary(max_size=200))
def test_settings_bytes_are_loaded_or_refused(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "airflow_settings.yaml"
    path.write_bytes(data)
    try:
        parse_settings(load_yaml(path))
    except DevEnvError as exc:
        _one_line(exc)


@FUZZ
@given(_SETTINGS)
def test_any_settings_structure_is_validated_or_refused(raw: Any) -> None:
    for document in (raw, {"airflow": raw}):
        try:
            parse_settings(document)
        except DevEnvError as exc:
            _one_line(exc)


@FUZZ
@given(st.text(max_size=80))
def test_any_base_image_is_mapped_or_refused(image: str) -> None:
    try:
        airflow_version_for_image(image)
    except DevEnvError as exc:
        _one_line(exc)


@pytest.mark.timeout(60)
def test_limits_hold_for_large_files(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("\n" * 500_000 + "FROM apache/airflow:3.1.0\n")  # linear FROM search
    assert airflow_version_from_dockerfile(dockerfile) == "3.1.0"
    dockerfile.write_bytes(b"#" * (MAX_PROJECT_FILE_BYTES + 1))
    with pytest.raises(DevEnvError, match="larger than"):
        airflow_version_from_dockerfile(dockerfile)
    with pytest.raises(SettingsYamlError, match="levels deep"):
        load_settings_yaml("a: " + "[" * (MAX_YAML_DEPTH + 1) + "]" * (MAX_YAML_DEPTH + 1))
    depth = MAX_YAML_DEPTH - 1  # the mapping is one level
    assert load_settings_yaml("a: " + "[" * depth + "]" * depth) is not None
