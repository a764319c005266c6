"""Showing a run. Following it: on a terminal, a live table of its DAGs' tasks (state,
duration, attempt, worker) updating in place, with the tasks' output printed above it,
labelled; otherwise plain lines, one per output line or failure, that scripts and tests read.
And its state once: a line, and a table of its tasks."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import click
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from lightflow import LightflowError, Run, RunEvent, RunInfo
from lightflow_cli._output import (
    console,
    is_terminal,
    local_time,
    print_table,
    seconds_text,
    status_text,
)

_TASK_EVENT_STATUS = {
    "task_queued": "queued",
    "task_started": "running",
    "task_retrying": "retrying",
}


def label(event: RunEvent) -> str:
    return f"{event.dag_instance}/{event.task_name}"


def print_event(event: RunEvent, *, verbose: bool) -> None:
    """Task output on stdout, labelled; failures on stderr; transitions when verbose."""
    if event.type == "task_output":
        click.echo(f"[{label(event)}] {event.text}")
    elif event.type == "task_ended" and event.failure is not None:
        click.secho(
            f"[{label(event)}] task {event.status}: {event.failure.type}: {event.failure.message}",
            fg="red",
            err=True,
        )
        if event.failure.stack_trace:
            click.echo(event.failure.stack_trace.rstrip(), err=True)
    elif event.type == "task_lease_expired":
        click.secho(
            f"[{label(event)}] its worker was lost; running it again", fg="yellow", err=True
        )
    elif verbose and event.type in {"task_started", "task_ended", "dag_started", "dag_ended"}:
        what = label(event) if event.task_name else event.dag_instance
        verb = event.type.split("_")[1]
        when = local_time(event.time, date=False)
        click.echo(f"{when} {what} {event.status or verb}", err=True)


def _retrying(event: RunEvent) -> str:
    why = f"{event.failure.type}: {event.failure.message}; " if event.failure else ""
    return f"attempt {event.attempt} failed: {why}retrying {event.text}".rstrip()


def follow_plain(events: Iterator[RunEvent], *, verbose: bool) -> str:
    """Prints a run's events until its end; returns its final status."""
    for event in events:
        print_event(event, verbose=verbose)
        if event.type == "run_ended":
            return event.status
    return "unknown"


@dataclass
class _Row:
    dag_instance: str
    task: str
    status: str = "waiting"
    attempt: int = 0
    worker: str = ""
    started: datetime | None = None
    ended: datetime | None = None


class RunBoard:
    """The live state of one run's tasks, built from its events (and GetRun for the tasks
    that have not moved yet). Rendered by rich on every refresh, so durations tick."""

    def __init__(self, run_id: str, workflow: str) -> None:
        self.run_id = run_id
        self.workflow = workflow
        self.status = "running"
        self._rows: dict[tuple[str, str], _Row] = {}
        self._seen_dags: set[str] = set()
        self._lock = threading.Lock()

    def seed(self, info: RunInfo) -> None:
        """Adds the tasks GetRun knows (waiting ones too) without undoing newer events."""
        with self._lock:
            for task in info.tasks:
                row = self._rows.setdefault(
                    (task.dag_instance, task.name), _Row(task.dag_instance, task.name)
                )
                if row.status == "waiting":
                    row.status = task.status
                    row.attempt = task.attempt
                    row.worker = task.worker_id
                    row.started = row.started or task.started_at
                    row.ended = row.ended or task.ended_at
            self._seen_dags.update(info.dags)

    def apply(self, event: RunEvent) -> bool:
        """Updates the board; True when the event names a DAG instance not seen yet."""
        with self._lock:
            if event.type == "run_ended":
                self.status = event.status
                # what had not started never will (GetRun says the same)
                for row in self._rows.values():
                    if row.status in ("waiting", "queued"):
                        row.status = "cancelled"
            elif event.type == "run_stopping":
                self.status = "stopping"
            if not event.task_name or event.type == "task_output":
                return bool(event.dag_instance) and event.dag_instance not in self._seen_dags
            row = self._rows.setdefault(
                (event.dag_instance, event.task_name), _Row(event.dag_instance, event.task_name)
            )
            row.status = event.status or _TASK_EVENT_STATUS.get(event.type, row.status)
            row.attempt = event.attempt or row.attempt
            row.worker = event.worker_id or row.worker
            if event.type == "task_started":
                row.started, row.ended = event.time, None
            elif event.type == "task_ended":
                row.ended = event.time
            return event.dag_instance not in self._seen_dags

    def __rich__(self) -> Table:
        with self._lock:
            table = Table(
                title=f"run {self.run_id} of {self.workflow}: {self.status}",
                title_justify="left",
                header_style="bold",
                box=None,
            )
            for header in ("task", "status", "duration", "attempt", "worker"):
                table.add_column(header, no_wrap=True)
            now = datetime.now().astimezone()
            for row in self._rows.values():
                took = None
                if row.started is not None:
                    took = ((row.ended or now) - row.started).total_seconds()
                table.add_row(
                    f"{row.dag_instance}/{row.task}",
                    status_text(row.status),
                    seconds_text(took),
                    str(row.attempt) if row.attempt > 1 else "",
                    row.worker,
                )
            return table


def follow_live(
    events: Iterator[RunEvent],
    board: RunBoard,
    get_info: Callable[[], RunInfo],
    out: Console,
) -> str:
    """Shows the board live until the run's end; output lines and failures are printed
    above it, labelled. Returns the final status."""
    status = "unknown"
    with Live(board, console=out, refresh_per_second=8, transient=False):
        with contextlib.suppress(LightflowError):  # the events alone still draw the board
            board.seed(get_info())
        for event in events:
            if board.apply(event):
                board.seed(get_info())
            if event.type == "task_output":
                out.print(Text(f"[{label(event)}] {event.text}"), soft_wrap=True)
            elif event.type == "task_ended" and event.failure is not None:
                failure = event.failure
                out.print(
                    Text(
                        f"[{label(event)}] task {event.status}: {failure.type}: {failure.message}",
                        style="red",
                    )
                )
                if failure.stack_trace:
                    out.print(Text(failure.stack_trace.rstrip(), style="dim"))
            elif event.type == "task_lease_expired":
                out.print(
                    Text(f"[{label(event)}] its worker was lost; running it again", style="yellow")
                )
            elif event.type == "task_retrying":
                out.print(Text(f"[{label(event)}] {_retrying(event)}", style="yellow"))
            if event.type == "run_ended":
                status = event.status
                break
    return status


def follow_run(handle: Run, workflow: str, *, verbose: bool) -> str:
    """Follows a run to its end: a live board on a terminal, plain lines otherwise."""
    if is_terminal():
        board = RunBoard(handle.id, workflow)
        return follow_live(handle.events(), board, handle.info, console())
    return follow_plain(handle.events(), verbose=verbose)


def status_line(run_id: str, workflow: str, status: str, seconds: float | None = None) -> str:
    took = f" in {seconds:.2f} s" if seconds is not None else ""
    return f"run {run_id} of {workflow}: {status}{took}"


def show_run(info: RunInfo, *, details: bool) -> None:
    """A run's status line and a table of its tasks by DAG instance; with `details`, also
    workers and times, and the tracebacks of failed tasks."""
    took = f", took {seconds_text(info.duration)}" if info.duration is not None else ""
    click.echo(
        f"run {info.id} of {info.workflow_name}: {info.status}"
        f" (started {local_time(info.started_at)}{took})"
    )
    if info.failure is not None:
        click.secho(f"failure: {info.failure.type}: {info.failure.message}", fg="red")
    headers = ["dag", "task", "status", "duration", "attempt", "queue"]
    if details:
        headers += ["worker", "started", "ended"]
    rows = []
    for dag in info.dag_instances:
        for task in (t for t in info.tasks if t.dag_instance == dag.instance):
            took_s = None
            if task.started_at is not None and task.ended_at is not None:
                took_s = (task.ended_at - task.started_at).total_seconds()
            row = [
                f"{dag.instance} ({dag.status})",
                task.name,
                task.status,
                seconds_text(took_s),
                str(task.attempt or ""),
                task.queue,
            ]
            if details:
                row += [
                    task.worker_id,
                    local_time(task.started_at, date=False),
                    local_time(task.ended_at, date=False),
                ]
            rows.append(row)
    print_table(headers, rows)
    if details:
        for task in info.tasks:
            if task.failure is not None and task.failure.stack_trace:
                click.echo(f"\n{task.dag_instance}/{task.name}: {task.failure.type}")
                click.echo(task.failure.stack_trace.rstrip())
