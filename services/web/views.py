"""The JSON shapes of the HTTP API (docs/http-api.md), made from the SDK's objects: one
function per shape, so the pages and scripts see the same fields everywhere."""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from typing import Any

from lightflow import (
    Failure,
    RunEvent,
    RunInfo,
    ScheduleInfo,
    TaskInfo,
    WorkerInfo,
    WorkflowDetails,
)
from lightflow_web.layout import Drawing

_RUN_TYPES = ("run_",)
_DAG_TYPES = ("dag_",)


def iso(moment: datetime.datetime | None) -> str | None:
    """A moment in UTC, ISO 8601 with a Z."""
    if moment is None:
        return None
    return moment.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def failure(value: Failure | None) -> dict[str, str] | None:
    if value is None:
        return None
    return {"type": value.type, "message": value.message, "traceback": value.stack_trace}


def _duration(run: RunInfo) -> float | None:
    return round(run.duration, 3) if run.duration is not None else None


def run_summary(run: RunInfo) -> dict[str, Any]:
    return {
        "schedule": run.schedule,
        "schedule_tick": iso(run.schedule_tick),
        "id": run.id,
        "workflow": run.workflow_name,
        "status": run.status,
        "started_at": iso(run.started_at),
        "start_at": iso(run.start_at),
        "ended_at": iso(run.ended_at),
        "duration_s": _duration(run),
        "failure": failure(run.failure),
        "keep_data": run.keep_data,
    }


def started_by(by: tuple[str, str] | None) -> dict[str, str] | None:
    return {"instance": by[0], "task": by[1]} if by else None


def task(info: TaskInfo) -> dict[str, Any]:
    return {
        "instance": info.dag_instance,
        "task": info.name,
        "status": info.status,
        "attempt": info.attempt,
        "worker": info.worker_id,
        "queue": info.queue,
        "started_at": iso(info.started_at),
        "ended_at": iso(info.ended_at),
        "failure": failure(info.failure),
    }


def run_detail(run: RunInfo) -> dict[str, Any]:
    shown = run_summary(run)
    shown["dags"] = [
        {
            "instance": d.instance,
            "dag": d.dag_name,
            "status": d.status,
            "started_at": iso(d.started_at),
            "ended_at": iso(d.ended_at),
            "started_by": started_by(d.started_by),
        }
        for d in run.dag_instances
    ]
    shown["tasks"] = [task(t) for t in run.tasks]
    return shown


def event(value: RunEvent) -> dict[str, Any]:
    """A run event; its status under the name of what it is the status of."""
    kind = value.type
    is_run, is_dag = kind.startswith(_RUN_TYPES), kind.startswith(_DAG_TYPES)
    is_task = not (is_run or is_dag)
    return {
        "id": value.id,
        "time": iso(value.time),
        "type": kind,
        "instance": value.dag_instance,
        "task": value.task_name,
        "attempt": value.attempt,
        "worker": value.worker_id,
        "run_status": value.status if is_run else "",
        "dag_status": value.status if is_dag else "",
        "task_status": value.status if is_task and kind != "task_output" else "",
        "text": value.text,
        "stream": value.stream,
        "failure": failure(value.failure),
    }


def output_line(value: RunEvent) -> dict[str, Any]:
    return {
        "id": value.id,
        "time": iso(value.time),
        "instance": value.dag_instance,
        "task": value.task_name,
        "stream": value.stream,
        "text": value.text,
    }


def drawing(value: Drawing, statuses: Mapping[str, str]) -> dict[str, Any]:
    return {
        "width": value.width,
        "height": value.height,
        "nodes": [
            {
                "task": box.task,
                "x": box.x,
                "y": box.y,
                "w": box.w,
                "h": box.h,
                **({"status": statuses.get(box.task, "waiting")} if statuses else {}),
            }
            for box in value.boxes
        ],
        "edges": [{"parent": a.parent, "child": a.child, "alias": a.alias} for a in value.arrows],
    }


def workflow(details: WorkflowDetails) -> dict[str, Any]:
    definition = details.definition
    return {
        "name": details.name,
        "description": details.description,
        "definition_hash": details.definition_hash,
        "registered_at": iso(details.registered_at),
        "dags": [d.name for d in definition.dags],
        "parameters": [
            {
                "name": option.name,
                "type": option.type or "str",
                "default": option.default if option.HasField("default") else None,
                "required": not option.HasField("default"),
                "help": option.help,
            }
            for option in definition.options
        ],
    }


def schedule(info: ScheduleInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "workflow": info.workflow,
        "arguments": info.arguments,
        "cron": info.cron,
        "timezone": info.timezone,
        "interval_s": info.interval_s,
        "paused": info.paused,
        "next_tick": iso(info.next_tick),
        "last_tick": iso(info.last_tick),
        "last_run_id": info.last_run_id,
        "overlap": info.overlap,
        "catch_up": info.catch_up,
        "jitter_s": info.jitter_s,
        "start_at": iso(info.start_at),
        "end_at": iso(info.end_at),
        "last_error": info.last_error,
    }


def worker(info: WorkerInfo) -> dict[str, Any]:
    return {
        "id": info.worker_id,
        "host": info.hostname,
        "pid": info.pid,
        "queues": info.queues,
        "slots": info.concurrency,
        "running": info.running,
        "last_seen": iso(info.last_seen),
    }


def plain(value: Any) -> Any:
    """A decoded BSON value as JSON: times as ISO text, bytes as their size, NaN as null."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return iso(value)
    if isinstance(value, bytes):
        return f"<{len(value):,} bytes>"
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
