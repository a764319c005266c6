"""The names inside the schedulers' redis keys: hash fields, stream entry fields, the JSON
fields of stored graphs, the states and event types, and the codes a script refuses with.

keys.py names the keys; this module names what they hold. Python reads these names, and the
Lua scripts write them as `RUN.STATUS`, `TASK.ATTEMPT`, ..., which scripts.py renders into
the strings they stand for (`lua_names`) when it assembles a script, the way the scripts get
their key builders: the two cannot drift apart. A unit test pins the strings:
changing one is a data migration (runs in a persistent redis hold them).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class RunField:
    """The run's hash (`Keys.run`)."""

    WORKFLOW: Final = "wf"
    DEFINITION: Final = "def"
    STATUS: Final = "status"
    # The status the run ends with once nothing of it runs any more (set when it stops).
    OUTCOME: Final = "outcome"
    # JSON {type, message, stack_trace} of what failed the run.
    FAILURE: Final = "failure"
    STARTED: Final = "started"  # ms
    ENDED: Final = "ended"  # ms
    START_AT: Final = "start_at"  # ms: when a run started with a later start time starts
    SCHEDULE: Final = "schedule"  # the schedule that started it
    TICK: Final = "tick"  # ms: the schedule's tick it started for (0: a trigger)
    AUTOSTART: Final = "autostart"  # JSON: the DAGs a scheduled run starts with
    KEEP: Final = "keep"  # "1": the run keeps its data (store document, provenance)
    DEADLINE: Final = "deadline"  # ms since the epoch
    STOPPING_SINCE: Final = "stopping_since"  # ms
    QUEUED: Final = "queued"  # tasks queued
    RUNNING: Final = "running"  # tasks handed out
    DAGS_ACTIVE: Final = "dags_active"
    DAG_COUNT: Final = "dag_count"  # DAG instances started (their order)
    STARTED_DAGS: Final = "started_dags"  # instances started by start_dag (the limit's count)
    DAG_SEQ: Final = "seq:"  # + DAG name: the last N of its instances "dag:N"
    EVENT_SEQ: Final = "evseq"  # the run's event counter (both its streams' ids)
    EVENT_MS: Final = "evms"  # the ms part of its last event id (never goes back)
    ARGUMENTS: Final = "args"  # sealed BSON, while the run lives
    DOC_DATA: Final = "docdata"  # what its store document is to be created with
    DOC_CLAIM: Final = "docclaim"  # ms a creator's claim expires
    DOC: Final = "doc"  # what became of the document: "created" or "none"
    BLOBS: Final = "blobs"  # "1": task data may be in blobs
    META: Final = "meta"  # its provenance is in its store document


class TaskField:
    """A task's fields in the run's task hash (`Keys.run_tasks`): "<instance>/<task>" + one
    of these."""

    STATUS: Final = "|s"
    ATTEMPT: Final = "|a"
    ENTRY: Final = "|e"  # the queue entry of the current hand-out (it fences hand-out)
    WORKER: Final = "|w"
    QUEUE: Final = "|q"
    PREDS_DONE: Final = "|d"  # finished predecessors
    VOTES: Final = "|v"  # predecessors that selected it
    RETRIES: Final = "|r"  # failed attempts tried again
    FAILURE: Final = "|f"  # JSON
    STARTED: Final = "|t0"  # ms, handed out
    ENDED: Final = "|t1"  # ms


class DagField:
    """A DAG instance's fields in the run's DAG hash (`Keys.run_dags`): its status is under
    "<instance>" itself, the rest under "<instance>" + one of these."""

    DAG: Final = "|dag"  # the DAG's name
    LEFT: Final = "|left"  # tasks not yet ended
    ORDER: Final = "|n"
    RUNNING: Final = "|run"  # tasks handed out
    STOP: Final = "|stop"  # ms it was stopped
    FAILED: Final = "|failed"
    STARTED: Final = "|t0"  # ms
    ENDED: Final = "|t1"  # ms
    STARTED_BY: Final = "|by"  # "<instance>/<task>" that started it (signal.start_dag)
    # "req|" + a StartDag request id -> the instance it started (a prefix, not a suffix).
    REQUEST: Final = "req|"


class EntryField:
    """A ready task's entry in a queue stream (`Keys.queue`)."""

    RUN: Final = "r"
    INSTANCE: Final = "i"
    DAG: Final = "d"
    TASK: Final = "t"
    ATTEMPT: Final = "a"


class RetryField:
    """A task waiting for its retry: a JSON member of `Keys.delayed`."""

    RUN: Final = "r"
    INSTANCE: Final = "i"
    DAG: Final = "d"
    TASK: Final = "t"
    QUEUE: Final = "q"
    ATTEMPT: Final = "a"


class EventField:
    """An entry of a run's event and output streams (`Keys.run_events`, `Keys.run_output`)."""

    TYPE: Final = "ty"  # an EventType
    TIME: Final = "ts"  # ms
    INSTANCE: Final = "i"
    TASK: Final = "k"
    ATTEMPT: Final = "a"
    WORKER: Final = "w"
    STATUS: Final = "s"  # the run's, DAG instance's or task's, as the type says
    FAILURE: Final = "f"  # JSON
    TEXT: Final = "x"  # a printed line, or why
    STREAM: Final = "o"  # stdout or stderr


class EndField:
    """The one entry of a run's end stream (`Keys.run_end`): these and the run_ended
    event's fields (EventField)."""

    EVENT_ID: Final = "e"  # the id of the run_ended event in the event stream


class NodeField:
    """A task's node, JSON in the graph hash (`Keys.graph`, field "<dag>/<task>")."""

    QUEUE: Final = "q"
    PREDS: Final = "p"  # [[predecessor, alias or ""], ...]
    # Per successor: [name, queue, number of predecessors, force_run (0/1),
    # propagate_skip (0/1)].
    SUCCS: Final = "s"
    RETRIES: Final = "r"
    RETRY_DELAY: Final = "rd"  # s


class DagSummaryField:
    """A DAG's summary, JSON in the graph hash (field "<dag>/")."""

    SIZE: Final = "size"  # its number of tasks
    START: Final = "start"  # [[task, queue], ...] of the tasks without predecessors


class WorkflowField:
    """A registered workflow's summary, JSON in `Keys.workflows`."""

    HASH: Final = "hash"
    DESCRIPTION: Final = "description"
    DAGS: Final = "dags"
    REGISTERED_MS: Final = "registered_ms"


class FailureField:
    """A failure, JSON (RunField.FAILURE, TaskField.FAILURE, EventField.FAILURE), as the
    proto's Failure message."""

    TYPE: Final = "type"
    MESSAGE: Final = "message"
    STACK_TRACE: Final = "stack_trace"


class Refusal:
    """The codes a script refuses with (`redis.error_reply(REFUSAL.X .. ' ...')`): the first
    word of the error. The script wrappers (scripts.py) turn them into domain errors; any other
    error of redis stays a redis error."""

    RUN_NOT_FOUND: Final = "LF_RUN_NOT_FOUND"
    DAG_INSTANCE_NOT_FOUND: Final = "LF_DAG_INSTANCE_NOT_FOUND"
    UNKNOWN_DAG: Final = "LF_UNKNOWN_DAG"
    TOO_MANY_DAGS: Final = "LF_TOO_MANY_DAGS"
    STALE_DEFINITION: Final = "LF_STALE_DEFINITION"
    SCHEDULE_EXISTS: Final = "LF_SCHEDULE_EXISTS"
    SCHEDULE_NOT_FOUND: Final = "LF_SCHEDULE_NOT_FOUND"


class RunStatus(StrEnum):
    SCHEDULED = "scheduled"  # its start time is still to come
    RUNNING = "running"
    STOPPING = "stopping"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABORTED = "aborted"
    STOPPED = "stopped"


FINAL_RUN_STATES: Final = frozenset(
    {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.ABORTED, RunStatus.STOPPED}
)


class DagStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"


class TaskStatus(StrEnum):
    WAITING = "waiting"  # never written: a task without a status waits
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    STOPPED = "stopped"
    ABORTED = "aborted"
    CANCELLED = "cancelled"
    RETRYING = "retrying"


class EventType(StrEnum):
    RUN_STARTED = "run_started"
    RUN_ENDED = "run_ended"
    RUN_STOPPING = "run_stopping"
    DAG_STARTED = "dag_started"
    DAG_ENDED = "dag_ended"
    DAG_STOPPING = "dag_stopping"
    TASK_QUEUED = "task_queued"
    TASK_STARTED = "task_started"
    TASK_ENDED = "task_ended"
    TASK_OUTPUT = "task_output"
    TASK_LEASE_EXPIRED = "task_lease_expired"
    TASK_RETRYING = "task_retrying"


# What a script writes before the dot (`RUN.STATUS`) -> the class whose names it means.
LUA_TABLES: dict[str, type] = {
    "RUN": RunField,
    "TASK": TaskField,
    "DAG": DagField,
    "ENTRY": EntryField,
    "RETRY": RetryField,
    "EVENT": EventField,
    "END": EndField,
    "NODE": NodeField,
    "SUMMARY": DagSummaryField,
    "WORKFLOW": WorkflowField,
    "FAILURE": FailureField,
    "REFUSAL": Refusal,
}


def names(holder: type) -> dict[str, str]:
    """The names a class of this module holds (NAME -> string)."""
    return {name: value for name, value in vars(holder).items() if name.isupper()}


def lua_names() -> dict[str, dict[str, str]]:
    """The names the scripts write as `TABLE.NAME` (`RUN.STATUS`, `EVENT.TYPE`, ...), by
    table; scripts.py writes each out as the string it stands for when it assembles them."""
    return {table: names(holder) for table, holder in LUA_TABLES.items()}
