"""Rendering for every command: a rich table for people, ``--json`` for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def print_table(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[tuple[str, str]], title: str | None = None
) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_edge=False, header_style="bold")
    for _key, header in columns:
        table.add_column(header)
    count = 0
    for row in rows:
        count += 1
        table.add_row(*("" if row.get(key) is None else str(row.get(key)) for key, _ in columns))
    console = Console()
    if count == 0:
        console.print("(none)")
        return
    console.print(table)


def print_fields(data: Mapping[str, Any], fields: Sequence[tuple[str, str]]) -> None:
    from rich.console import Console

    console = Console()
    width = max(len(label) for _, label in fields)
    for key, label in fields:
        console.print(f"[bold]{label.ljust(width)}[/bold]  {data.get(key, '')}", highlight=False)


def success(message: str) -> None:
    from rich.console import Console

    # soft_wrap: a long message stays one line (URLs, ids), however wide the terminal.
    Console(stderr=True, soft_wrap=True).print(f"[green]✓[/green] {message}", highlight=False)


_MARKS = {"pass": "[green]✓[/green]", "warn": "[yellow]![/yellow]", "fail": "[red]✗[/red]"}


def print_checks(checks: Iterable[Mapping[str, Any]], title: str | None = None) -> None:
    """One line per named check, with the remedy under anything that did not pass."""
    from rich.console import Console

    console = Console()
    if title:
        console.print(f"[bold]{title}[/bold]", highlight=False)
    for check in checks:
        mark = _MARKS.get(str(check.get("status")), "?")
        console.print(f"{mark} {check['name']}: {check['message']}", highlight=False)
        if check.get("status") != "pass" and check.get("remedy"):
            console.print(f"    fix: {check['remedy']}", highlight=False, style="dim")
