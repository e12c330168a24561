"""``flightdeck aws pattern``: test CloudWatch Logs filter patterns offline.

Writing a metric or subscription filter by trial and error against AWS is slow and needs
credentials; this runs the same matching rules locally over a file of sample events. Exit
codes are for scripts: 0 the pattern was tested (even if nothing matched), 2 the pattern is
invalid or the events file cannot be read.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    no_args_is_help=True,
    help="Test CloudWatch Logs filter patterns offline.",
)


def register(parent: typer.Typer) -> None:
    parent.add_typer(app, name="pattern")


EXIT_OK = 0
EXIT_INVALID_INPUT = 2
_SNIPPET = 80  # widest pattern excerpt shown above the caret


def read_events(file: str) -> list[str]:
    """One event per line (a trailing \\r is dropped); - reads stdin."""
    from flightdeck.cli.errors import CliError

    if file == "-":
        try:
            text = sys.stdin.read()
        except UnicodeDecodeError:
            raise CliError("stdin is not UTF-8 text", EXIT_INVALID_INPUT) from None
    else:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CliError(f"{file}: no such file", EXIT_INVALID_INPUT) from None
        except IsADirectoryError:
            raise CliError(
                f"{file} is a directory, not an events file", EXIT_INVALID_INPUT
            ) from None
        except UnicodeDecodeError:
            raise CliError(f"{file} is not UTF-8 text", EXIT_INVALID_INPUT) from None
        except OSError as exc:
            raise CliError(f"{file}: {exc.strerror}", EXIT_INVALID_INPUT) from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def caret_under(pattern: str, position: int) -> str:
    """Two lines: the pattern (or the part of a long one around `position`) and a caret
    under the 1-based column `position`."""
    shown = pattern.translate({9: " ", 10: " ", 13: " "})
    index = position - 1
    start = 0
    if len(shown) > _SNIPPET:
        start = max(0, min(index - _SNIPPET // 2, len(shown) - _SNIPPET))
        end = start + _SNIPPET
        shown = ("…" if start else "") + shown[start:end] + ("…" if end < len(pattern) else "")
        index = index - start + (1 if start else 0)
    return f"  {shown}\n  {' ' * index}^"


@app.command("test")
def test(
    pattern: Annotated[
        str,
        typer.Argument(
            metavar="PATTERN",
            help="The filter pattern, quoted for your shell. A pattern starting with - goes "
            "after --, e.g. pattern test --events FILE -- '-DEBUG'.",
            show_default=False,
        ),
    ],
    events: Annotated[
        str,
        typer.Option(
            "--events",
            "-e",
            metavar="FILE",
            help="Sample log events, one per line; - reads stdin. Empty lines keep their "
            "number but never match (CloudWatch Logs has no empty events).",
        ),
    ],
    json_output: Annotated[
        bool, typer.Option("--json", help='Print {"matches": [line numbers]} only.')
    ] = False,
) -> None:
    """Print the events in FILE that PATTERN matches (line number and event); exit 0 even
    when none match, 2 when PATTERN is invalid or FILE cannot be read."""
    from flightdeck.cli.errors import CliError
    from flightdeck.filterpattern import FilterPatternError, compile_pattern

    try:
        compiled = compile_pattern(pattern)
    except FilterPatternError as exc:
        raise CliError(
            f"invalid filter pattern at column {exc.position}: {exc.reason}\n"
            + caret_under(pattern, exc.position),
            EXIT_INVALID_INPUT,
        ) from None
    lines = read_events(events)
    matches = list(compiled.matching_lines(lines))

    if json_output:
        from flightdeck.cli.output import print_json

        print_json({"matches": matches})
    else:
        for number in matches:
            typer.echo(f"{number}: {lines[number - 1]}")
        noun = "event" if len(lines) == 1 else "events"
        typer.echo(
            f"{len(matches)} of {len(lines)} {noun} match ({compiled.kind} pattern).", err=True
        )
    raise typer.Exit(EXIT_OK)
