"""The command tree is imported lazily: a call imports only the command it names, and
`flightdeck --help` still lists every command."""

from __future__ import annotations

import subprocess
import sys

import typer

from flightdeck.cli.main import COMMAND_MODULES, build_app


def _run(*code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", "\n".join(code)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _top_level_names(app: typer.Typer) -> set[str]:
    command = typer.main.get_command(app)
    assert isinstance(command, typer.core.TyperGroup)
    return set(command.commands)


def test_the_table_names_exactly_the_commands_the_modules_register() -> None:
    assert _top_level_names(build_app()) == set(COMMAND_MODULES)


def test_root_help_lists_every_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "flightdeck", "--help"], capture_output=True, text=True, timeout=120
    ).stdout
    listed = {line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == set(COMMAND_MODULES)


def test_a_command_line_imports_only_the_command_it_names() -> None:
    out = _run(
        "import sys",
        "from flightdeck.cli.main import build_app",
        "build_app(['aws', 'policy', 'compare', 'a.json', 'b.json'])",
        "print(sorted(m for m in sys.modules if m.startswith('flightdeck.cli.')))",
        "print('z3' in sys.modules, 'boto3' in sys.modules)",
    )
    modules, heavy = out.splitlines()
    assert "'flightdeck.cli.aws_cmd'" in modules
    for other in ("cluster_cmd", "dev_cmd", "deployment_cmd", "server_cmd", "auth_cmd"):
        assert f"flightdeck.cli.{other}'" not in modules
    assert heavy == "False False"


def test_an_unknown_command_is_refused_with_the_whole_tree() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flightdeck", "nosuch"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "No such command 'nosuch'" in done.stderr
