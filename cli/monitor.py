"""`lfctl monitor`: every run's events as they happen.

Runs are discovered by listing them every `interval` seconds (a view for people, never on a
task's path); each active run is followed through its own WatchRun stream from its first
event, so nothing that happened between two listings is missed."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import click
from rich.live import Live
from rich.table import Table

from lightflow import Client, LightflowError, RunEvent, RunInfo
from lightflow_cli._output import (
    console,
    is_terminal,
    local_time,
    print_table,
    rich_table,
    seconds_text,
)

_ACTIVE = ("scheduled", "running", "stopping")


@dataclass
class _RunRow:
    id: str
    workflow: str
    status: str
    started: datetime | None
    ended: datetime | None
    tasks: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)
    last: str = ""

    def cells(self) -> list[str]:
        end = self.ended or (datetime.now().astimezone() if self.status in _ACTIVE else None)
        took = (end - self.started).total_seconds() if self.started and end else None
        progress = f"{len(self.done)}/{len(self.tasks)}" if self.tasks else ""
        return [
            self.id,
            self.workflow,
            self.status,
            local_time(self.started),
            seconds_text(took),
            progress,
            self.last,
        ]


HEADERS = ("run", "workflow", "status", "started", "duration", "tasks", "last event")


def event_text(event: RunEvent) -> str:
    where = f"{event.dag_instance}/{event.task_name}" if event.task_name else event.dag_instance
    parts = [event.type, where, event.status]
    if event.type == "task_output":
        parts[2] = event.text
    elif event.failure is not None:
        parts.append(f"{event.failure.type}: {event.failure.message}")
    return " ".join(part for part in parts if part)


class Monitor:
    def __init__(self, client: Client, *, limit: int) -> None:
        self._client = client
        self._limit = limit
        self._rows: dict[str, _RunRow] = {}
        self._followed: set[str] = set()
        self._events: queue.Queue[tuple[str, RunEvent]] = queue.Queue()
        self._lock = threading.Lock()
        self._since = datetime.now().astimezone()

    def _follow(self, run_id: str) -> None:
        with contextlib.suppress(LightflowError):  # ended by close(): the monitor is done
            for event in self._client.run(run_id).events():
                self._events.put((run_id, event))

    def discover(self) -> None:
        """Lists the runs; starts following those that are active and not followed yet."""
        runs = self._client.list_runs(limit=self._limit)
        with self._lock:
            for info in runs:
                row = self._rows.get(info.id)
                if row is None:
                    self._rows[info.id] = self._row(info)
                elif info.id not in self._followed:  # the events decide for followed runs
                    row.status, row.ended = info.status, info.ended_at
            for info in runs:
                # Active runs, and runs that started (and maybe ended) since the monitor did.
                recent = info.started_at is not None and info.started_at >= self._since
                if (info.status in _ACTIVE or recent) and info.id not in self._followed:
                    self._followed.add(info.id)
                    threading.Thread(
                        target=self._follow, args=(info.id,), name=f"watch-{info.id}", daemon=True
                    ).start()

    @staticmethod
    def _row(info: RunInfo) -> _RunRow:
        return _RunRow(info.id, info.workflow_name, info.status, info.started_at, info.ended_at)

    def apply(self, run_id: str, event: RunEvent) -> _RunRow:
        with self._lock:
            row = self._rows.setdefault(run_id, _RunRow(run_id, "?", "running", None, None))
            if event.task_name:
                key = f"{event.dag_instance}/{event.task_name}"
                row.tasks.add(key)
                if event.type == "task_ended":
                    row.done.add(key)
            if event.type == "run_started":
                row.started = event.time
            elif event.type == "run_stopping":
                row.status = "stopping"
            elif event.type == "run_ended":
                row.status, row.ended = event.status, event.time
            row.last = event_text(event)
            return row

    def next_event(self, timeout: float) -> tuple[str, RunEvent] | None:
        try:
            return self._events.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None

    def rows(self) -> list[list[str]]:
        with self._lock:
            ordered = sorted(
                self._rows.values(),
                key=lambda r: r.started.timestamp() if r.started else 0.0,
                reverse=True,
            )
            return [row.cells() for row in ordered[: self._limit]]

    def __rich__(self) -> Table:
        return rich_table(HEADERS, self.rows(), "Lightflow runs (Ctrl-C to quit)")


def run_monitor(
    client: Client, *, once: bool, duration: float | None, interval: float, limit: int
) -> None:
    monitor = Monitor(client, limit=limit)
    if once:
        with monitor._lock:
            for info in client.list_runs(limit=limit):
                monitor._rows[info.id] = Monitor._row(info)
        rows = monitor.rows()
        if rows:
            print_table(HEADERS, rows)
        else:
            click.echo("no runs")
        return
    deadline = None if duration is None else time.monotonic() + duration
    live = is_terminal()
    next_listing = 0.0

    def step() -> bool:
        nonlocal next_listing
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            return False
        if now >= next_listing:
            monitor.discover()
            next_listing = now + interval
        wait = next_listing - now if deadline is None else min(next_listing, deadline) - now
        got = monitor.next_event(wait)
        if got is not None:
            run_id, event = got
            row = monitor.apply(run_id, event)
            if not live:
                when = local_time(event.time, date=False)
                click.echo(f"{when}  {run_id}  {row.workflow}  {event_text(event)}")
        return True

    if not live:
        monitor.discover()
        next_listing = time.monotonic() + interval
        click.echo("monitoring runs (Ctrl-C to stop)", err=True)
    try:
        if live:
            with Live(monitor, console=console(), refresh_per_second=4):
                while step():
                    pass
        else:
            while step():
                pass
    except KeyboardInterrupt:
        pass
