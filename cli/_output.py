"""How lfctl shows things: tables, local times, durations, status colours. On a terminal
through rich; otherwise as plain aligned text, stable for scripts and tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import datetime

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

STATUS_STYLES = {
    "succeeded": "green",
    "running": "cyan",
    "queued": "blue",
    "retrying": "yellow",
    "waiting": "dim",
    "scheduled": "blue",
    "stopping": "yellow",
    "stopped": "yellow",
    "skipped": "dim",
    "cancelled": "dim",
    "failed": "bold red",
    "aborted": "bold red",
}


def is_terminal() -> bool:
    """Whether stdout is a terminal that takes cursor movement (live views, colours)."""
    return sys.stdout.isatty() and os.environ.get("TERM", "") != "dumb"


def console() -> Console:
    return Console(highlight=False)


def local_time(moment: datetime | None, *, date: bool = True) -> str:
    """A time in the local time zone: "2024-05-01 14:03:07", or "14:03:07"."""
    if moment is None:
        return ""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")


def seconds_text(seconds: float | None) -> str:
    """A duration for people: "0.42 s", "12.3 s", "4m 05s", "2h 01m"."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def rich_table(headers: Sequence[str], rows: Sequence[Sequence[str]], title: str = "") -> Table:
    table = Table(title=title or None, title_justify="left", header_style="bold", box=None)
    for header in headers:
        table.add_column(header, no_wrap=header in {"run", "id", "started", "status"})
    status_column = headers.index("status") if "status" in headers else -1
    for row in rows:
        cells: list[str | Text] = list(row)
        if status_column >= 0:
            cells[status_column] = status_text(row[status_column])
        table.add_row(*cells)
    return table


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = []
    for row in [list(headers), *rows]:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return lines


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, title: str = "") -> None:
    """A table with a header row: rich on a terminal, aligned plain text otherwise."""
    if is_terminal():
        console().print(rich_table(headers, rows, title))
        return
    if title:
        click.echo(title)
    for line in plain_table(headers, rows):
        click.echo(line)
