"""A run's `meta` section (layout: lightflow/_wire/meta.py), built from the run's state in redis:
the run's hash, its DAG instances (`run_dags`) and its tasks (`run_tasks`), whose times the
Lua scripts record in ms (`started`/`ended`, `|t0`/`|t1`). The schedulers answer reads of a
live run's section from it and write it into the run's store document when the run ends."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from lightflow._wire.documents import WRAPPER_KEY
from lightflow._wire.meta import WORKFLOW_QUEUE, escape, span
from lightflow_scheduler.schema import DagField, RunField, TaskField

# A task's fields in run_tasks ("<instance>/<task>" + a suffix) that its entry is made of.
TASK_FIELDS = (
    TaskField.STATUS,
    TaskField.ATTEMPT,
    TaskField.WORKER,
    TaskField.QUEUE,
    TaskField.STARTED,
    TaskField.ENDED,
)
# A DAG instance's fields in run_dags ("<instance>" + a suffix; the status under
# "<instance>").
DAG_FIELDS = (DagField.DAG, DagField.ORDER, DagField.STARTED, DagField.ENDED)
MAX_KEY_CHARS = 1024
MAX_KEY_SEGMENTS = 100


class MetaKeyError(ValueError):
    """A key the store would refuse too (same rules as the store's, docs/store.md)."""


def split_key(key: str, run_id: str) -> list[str]:
    """The segments of a dotted key into the section ([] for the whole section)."""
    if not key:
        return []
    problem = ""
    if len(key) > MAX_KEY_CHARS:
        problem = f"a key has at most {MAX_KEY_CHARS} characters"
    elif key.count(".") >= MAX_KEY_SEGMENTS:
        problem = f"a key has at most {MAX_KEY_SEGMENTS} segments"
    elif "\x00" in key:
        problem = "it contains a NUL character"
    elif any(not segment for segment in key.split(".")):
        problem = "it has an empty segment"
    elif any(segment.startswith("$") for segment in key.split(".")):
        problem = "a segment starts with '$'"
    elif WRAPPER_KEY in key.split("."):
        problem = f"the segment {WRAPPER_KEY!r} is reserved"
    if problem:
        raise MetaKeyError(f"invalid key {key[:100]!r} for run {run_id!r}: {problem}")
    return key.split(".")


def from_ms(ms: bytes | str | int | None) -> datetime | None:
    return datetime.fromtimestamp(int(ms) / 1000, UTC) if ms else None


def _span(started_ms: str | bytes | None, ended_ms: str | bytes | None) -> dict[str, Any]:
    return span(from_ms(started_ms), from_ms(ended_ms))


def run_entries(
    run_id: str, run: Mapping[str, str], arguments: Mapping[str, Any]
) -> dict[str, Any]:
    """The run's entries at the root of the section; `run` holds the run hash's
    workflow, status, started and ended (RunField)."""
    return {
        "name": run.get(RunField.WORKFLOW, ""),
        "queue": WORKFLOW_QUEUE,
        "run_id": run_id,
        "arguments": dict(arguments),
        **_span(run.get(RunField.STARTED), run.get(RunField.ENDED)),
        "status": run.get(RunField.STATUS, ""),
    }


def log_entries(dags: Mapping[str, str], tasks: Mapping[str, str]) -> dict[str, Any]:
    """`log`: each DAG instance in `dags` (fields of run_dags) with the tasks in `tasks`
    (fields of run_tasks) that started, in the order they started. Instances and tasks are
    those the two mappings hold: all of the run's, or those of one instance."""
    instances = sorted(
        (name for name in dags if "|" not in name),
        key=lambda i: int(dags.get(f"{i}{DagField.ORDER}") or 0),
    )
    log: dict[str, Any] = {}
    for inst in instances:
        log[escape(inst)] = {
            "dag": dags.get(f"{inst}{DagField.DAG}", inst),
            "status": dags[inst],
            **_span(dags.get(f"{inst}{DagField.STARTED}"), dags.get(f"{inst}{DagField.ENDED}")),
            "tasks": {},
        }
    started = sorted(
        (int(value), field[: -len(TaskField.STARTED)])
        for field, value in tasks.items()
        if field.endswith(TaskField.STARTED) and value
    )
    for _, name in started:
        inst, _, task = name.partition("/")
        dag = log.get(escape(inst))
        if dag is None:
            continue
        dag["tasks"][escape(task)] = {
            **_span(tasks.get(f"{name}{TaskField.STARTED}"), tasks.get(f"{name}{TaskField.ENDED}")),
            "worker": tasks.get(f"{name}{TaskField.WORKER}", ""),
            "queue": tasks.get(f"{name}{TaskField.QUEUE}", ""),
            "attempt": int(tasks.get(f"{name}{TaskField.ATTEMPT}") or 0),
            "status": tasks.get(f"{name}{TaskField.STATUS}", ""),
        }
    return log


def instance_fields(instance: str) -> list[str]:
    """The run_dags fields `log_entries` reads for one instance."""
    return [instance, *(f"{instance}{suffix}" for suffix in DAG_FIELDS)]


def task_fields(instance: str, tasks: Iterable[str]) -> list[str]:
    """The run_tasks fields `log_entries` reads for some tasks of one instance."""
    return [f"{instance}/{task}{suffix}" for task in tasks for suffix in TASK_FIELDS]


def navigate(section: Mapping[str, Any], segments: list[str]) -> tuple[bool, Any]:
    """(found, the value at the key's segments); the section holds documents and values, and
    the arguments may hold lists (indexed by a segment of digits)."""
    node: Any = section
    for segment in segments:
        if isinstance(node, Mapping) and WRAPPER_KEY not in node and segment in node:
            node = node[segment]
        elif (
            isinstance(node, list)
            and segment.isascii()
            and segment.isdigit()
            and int(segment) < len(node)
        ):
            node = node[int(segment)]
        else:
            return False, None
    return True, node
