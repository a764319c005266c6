"""The scheduler's values: what its parts hand each other, what the scripts take and give
back (scripts.py), and what convert.py turns into protos and back. No proto in here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import NamedTuple

from lightflow_scheduler.schema import EntryField, FailureField

_RUN, _INSTANCE, _DAG, _TASK, _ATTEMPT = (
    name.encode()
    for name in (
        EntryField.RUN,
        EntryField.INSTANCE,
        EntryField.DAG,
        EntryField.TASK,
        EntryField.ATTEMPT,
    )
)


class QueueEntry(NamedTuple):
    """A ready task's entry in a queue stream, which a hand-out (a lease) is of. Its fields,
    in this order, are also what dispatch.lua takes per entry (scripts.py)."""

    queue: str
    entry_id: str
    run_id: str
    instance: str
    dag: str
    task: str
    attempt: int

    @classmethod
    def from_fields(
        cls, queue: str, entry_id: bytes | str, fields: Mapping[bytes, bytes]
    ) -> QueueEntry:
        """The entry as XREADGROUP / XRANGE return it (EntryField names)."""
        return cls(
            queue,
            entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
            fields[_RUN].decode(),
            fields[_INSTANCE].decode(),
            fields[_DAG].decode(),
            fields[_TASK].decode(),
            int(fields[_ATTEMPT]),
        )


class OutputLine(NamedTuple):
    """A line a task printed. Its fields, in this order, are what output.lua takes per line."""

    run_id: str
    instance: str
    task: str
    attempt: int
    stream: str
    text: str


class LeaseRef(NamedTuple):
    """A lease as a worker names it: queue and entry id (entry ids are unique per stream)."""

    queue: str
    entry_id: str


class Failure(NamedTuple):
    """What failed a task or a run; redis holds it as JSON (schema.FailureField)."""

    type: str
    message: str
    stack_trace: str

    def to_json(self) -> str:
        return json.dumps(
            {
                FailureField.TYPE: self.type,
                FailureField.MESSAGE: self.message,
                FailureField.STACK_TRACE: self.stack_trace,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes | str | None) -> Failure | None:
        if not raw:
            return None
        data = json.loads(raw)
        return cls(
            data.get(FailureField.TYPE, ""),
            data.get(FailureField.MESSAGE, ""),
            data.get(FailureField.STACK_TRACE, ""),
        )


class LeaseInput(NamedTuple):
    """An input dataset of a lease: the predecessor's output (a serialized Payload), or
    None when its seal did not hold (the task fails without loading it)."""

    task_name: str  # '' for the data given to start_dag
    alias: str
    payload: bytes | None


class TaskCode(NamedTuple):
    """A task's code and what travels with it, sent the first time a stream carries it."""

    code: bytes  # a serialized Payload
    seal: bytes
    source_path: str
    source: str


class Lease(NamedTuple):
    """A task handed out to a worker: the entry is its lease (a pending entry of the queue's
    consumer group) until its result is recorded or the lease expires."""

    entry: QueueEntry
    workflow: str
    definition_hash: str
    timeout_ms: int
    inputs: tuple[LeaseInput, ...]
    code: TaskCode | None  # None: this stream carried it before
    document_has_arguments: bool = False  # see TaskLease.document_has_arguments

    @property
    def ref(self) -> LeaseRef:
        return LeaseRef(self.entry.queue, self.entry.entry_id)


class TaskResult(NamedTuple):
    """A worker's report of a task's end."""

    lease: LeaseRef
    run_id: str
    instance: str
    task: str
    attempt: int
    status: str  # a TaskStatus name (a result is succeeded, failed, stopped or aborted)
    output: bytes  # a serialized Payload
    output_in_blob: bool
    failure: Failure | None
    limit: tuple[str, ...] | None  # the successors it selected; None: all
    store_used: bool = False  # it called its run's store (its document may exist now)


class WorkerHello(NamedTuple):
    """Who a worker is, from the first message of its stream."""

    worker_id: str
    hostname: str
    pid: int
    queues: list[str]
    concurrency: int


class WorkMessage(NamedTuple):
    """A message of a worker's stream; `credit` rides on any of them, and at most one of the
    rest is set."""

    credit: int = 0
    result: TaskResult | None = None
    lines: list[OutputLine] | None = None
    heartbeat: list[LeaseRef] | None = None  # the leases it holds
    release: list[LeaseRef] | None = None  # leases it will not run
    stop_leases: bool = False  # it is stopping: no more leases


class WorkerInfo(NamedTuple):
    worker_id: str
    hostname: str
    pid: int
    queues: list[str]
    concurrency: int
    running: int
    last_seen_ms: int


class WorkflowSummary(NamedTuple):
    name: str
    definition_hash: str
    description: str
    dag_names: list[str]
    registered_ms: int


class DagState(NamedTuple):
    instance: str
    dag: str
    status: str  # a DagStatus name
    started_ms: int  # 0: not yet
    ended_ms: int
    started_by: str = ""  # "<instance>/<task>" that started it; "": an autostart DAG


class TaskState(NamedTuple):
    instance: str
    task: str
    status: str  # a TaskStatus name
    attempt: int
    worker_id: str
    queue: str
    started_ms: int
    ended_ms: int
    failure: Failure | None


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    workflow: str
    definition_hash: str
    status: str  # a RunStatus name ('' when unknown)
    started_ms: int
    ended_ms: int
    keep_data: bool
    failure: Failure | None
    start_at_ms: int = 0  # a run started with a later start time: when it starts
    schedule: str = ""  # the schedule that started it
    tick_ms: int = 0  # and its tick (0: a trigger)
    # Only GetRun's: every DAG instance in start order, and each of their tasks.
    dags: tuple[DagState, ...] = ()
    tasks: tuple[TaskState, ...] = ()


class RunEvent(NamedTuple):
    """A transition of a run, or a line one of its tasks printed."""

    id: str
    run_id: str
    type: str  # an EventType name
    time_ms: int
    instance: str
    task: str
    attempt: int
    worker_id: str
    text: str
    stream: str
    status: str  # the run's, DAG instance's or task's, for the *_ended types
    failure: Failure | None


class MetaRead(NamedTuple):
    """A read of a run's provenance: to be read from the store instead, or (found, the value
    as BSON {"v": value})."""

    in_store: bool
    found: bool = False
    value: bytes = b""


class Outgoing(NamedTuple):
    """A message to a worker's stream: a lease (with the acknowledgement of a recorded
    result riding on it), an acknowledgement alone, or a task to end now."""

    lease: Lease | None = None
    recorded: LeaseRef | None = None
    cancel: LeaseRef | None = None


# -- schedules (schedules.py) ------------------------------------------------------------


class Overlap(StrEnum):
    SKIP = "skip"
    ALLOW = "allow"
    QUEUE = "queue"


class CatchUp(StrEnum):
    NONE = "none"
    LAST = "last"
    ALL = "all"


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    workflow: str
    arguments: dict[str, str] = field(default_factory=dict)
    cron: str = ""
    timezone: str = ""
    interval_s: float = 0.0
    start_ms: int = 0  # 0: no bound
    end_ms: int = 0
    jitter_s: float = 0.0
    overlap: Overlap = Overlap.SKIP
    catch_up: CatchUp = CatchUp.NONE
    catch_up_limit: int = 10
    keep_data: bool = False


@dataclass(frozen=True)
class ScheduleState:
    spec: ScheduleSpec
    created_ms: int
    paused: bool = False
    next_tick_ms: int = 0  # 0: none left
    last_tick_ms: int = 0
    last_run_id: str = ""
    declared: bool = False  # by its workflow's file: each registration of it updates it
    waiting: bool = False  # its next tick waits for the previous run (overlap "queue")
    last_error: str = ""  # why its last tick started no run ("" when it did)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes | str) -> ScheduleState:
        data = json.loads(raw)
        spec = data.pop("spec")
        spec["overlap"], spec["catch_up"] = Overlap(spec["overlap"]), CatchUp(spec["catch_up"])
        return cls(spec=ScheduleSpec(**spec), **data)
