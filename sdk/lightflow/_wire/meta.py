"""The layout of a run's `meta` section (its provenance), the original Lightflow's:

    name, queue, run_id, arguments, start_time, end_time, duration, status   the run
    log.<dag instance>: {dag, start_time, end_time, duration, status, tasks}  each DAG instance
    log.<dag instance>.tasks.<task>: {start_time, end_time, duration, worker, queue, attempt,
                                      status}                                each task that started

`name` is the workflow's name; `queue` is "workflow", the original's queue for workflows (runs
are not queued here: the schedulers run them), kept for the original's readers. An autostart
DAG's instance is named like the DAG; `signal.start_dag` makes instances "<dag>:<n>". Times
are UTC datetimes (milliseconds), durations seconds; what has not happened yet (the end of a
running task) is absent. A "." in a DAG or task name would split the dotted key, so it is
written as U+FF0E (the fullwidth full stop), the usual MongoDB escape.

While a run is live the schedulers answer reads of this section from the run's state in
redis (`SignalService.ReadMeta`), so a task sees every task that ended before it started and
its own entry; once the run ended they write it into the run's store document (if kept),
where it is read like any section. Both answers have this layout."""

from __future__ import annotations

from datetime import datetime
from typing import Any

# The run's `queue`: the original's queue for workflow jobs.
WORKFLOW_QUEUE = "workflow"
_ESCAPED_DOT = "\uff0e"


def escape(name: str) -> str:
    return name.replace(".", _ESCAPED_DOT)


def unescape(segment: str) -> str:
    return segment.replace(_ESCAPED_DOT, ".")


def dag_key(instance: str) -> str:
    return f"log.{escape(instance)}"


def task_key(instance: str, task: str) -> str:
    return f"log.{escape(instance)}.tasks.{escape(task)}"


def span(started: datetime | None, ended: datetime | None) -> dict[str, Any]:
    """start_time, end_time and duration (seconds), for what is known."""
    fields: dict[str, Any] = {}
    if started is not None:
        fields["start_time"] = started
    if ended is not None:
        fields["end_time"] = ended
        if started is not None:
            fields["duration"] = (ended - started).total_seconds()
    return fields
