"""``flightdeck aws pattern test``, run as the installed command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FLIGHTDECK = str(Path(sys.executable).parent / "flightdeck")
EVENTS = [
    '{"eventName": "DeleteRole", "latency": 1200}',
    "",
    "[ERROR] disk full",
    '{"eventName": "GetRole", "latency": 80}',
    "WARN slow request",
]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FLIGHTDECK, "aws", "pattern", "test", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def events_file(tmp_path: Path, lines: list[str] = EVENTS, newline: str = "\n") -> str:
    path = tmp_path / "events.txt"
    path.write_bytes((newline.join(lines) + newline).encode())
    return str(path)


def test_prints_matching_events_with_their_line_numbers(tmp_path: Path) -> None:
    result = run("{ $.latency > 1e3 }", "--events", events_file(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"1: {EVENTS[0]}\n"
    assert "1 of 5 events match (json pattern)" in result.stderr


def test_json_output_is_line_numbers_only(tmp_path: Path) -> None:
    result = run("?ERROR ?WARN", "--events", events_file(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"matches": [3, 5]}


def test_blank_lines_keep_their_number_but_never_match(tmp_path: Path) -> None:
    result = run("", "--events", events_file(tmp_path), "--json")
    assert json.loads(result.stdout) == {"matches": [1, 3, 4, 5]}


def test_no_match_still_exits_zero(tmp_path: Path) -> None:
    result = run("NOTHING_LIKE_THIS", "--events", events_file(tmp_path), "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"matches": []}
    human = run("NOTHING_LIKE_THIS", "--events", events_file(tmp_path))
    assert human.returncode == 0
    assert human.stdout == ""
    assert "0 of 5 events match" in human.stderr


def test_exclusion_pattern_goes_after_double_dash(tmp_path: Path) -> None:
    result = run("--events", events_file(tmp_path), "--json", "--", "-ERROR")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"matches": [1, 4, 5]}


def test_events_from_stdin_and_windows_line_endings(tmp_path: Path) -> None:
    result = run("[level, ...]", "--events", "-", "--json", stdin="a b\r\nc\r\n\r\n")
    assert json.loads(result.stdout) == {"matches": [1, 2]}
    crlf = run('{ $.eventName = "GetRole" }', "--events", events_file(tmp_path, newline="\r\n"))
    assert crlf.stdout == f"4: {EVENTS[3]}\n"


def test_syntax_error_exits_two_with_column_and_caret(tmp_path: Path) -> None:
    pattern = "{ $.latency >> 5 }"
    result = run(pattern, "--events", events_file(tmp_path))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "Error: invalid filter pattern at column 14: expected a value after >, found '>'"
    )
    assert lines[1] == f"  {pattern}"
    assert lines[2] == "  " + " " * 13 + "^"
    assert "Traceback" not in result.stderr


def test_caret_stays_under_the_error_in_a_long_pattern(tmp_path: Path) -> None:
    pattern = "{ " + " && ".join(f"$.field{i} = {i}" for i in range(20)) + " && $.x = }"
    result = run(pattern, "--events", events_file(tmp_path))
    assert result.returncode == 2
    shown, caret = result.stderr.splitlines()[1:3]
    assert shown[caret.index("^")] == "}"
    assert len(shown) <= 2 + 80 + 2


def test_unreadable_events_file_exits_two(tmp_path: Path) -> None:
    missing = run("ERROR", "--events", str(tmp_path / "missing.txt"))
    assert missing.returncode == 2
    assert "missing.txt: no such file" in missing.stderr
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00")
    binary = run("ERROR", "--events", str(tmp_path / "binary.txt"))
    assert binary.returncode == 2
    assert "not UTF-8 text" in binary.stderr


def test_help_describes_the_command() -> None:
    result = subprocess.run(
        [FLIGHTDECK, "aws", "pattern", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "Test CloudWatch Logs filter patterns offline." in result.stdout
    assert "test" in result.stdout
