"""The ``.env`` parser against the behaviours the Compose specification documents for
``.env`` files (syntax and interpolation pages); the cases are our own."""

from __future__ import annotations

from pathlib import Path

import pytest

from flightdeck.devenv.envfile import parse_env_text, read_env_file, update_env_file
from flightdeck.devenv.errors import DevEnvError


def parse(text: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    return parse_env_text(text, ".env", environ or {})


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("V=plain", "plain"),
        ('V="plain"', "plain"),
        ("V='plain'", "plain"),
        ("V=word # a comment", "word"),
        ("V=word# part of the value", "word# part of the value"),
        ('V="keep # this"', "keep # this"),
        ('V="quoted" # a comment', "quoted"),
        ("V='$HOME and ${HOME}'", "$HOME and ${HOME}"),
        ("V='it\\'s'", "it's"),
        ('V="{\\"k\\": \\"v\\"}"', '{"k": "v"}'),
        ('V="a\\tb\\nc\\\\d"', "a\tb\nc\\d"),
        ("V='a\\tb'", "a\\tb"),
        ("V=a\\tb", "a\\tb"),
        ("V=", ""),
        ('V=""', ""),
        ("export V=exported", "exported"),
        ("export\tV=tab", "tab"),
        ("  V = spaced  ", "spaced"),
        ("V=price $$5", "price $5"),
        ("V=cost $5", "cost $5"),
    ],
)
def test_values_follow_compose_rules(line: str, value: str) -> None:
    assert parse(line + "\n") == {"V": value}


def test_multi_line_quoted_values_keep_their_line_breaks() -> None:
    text = "KEY=\"-----BEGIN-----\nabc\n-----END-----\"\nNEXT=1\nSQ='one\ntwo'\r\n"
    assert parse(text) == {
        "KEY": "-----BEGIN-----\nabc\n-----END-----",
        "NEXT": "1",
        "SQ": "one\ntwo",
    }


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("A=x\nV=${A}", "x"),
        ("A=x\nV=$A/y", "x/y"),
        ('A=x\nV="${A}-y"', "x-y"),
        ("V=${UNSET}", ""),
        ("V=${UNSET:-fallback}", "fallback"),
        ("E=\nV=${E:-fallback}", "fallback"),
        ("E=\nV=${E-fallback}", ""),
        ("V=${UNSET-fallback}", "fallback"),
        ("A=x\nV=${A:+alt}", "alt"),
        ("V=${UNSET:+alt}", ""),
        ("V=${UNSET:-${ALSO:-deep}}", "deep"),
        ("V=${FROM_ENV}", "shell"),
        ("FROM_ENV=file\nV=${FROM_ENV}", "file"),
        ('V="\\${A}"', "${A}"),
    ],
)
def test_interpolation(text: str, value: str) -> None:
    assert parse(text + "\n", {"FROM_ENV": "shell"})["V"] == value


def test_the_process_environment_is_used_unless_a_mapping_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FD_ENV_TEST", "from-process")
    assert parse_env_text("V=$FD_ENV_TEST\n")["V"] == "from-process"
    assert parse_env_text("V=$FD_ENV_TEST\n", environ={})["V"] == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A=1\n\nB='never closed\nC=3\n", r"^\.env line 3: the value of B opens a ' quote"),
        ('A="one\ntwo" extra\n', r"^\.env line 2: unexpected text after the quoted value of A"),
        ("A=1\nV=${REQ:?set REQ first}\n", r"^\.env line 2 \(V\): REQ is required: set REQ first"),
        ("V=${OPEN\n", r"^\.env line 1 \(V\): a '\$\{' is never closed"),
        ("V=${A/x/y}\n", r"^\.env line 1 \(V\): unsupported expression"),
        ("V=${}\n", r"^\.env line 1 \(V\): '\$\{' must be followed by a variable name"),
        ('A="multi\nline\x00"\n', r"^\.env line 2: contains a NUL byte"),
    ],
)
def test_errors_are_one_line_with_the_line_number(text: str, message: str) -> None:
    with pytest.raises(DevEnvError, match=message) as caught:
        parse(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "value", ["plain", "two words", "$dollar", "it's $5", "back\\slash", "multi\nline", "'\"\\$"]
)
def test_written_values_read_back_unchanged(tmp_path: Path, value: str) -> None:
    path = tmp_path / ".env"
    update_env_file(path, {"K": value})
    assert read_env_file(path) == {"K": value}


def test_update_replaces_a_multi_line_assignment_whole(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text('# top\nCERT="line1\nOTHER=inside\nline3"\nKEEP=1\n')
    update_env_file(path, {"CERT": "new"})
    assert path.read_text() == "# top\nCERT=new\nKEEP=1\n"


def test_strict_mode_refuses_undefined_names_for_deployments() -> None:
    assert parse_env_text("A=x\nB=$A-y\nC=$$5\n", "environment", {}, strict=True) == {
        "A": "x",
        "B": "x-y",
        "C": "$5",
    }
    with pytest.raises(DevEnvError, match=r"^environment line 1 \(P\): \$word is not defined"):
        parse_env_text("P=pa$word\n", "environment", {}, strict=True)


def test_the_console_reads_deployment_environments_with_the_same_parser() -> None:
    from flightdeck.console import data
    from flightdeck.console.views.deployments import parse_env

    assert parse_env('export A="multi\nline"\nB=${A}!\n', "environment") == {
        "A": "multi\nline",
        "B": "multi\nline!",
    }
    with pytest.raises(data.InvalidInput, match="environment line 1"):
        parse_env("NOT A PAIR\n", "environment")


def test_update_keeps_a_file_whose_values_need_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FD_ENV_REQUIRED", "here")
    path = tmp_path / ".env"
    path.write_text("A=${FD_ENV_REQUIRED:?set it}\n")
    update_env_file(path, {"B": "2"})
    assert read_env_file(path) == {"A": "here", "B": "2"}
