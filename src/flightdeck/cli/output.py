"""Rendering for every command: a rich table for people, ``--json`` for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def print_table(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[tuple[str, str]],
    title: str | None = None,
    *,
    empty: str = "Nothing to list yet.",
) -> None:
    """A table; ``empty`` is the sentence printed instead when there is no row.

    Ids, URLs and names are never cut: a column too wide for the terminal folds onto the
    next line, whole, instead of ending in an ellipsis (and a narrow terminal gets one
    ``label: value`` block per row rather than columns squeezed out of sight).
    """
    from rich.console import Console
    from rich.table import Table

    rows = list(rows)
    console = Console(highlight=False)
    if not rows:
        console.print(empty, markup=False)
        return
    values = [["" if row.get(key) is None else str(row.get(key)) for key, _ in columns]
              for row in rows]  # fmt: skip
    widths = [max(len(header), *(len(v[i]) for v in values)) for i, (_, header) in
              enumerate(columns)]  # fmt: skip
    needed = sum(widths) + 3 * (len(columns) - 1) + 2  # separators and outer padding
    if needed > console.width:
        _print_blocks(console, values, columns, title)
        return
    table = Table(title=title, show_edge=False, header_style="bold")
    for _key, header in columns:
        table.add_column(header, overflow="fold", no_wrap=True)
    for value in values:
        table.add_row(*value)
    console.print(table)


def _print_blocks(
    console: Any, values: list[list[str]], columns: Sequence[tuple[str, str]], title: str | None
) -> None:
    """One ``LABEL  value`` block per row: every value whole, however narrow the terminal."""
    from rich.text import Text

    if title:
        console.print(f"[bold]{title}[/bold]")
    width = max(len(header) for _, header in columns)
    for index, value in enumerate(values):
        if index:
            console.print()
        for (_key, header), cell in zip(columns, value, strict=True):
            if cell:
                console.print(
                    Text.assemble((header.ljust(width), "bold"), "  ", cell), soft_wrap=True
                )


def print_fields(data: Mapping[str, Any], fields: Sequence[tuple[str, str]]) -> None:
    """``Label  value`` lines; an absent value prints as nothing, never as ``None``."""
    from rich.console import Console

    console = Console()
    width = max(len(label) for _, label in fields)
    for key, label in fields:
        value = data.get(key)
        shown = "" if value is None else value
        console.print(
            f"[bold]{label.ljust(width)}[/bold]  {shown}", highlight=False, soft_wrap=True
        )


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
