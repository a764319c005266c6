"""The layout of a run's `meta` section, which the engine writes and tasks may read:

    run:   {workflow, run_id, arguments, started_at, ended_at, duration, status}
    dags:  {<instance>: {dag, started_at, ended_at, duration, status}}
    tasks: {<instance>: {<task>: {started_at, ended_at, duration, attempt, worker, queue,
                                  status}}}

Times are UTC datetimes, durations seconds. A "." in a DAG or task name would split the
dotted key, so it is written as U+FF0E (the fullwidth full stop), the usual MongoDB escape."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def escape(name: str) -> str:
    return name.replace(".", "\uff0e")


def dag_key(instance: str) -> str:
    return f"dags.{escape(instance)}"


def task_key(instance: str, task: str) -> str:
    return f"tasks.{escape(instance)}.{escape(task)}"


def span(started: datetime | None, ended: datetime | None) -> dict[str, Any]:
    """started_at, ended_at and duration, for what is known."""
    fields: dict[str, Any] = {}
    if started is not None:
        fields["started_at"] = started
    if ended is not None:
        fields["ended_at"] = ended
        if started is not None:
            fields["duration"] = (ended - started).total_seconds()
    return fields
