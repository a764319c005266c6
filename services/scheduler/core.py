"""The scheduler's logic, free of gRPC: every state change is one Lua script on redis, so any
replica can serve any request and a replica that dies mid-call leaves nothing half-done."""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import bson
import redis
import structlog
from google.protobuf.timestamp_pb2 import Timestamp

from lightflow._codec import ENCODING_BSON, encode_document
from lightflow._meta import unescape
from lightflow._parameters import ArgumentError, Parameters
from lightflow._taskdata import ENCODING_BLOB, ENCODING_UNSEALED
from lightflow.v1 import common_pb2, scheduler_pb2, workflow_pb2
from lightflow_common.credentials import code_seal, derive_key, seal_value, unseal_value
from lightflow_scheduler import meta
from lightflow_scheduler.config import SchedulerConfig
from lightflow_scheduler.errors import (
    InvalidArgumentError,
    LimitError,
    NotFoundError,
    SchedulerError,
    StaleDefinitionError,
    StoreUnavailableError,
    UnknownDagError,
    require_run_id,
)
from lightflow_scheduler.graph import WorkflowGraph, build_graph
from lightflow_scheduler.keys import QUEUE_GROUP, Keys, is_run_id
from lightflow_scheduler.locks import RedisLock
from lightflow_scheduler.model import OutputLine, QueueEntry
from lightflow_scheduler.scripts import (
    DocumentFate,
    DocumentState,
    Handout,
    Outcome,
    RequeueOutcome,
    RequeueWhy,
    Scripts,
)

__all__ = [
    "InvalidArgumentError",
    "LimitError",
    "NotFoundError",
    "SchedulerCore",
    "SchedulerError",
    "StoreUnavailableError",
    "WorkerSession",
]

log = structlog.get_logger(__name__)

_RUN_STATUS = {
    "running": common_pb2.RUN_STATUS_RUNNING,
    "stopping": common_pb2.RUN_STATUS_STOPPING,
    "succeeded": common_pb2.RUN_STATUS_SUCCEEDED,
    "failed": common_pb2.RUN_STATUS_FAILED,
    "aborted": common_pb2.RUN_STATUS_ABORTED,
    "stopped": common_pb2.RUN_STATUS_STOPPED,
}
_RUN_STATUS_NAME = {v: k for k, v in _RUN_STATUS.items()}
_DAG_STATUS = {
    "running": common_pb2.DAG_STATUS_RUNNING,
    "succeeded": common_pb2.DAG_STATUS_SUCCEEDED,
    "failed": common_pb2.DAG_STATUS_FAILED,
    "stopped": common_pb2.DAG_STATUS_STOPPED,
}
_TASK_STATUS = {
    "waiting": common_pb2.TASK_STATUS_WAITING,
    "queued": common_pb2.TASK_STATUS_QUEUED,
    "running": common_pb2.TASK_STATUS_RUNNING,
    "succeeded": common_pb2.TASK_STATUS_SUCCEEDED,
    "failed": common_pb2.TASK_STATUS_FAILED,
    "skipped": common_pb2.TASK_STATUS_SKIPPED,
    "stopped": common_pb2.TASK_STATUS_STOPPED,
    "aborted": common_pb2.TASK_STATUS_ABORTED,
    "cancelled": common_pb2.TASK_STATUS_CANCELLED,
    "retrying": common_pb2.TASK_STATUS_RETRYING,
}
_TASK_STATUS_NAME = {v: k for k, v in _TASK_STATUS.items()}
# A task still in one of these when its run stopped (a failure, an abort, StopRun) or its DAG
# instance was stopped or ended will never run: nothing new starts then, and its queue entry
# is dropped at dispatch. GetRun shows it `cancelled` (the state the scripts record for an
# entry they drop) rather than as if it were still to come.
_NEVER_STARTED = frozenset({"waiting", "queued"})
_EVENT_TYPE = {
    "run_started": scheduler_pb2.RUN_EVENT_TYPE_RUN_STARTED,
    "run_ended": scheduler_pb2.RUN_EVENT_TYPE_RUN_ENDED,
    "run_stopping": scheduler_pb2.RUN_EVENT_TYPE_RUN_STOPPING,
    "dag_started": scheduler_pb2.RUN_EVENT_TYPE_DAG_STARTED,
    "dag_ended": scheduler_pb2.RUN_EVENT_TYPE_DAG_ENDED,
    "task_queued": scheduler_pb2.RUN_EVENT_TYPE_TASK_QUEUED,
    "task_started": scheduler_pb2.RUN_EVENT_TYPE_TASK_STARTED,
    "task_ended": scheduler_pb2.RUN_EVENT_TYPE_TASK_ENDED,
    "task_output": scheduler_pb2.RUN_EVENT_TYPE_TASK_OUTPUT,
    "task_lease_expired": scheduler_pb2.RUN_EVENT_TYPE_TASK_LEASE_EXPIRED,
    "dag_stopping": scheduler_pb2.RUN_EVENT_TYPE_DAG_STOPPING,
    "task_retrying": scheduler_pb2.RUN_EVENT_TYPE_TASK_RETRYING,
}
_FINAL_RUN_STATES = frozenset({"succeeded", "failed", "aborted", "stopped"})
# Events a watch reads from redis at once.
_WATCH_BATCH = 500
# How long a replica may take to create a run's document before another may try.
_DOCUMENT_CLAIM_MS = 60_000
# The fields of a run's hash its provenance is made of (with its DAGs' and tasks' hashes).
_META_RUN_FIELDS = ("wf", "def", "status", "started", "ended")


class RunStore(Protocol):
    """What the scheduler needs of the store service (lightflow._store.StoreClient): a run's
    document comes and goes, and a kept run's provenance goes into its meta section."""

    def create_document_bson(
        self, run_id: str, initial_data_bson: bytes, initial_meta_bson: bytes
    ) -> None: ...

    def delete_document(self, run_id: str, *, with_task_data: bool = False) -> None: ...

    def set_many_payloads(
        self, run_id: str, items: Mapping[str, common_pb2.Payload], *, section: object = "data"
    ) -> None: ...


class RunBlobs(Protocol):
    """The store service's blobs (lightflow._taskdata.BlobClient): large task data."""

    def delete_run(self, run_id: str) -> None: ...


def _ms(value: bytes | str | None) -> int:
    return int(value) if value else 0


def _timestamp(ms: int) -> Timestamp:
    ts = Timestamp()
    ts.FromMilliseconds(ms)
    return ts


def _s(value: bytes | None) -> str:
    return value.decode() if value is not None else ""


def _decoded(fields: Mapping[bytes, bytes]) -> dict[str, str]:
    return {name.decode(): value.decode() for name, value in fields.items()}


def _failure(raw: bytes | str | None) -> common_pb2.Failure | None:
    if not raw:
        return None
    data = json.loads(raw)
    return common_pb2.Failure(
        type=data.get("type", ""),
        message=data.get("message", ""),
        stack_trace=data.get("stack_trace", ""),
    )


_ENTRY_ID = re.compile(r"\d{1,20}-\d{1,20}")


def _check_lease_ref(ref: scheduler_pb2.LeaseRef) -> None:
    if not ref.queue or not _ENTRY_ID.fullmatch(ref.entry_id):
        raise InvalidArgumentError(
            f"invalid lease reference (queue {ref.queue[:100]!r}, entry {ref.entry_id[:100]!r})"
        )


def _stream_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def check_event_id(event_id: str) -> None:
    if event_id and not _ENTRY_ID.fullmatch(event_id):
        raise InvalidArgumentError(
            f"after_event_id {event_id[:100]!r} is not an event id (like '1764000000000-0')"
        )


def _merge_streams(
    reply: list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]], count: int
) -> list[tuple[str, dict[bytes, bytes]]]:
    """The entries of streams read with one cursor (XREAD COUNT `count`), in id order, up to
    the last id every stream was read to: a stream that filled its COUNT may hold entries
    before another stream's later ones."""
    merged: list[tuple[tuple[int, int], str, dict[bytes, bytes]]] = []
    upto: tuple[int, int] | None = None
    for _key, entries in reply:
        for raw_id, fields in entries:
            entry_id = raw_id.decode()
            merged.append((_stream_id(entry_id), entry_id, fields))
        if len(entries) >= count:
            last = _stream_id(entries[-1][0].decode())
            upto = last if upto is None else min(upto, last)
    merged.sort(key=lambda entry: entry[0])
    return [(entry_id, fields) for key, entry_id, fields in merged if upto is None or key <= upto]


def _set_span(message: Any, started_ms: str | None, ended_ms: str | None) -> None:
    if started_ms:
        message.started_at.CopyFrom(_timestamp(int(started_ms)))
    if ended_ms:
        message.ended_at.CopyFrom(_timestamp(int(ended_ms)))


def failure_json(failure: common_pb2.Failure) -> str:
    return json.dumps(
        {"type": failure.type, "message": failure.message, "stack_trace": failure.stack_trace}
    )


@dataclass
class WorkerSession:
    """One worker's stream on this replica."""

    worker_id: str
    hostname: str
    pid: int
    queues: list[str]
    concurrency: int
    # (definition hash, dag, task) whose code this stream has already carried
    code_sent: set[tuple[str, str, str]] = field(default_factory=set)
    credit: int = 0
    closed: bool = False
    draining: bool = False
    # Why the stream ended, when the worker sent something wrong: (status code, message).
    error: tuple[Any, str] | None = None
    # (queue, entry id) -> (run id, DAG instance) of what this stream handed out.
    handed: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def add_credit(self, n: int) -> None:
        with self.changed:
            if self.draining:
                return
            self.credit += n
            self.changed.notify_all()

    def close(self) -> None:
        with self.changed:
            self.closed = True
            self.changed.notify_all()

    def stop_leases(self) -> None:
        """The worker is stopping: it gets no more leases on this stream."""
        with self.changed:
            self.draining = True
            self.credit = 0

    def reserve(self) -> int:
        """Takes all the credit (for one read of the queues); give back what was not used."""
        with self.changed:
            taken, self.credit = self.credit, 0
            return taken

    def refund(self, n: int) -> None:
        if n > 0:
            self.add_credit(n)

    def wait_for_credit(self, timeout: float) -> int:
        with self.changed:
            self.changed.wait_for(lambda: self.credit > 0 or self.closed, timeout)
            return 0 if self.closed else self.credit


class SchedulerCore:
    def __init__(
        self, config: SchedulerConfig, client: redis.Redis, store: RunStore, blobs: RunBlobs
    ) -> None:
        self.config = config
        # redis-py types replies as unions of every possible shape; ours are fixed by the
        # commands (bytes, decode_responses off), so the client is used untyped here.
        self.redis: Any = client
        self.keys = Keys(config.namespace)
        self.store = store
        self.blobs = blobs
        self.scripts = Scripts(client, config.namespace, config.retention_s)
        # Seals the code of registered workflows; redis never sees it, so code written into
        # redis directly carries no valid seal and workers refuse it.
        self._code_key = derive_key(config.token, "code")
        # Seals what the scheduler keeps in redis for tasks to load (task data, the first
        # contents of a run's document: pickles, in part), checked when read back.
        self._data_key = derive_key(config.token, "data")
        self._graphs: dict[str, WorkflowGraph] = {}
        # Workflow name -> the definition hash last seen registered under it.
        self._registered: dict[str, str] = {}
        self._graphs_lock = threading.Lock()
        self._lease_ms = int(config.lease_timeout_s * 1000)
        # Store writes that need not hold up a task hop: meta of ended DAGs, clean-ups.
        self._background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="background")
        # Document creations of runs started here, so that a clean-up waits for its creation.
        self._creations = ThreadPoolExecutor(max_workers=4, thread_name_prefix="create")
        self._created: dict[str, Future[None]] = {}

    # -- helpers -------------------------------------------------------------------------

    def _seal(self, run_id: str, value: bytes) -> bytes:
        return seal_value(self._data_key, value, run_id.encode())

    def _unseal(self, run_id: str, sealed: bytes) -> bytes | None:
        return unseal_value(self._data_key, sealed, run_id.encode())

    def healthy(self) -> bool:
        return bool(self.redis.ping())

    def graph(self, definition_hash: str) -> WorkflowGraph:
        """The graph of a registered definition; definitions never change once stored."""
        with self._graphs_lock:
            cached = self._graphs.get(definition_hash)
        if cached is not None:
            return cached
        raw = self.redis.get(self.keys.definition(definition_hash))
        if raw is None:
            raise NotFoundError(f"workflow definition {definition_hash} is not registered")
        definition = workflow_pb2.WorkflowDefinition.FromString(raw)
        graph = build_graph(definition)
        for field_name, sealed in self.redis.hgetall(self.keys.seals(definition_hash)).items():
            dag, _, task = field_name.decode().partition("/")
            graph.seals[(dag, task)] = sealed
        with self._graphs_lock:
            self._graphs[definition_hash] = graph
        return graph

    # -- workflows -----------------------------------------------------------------------

    def register_workflow(self, definition: workflow_pb2.WorkflowDefinition) -> WorkflowGraph:
        try:
            graph = build_graph(definition)
        except ValueError as err:
            raise InvalidArgumentError(str(err)) from err
        summary = {
            "hash": graph.definition_hash,
            "description": definition.description,
            "dags": [d.name for d in definition.dags],
            "registered_ms": int(time.time() * 1000),
        }
        queues = sorted(graph.queues)
        for (dag, task), code in graph.code.items():
            graph.seals[(dag, task)] = code_seal(
                self._code_key,
                graph.definition_hash,
                dag,
                task,
                code,
                definition.source_path,
                definition.source,
            )
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(self.keys.definition(graph.definition_hash), definition.SerializeToString())
        pipe.hset(
            self.keys.seals(graph.definition_hash),
            mapping={f"{dag}/{task}": sealed for (dag, task), sealed in graph.seals.items()},
        )
        pipe.hset(self.keys.graph(graph.definition_hash), mapping=graph.redis_fields())
        pipe.sadd(self.keys.queues, *queues)
        pipe.hset(self.keys.workflows, definition.name, json.dumps(summary))
        pipe.execute()
        self.ensure_queue_groups(queues)
        with self._graphs_lock:
            self._graphs[graph.definition_hash] = graph
        self._registered[definition.name] = graph.definition_hash
        log.info("workflow_registered", workflow=definition.name, hash=graph.definition_hash)
        return graph

    def list_workflows(self) -> list[scheduler_pb2.WorkflowSummary]:
        result = []
        for name, raw in sorted(self.redis.hgetall(self.keys.workflows).items()):
            summary = json.loads(raw)
            result.append(
                scheduler_pb2.WorkflowSummary(
                    name=name.decode(),
                    definition_hash=summary["hash"],
                    description=summary["description"],
                    dag_names=summary["dags"],
                    registered_at=_timestamp(summary["registered_ms"]),
                )
            )
        return result

    def ensure_queue_groups(self, queues: list[str]) -> None:
        for queue in queues:
            try:
                self.redis.xgroup_create(self.keys.queue(queue), QUEUE_GROUP, id="0", mkstream=True)
            except redis.ResponseError as err:
                if "BUSYGROUP" not in str(err):
                    raise

    # -- runs ----------------------------------------------------------------------------

    def start_run(
        self,
        workflow_name: str,
        arguments: dict[str, str],
        keep_data: bool,
        deadline_s: float = 0.0,
        request_id: str = "",
    ) -> str:
        # The definition last seen under this name; start_run.lua refuses a stale one.
        definition_hash = self._registered.get(workflow_name) or self._registered_hash(
            workflow_name
        )
        try:
            return self._start_run(
                workflow_name, definition_hash, arguments, keep_data, deadline_s, request_id
            )
        except StaleDefinitionError:
            pass
        # Registered anew (or removed) since: once more with what is registered now.
        return self._start_run(
            workflow_name,
            self._registered_hash(workflow_name),
            arguments,
            keep_data,
            deadline_s,
            request_id,
        )

    def _registered_hash(self, workflow_name: str) -> str:
        raw = self.redis.hget(self.keys.workflows, workflow_name)
        if raw is None:
            known = sorted(n.decode() for n in self.redis.hkeys(self.keys.workflows))
            raise NotFoundError(
                f"workflow '{workflow_name}' is not registered"
                f" (registered: {', '.join(known) or 'none'})"
            )
        definition_hash: str = json.loads(raw)["hash"]
        self._registered[workflow_name] = definition_hash
        return definition_hash

    def _start_run(
        self,
        workflow_name: str,
        definition_hash: str,
        arguments: dict[str, str],
        keep_data: bool,
        deadline_s: float,
        request_id: str,
    ) -> str:
        graph = self.graph(definition_hash)
        try:
            # The SDK's own rules, so that every client language gets the same checks.
            values = Parameters.from_proto(graph.definition.options).consolidate(arguments)
        except ArgumentError as err:
            raise InvalidArgumentError(f"workflow '{workflow_name}': {err}") from err
        run_id = uuid.uuid4().hex
        autostart = [d.name for d in graph.definition.dags if d.autostart]
        now_ms = int(time.time() * 1000)
        deadline_ms = now_ms + int(deadline_s * 1000) if deadline_s > 0 else 0
        # The store document is created late (see document.lua), unless the run has arguments:
        # they are the document's first data, which its first tasks read.
        due_ms = now_ms if values else now_ms + int(self.config.document_delay_s * 1000)
        winner = self.scripts.start_run(
            run_id=run_id,
            workflow=workflow_name,
            definition_hash=definition_hash,
            keep_data=keep_data,
            deadline_ms=deadline_ms,
            request_id=request_id,
            arguments=self._seal(run_id, encode_document(values)),
            has_arguments=bool(values),
            document_due_ms=due_ms,
            autostart=autostart,
        )
        if winner != run_id:  # a retry of the same request started it first
            return winner
        if values:
            creation = self._creations.submit(self._create_document_logged, run_id)
            self._created[run_id] = creation
            creation.add_done_callback(lambda _: self._created.pop(run_id, None))
        log.info("run_started", run_id=run_id, workflow=workflow_name)
        return run_id

    # -- the run's store document (see document.lua) ---------------------------------------

    def create_document(self, run_id: str) -> bool:
        """Creates the run's store document if it is still to be created. True when it now
        exists or another replica is creating it (the store holds calls back until it is);
        False when the run ended without one, or is unknown."""
        require_run_id(run_id)
        claimed = self._claim_document(run_id)
        if isinstance(claimed, bytes):
            self._create_claimed(run_id, claimed)
            return True
        return claimed

    def _claim_document(self, run_id: str) -> bytes | bool:
        """The data section to create the document with, if this replica is to create it;
        else whether it exists or is on its way. Its meta section stays empty until the run
        ends (and is written then if the run keeps its data)."""
        expiry = int(time.time() * 1000) + _DOCUMENT_CLAIM_MS
        claimed = self.scripts.document_claim(run_id=run_id, expiry_ms=expiry)
        if claimed.state == DocumentState.CLAIMED and claimed.data is not None:
            data = self._unseal(run_id, claimed.data)
            if data is None:
                log.error("document_contents_unsealed", run_id=run_id)
                return encode_document({})
            return data
        return claimed.state in (DocumentState.BUSY, DocumentState.CREATED)

    def _create_claimed(self, run_id: str, data: bytes) -> None:
        try:
            self.store.create_document_bson(run_id, data, b"")
        except Exception:
            self.scripts.document_release(run_id=run_id)
            raise
        self.scripts.document_created(run_id=run_id)

    def _create_document_logged(self, run_id: str, contents: bytes | None = None) -> None:
        try:
            if contents is None:
                self.create_document(run_id)
            else:
                self._create_claimed(run_id, contents)
        except Exception as err:  # due again: a timer tries later
            log.error("store_document_not_created", run_id=run_id, error=str(err))

    def _create_due_documents(self, now_ms: int) -> None:
        """Claims the documents that are due (here, so a timer does not see them again) and
        creates them off the timer's thread."""
        due = self.redis.zrangebyscore(self.keys.documents_due, "-inf", now_ms, start=0, num=100)
        for raw in due:
            run_id = raw.decode()
            claimed = self._claim_document(run_id)
            if isinstance(claimed, bytes):
                self._creations.submit(self._create_document_logged, run_id, claimed)

    def _run_fields(self, run_id: str) -> dict[bytes, bytes]:
        fields: dict[bytes, bytes] = self.redis.hgetall(self.keys.run(run_id))
        if not fields:
            raise NotFoundError(f"run '{run_id}' not found (unknown, or its retention ended)")
        return fields

    def _run_proto(self, run_id: str, fields: dict[bytes, bytes]) -> scheduler_pb2.Run:
        run = scheduler_pb2.Run(
            id=run_id,
            workflow_name=_s(fields.get(b"wf")),
            definition_hash=_s(fields.get(b"def")),
            status=_RUN_STATUS.get(_s(fields.get(b"status")), common_pb2.RUN_STATUS_UNSPECIFIED),
            started_at=_timestamp(_ms(fields.get(b"started"))),
            keep_data=fields.get(b"keep") == b"1",
        )
        if fields.get(b"ended"):
            run.ended_at.CopyFrom(_timestamp(_ms(fields.get(b"ended"))))
        failure = _failure(fields.get(b"failure"))
        if failure is not None:
            run.failure.CopyFrom(failure)
        return run

    def get_run(self, run_id: str) -> scheduler_pb2.Run:
        require_run_id(run_id)
        fields = self._run_fields(run_id)
        run = self._run_proto(run_id, fields)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self.keys.run_dags(run_id))
        pipe.hgetall(self.keys.run_tasks(run_id))
        dags_raw, tasks_raw = pipe.execute()
        dags = {k.decode(): v.decode() for k, v in dags_raw.items()}
        tasks = {k.decode(): v.decode() for k, v in tasks_raw.items()}
        graph = self.graph(run.definition_hash)
        instances = sorted(
            (name for name in dags if "|" not in name), key=lambda i: int(dags.get(f"{i}|n", 0))
        )
        run_halted = run.status != common_pb2.RUN_STATUS_RUNNING
        for inst in instances:
            halted = run_halted or dags[inst] != "running" or f"{inst}|stop" in dags
            dag_name = dags.get(f"{inst}|dag", inst)
            dag = scheduler_pb2.DagInstance(
                instance=inst,
                dag_name=dag_name,
                status=_DAG_STATUS.get(dags[inst], common_pb2.DAG_STATUS_UNSPECIFIED),
            )
            _set_span(dag, dags.get(f"{inst}|t0"), dags.get(f"{inst}|t1"))
            run.dags.append(dag)
            for task in graph.dags[dag_name].tasks.values():
                key = f"{inst}/{task.name}"
                status = tasks.get(f"{key}|s", "waiting")
                if halted and status in _NEVER_STARTED:
                    status = "cancelled"
                state = scheduler_pb2.TaskState(
                    dag_instance=inst,
                    task_name=task.name,
                    status=_TASK_STATUS[status],
                    attempt=int(tasks.get(f"{key}|a", 0)),
                    worker_id=tasks.get(f"{key}|w", ""),
                    queue=task.queue,
                )
                _set_span(state, tasks.get(f"{key}|t0"), tasks.get(f"{key}|t1"))
                failure = _failure(tasks.get(f"{key}|f"))
                if failure is not None:
                    state.failure.CopyFrom(failure)
                run.tasks.append(state)
        return run

    def list_runs(self, status: common_pb2.RunStatus, limit: int) -> list[scheduler_pb2.Run]:
        wanted = _RUN_STATUS_NAME.get(status)
        ids = [i.decode() for i in self.redis.zrevrange(self.keys.runs, 0, -1)]
        runs: list[scheduler_pb2.Run] = []
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            pipe = self.redis.pipeline(transaction=False)
            for run_id in chunk:
                pipe.hgetall(self.keys.run(run_id))
            for run_id, fields in zip(chunk, pipe.execute(), strict=True):
                if not fields or (wanted and _s(fields.get(b"status")) != wanted):
                    continue
                runs.append(self._run_proto(run_id, fields))
                if len(runs) >= (limit or 100):
                    return runs
        return runs

    def stop_run(self, run_id: str, reason: str = "stop requested") -> common_pb2.RunStatus:
        require_run_id(run_id)
        status_name = self.scripts.stop_run(run_id=run_id, reason=reason)
        if status_name in _FINAL_RUN_STATES:
            self.clean_up_run(run_id)
        return _RUN_STATUS[status_name]

    def watch_run(
        self,
        run_id: str,
        after_event_id: str,
        active: Callable[[], bool],
        types: frozenset[int] = frozenset(),
    ) -> Iterator[scheduler_pb2.RunEvent]:
        """The run's events after `after_event_id` (only those of `types`, when given), live,
        until the run's final event."""
        require_run_id(run_id)
        check_event_id(after_event_id)
        if types == {scheduler_pb2.RUN_EVENT_TYPE_RUN_ENDED}:
            yield from self._watch_end(run_id, after_event_id, active)
            return
        self._run_fields(run_id)
        # Transitions and printed lines are two streams with ids from one counter: read
        # from one cursor, they merge in order. Lines are read only by who wants them.
        keys = [self.keys.run_events(run_id)]
        if not types or scheduler_pb2.RUN_EVENT_TYPE_TASK_OUTPUT in types:
            keys.append(self.keys.run_output(run_id))
        cursor = after_event_id or "0-0"
        while active():
            reply = self.redis.xread(dict.fromkeys(keys, cursor), count=_WATCH_BATCH, block=2000)
            if not reply:
                status = self.redis.hget(self.keys.run(run_id), "status")
                if status is None or _s(status) in _FINAL_RUN_STATES:
                    # Over (or past its retention): the final event was before the cursor.
                    return
                continue
            for entry_id, fields in _merge_streams(reply, _WATCH_BATCH):
                cursor = entry_id
                kind = _EVENT_TYPE.get(_s(fields.get(b"ty")))
                if types and kind not in types and kind != scheduler_pb2.RUN_EVENT_TYPE_RUN_ENDED:
                    continue  # filtered before the costly part: the message
                event = self.event_proto(run_id, cursor, fields)
                if types and kind not in types:
                    return  # the run ended; the caller did not ask to see it
                yield event
                if event.type == scheduler_pb2.RUN_EVENT_TYPE_RUN_ENDED:
                    return

    def _watch_end(
        self, run_id: str, after_event_id: str, active: Callable[[], bool]
    ) -> Iterator[scheduler_pb2.RunEvent]:
        """Only the final event: blocks on the run's one-entry end stream, so the replica
        does not wake for every event of the run."""
        end = self.keys.run_end(run_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.exists(self.keys.run(run_id))
        pipe.xrange(end, count=1)
        exists, entries = pipe.execute()
        if not exists:
            raise NotFoundError(f"run '{run_id}' not found (unknown, or its retention ended)")
        while not entries and active():
            reply = self.redis.xread({end: "0-0"}, count=1, block=2000)
            if reply:
                entries = reply[0][1]
            elif not self.redis.exists(self.keys.run(run_id)):
                return  # past its retention
        if not entries:
            return
        fields = entries[0][1]
        event_id = _s(fields[b"e"])
        if after_event_id and _stream_id(event_id) <= _stream_id(after_event_id):
            return
        if b"ty" not in fields:  # ended before end entries held the event: read it
            found = self.redis.xrange(self.keys.run_events(run_id), event_id, event_id)
            if not found:
                return
            fields = found[0][1]
        yield self.event_proto(run_id, event_id, fields)

    @staticmethod
    def event_proto(
        run_id: str, entry_id: str, fields: dict[bytes, bytes]
    ) -> scheduler_pb2.RunEvent:
        f = {k.decode(): v for k, v in fields.items()}
        ty = _s(f.get("ty"))
        event = scheduler_pb2.RunEvent(
            id=entry_id,
            time=_timestamp(_ms(f.get("ts"))),
            type=_EVENT_TYPE.get(ty, scheduler_pb2.RUN_EVENT_TYPE_UNSPECIFIED),
            run_id=run_id,
            dag_instance=_s(f.get("i")),
            task_name=_s(f.get("k")),
            attempt=_ms(f.get("a")),
            worker_id=_s(f.get("w")),
            text=f.get("x", b"").decode(errors="replace"),
            stream=_s(f.get("o")),
        )
        status = _s(f.get("s"))
        if ty == "run_ended":
            event.run_status = _RUN_STATUS.get(status, common_pb2.RUN_STATUS_UNSPECIFIED)
        elif ty == "dag_ended":
            event.dag_status = _DAG_STATUS.get(status, common_pb2.DAG_STATUS_UNSPECIFIED)
        elif ty == "task_ended":
            event.task_status = _TASK_STATUS.get(status, common_pb2.TASK_STATUS_UNSPECIFIED)
        failure = _failure(f.get("f"))
        if failure is not None:
            event.failure.CopyFrom(failure)
        return event

    # -- signals from running tasks ------------------------------------------------------

    def start_dag(self, run_id: str, dag_name: str, data: bytes, request_id: str = "") -> str:
        require_run_id(run_id)
        in_blob = bool(data) and common_pb2.Payload.FromString(data).encoding == ENCODING_BLOB
        try:
            return self.scripts.start_dag(
                run_id=run_id,
                dag=dag_name,
                data=self._seal(run_id, data) if data else b"",
                request_id=request_id,
                data_in_blob=in_blob,
                max_instances=self.config.max_dag_instances,
            )
        except UnknownDagError as err:
            graph = self.graph(_s(self.redis.hget(self.keys.run(run_id), "def")))
            raise NotFoundError(
                f"workflow '{graph.definition.name}' has no DAG named '{dag_name}'"
                f" (its DAGs: {', '.join(graph.dags)})"
            ) from err

    def join_dags(self, run_id: str, instances: list[str], caller: str, wait_ms: int) -> bool:
        """True once every instance ended (or the run stops); False after `wait_ms`."""
        require_run_id(run_id)
        deadline = time.monotonic() + wait_ms / 1000
        events = self.keys.run_events(run_id)
        last = self.redis.xrevrange(events, count=1)
        # Events after this id wake us; reading it before the check closes the race.
        cursor = last[0][0].decode() if last else "0-0"
        while True:
            pipe = self.redis.pipeline(transaction=False)
            pipe.hget(self.keys.run(run_id), "status")
            pipe.hgetall(self.keys.run_dags(run_id))
            status, dags_raw = pipe.execute()
            if status is None:
                raise NotFoundError(f"run '{run_id}' not found")
            if status != b"running":
                return True
            dags = {k.decode(): v.decode() for k, v in dags_raw.items()}
            targets = instances or [d for d in dags if "|" not in d and d != caller]
            unknown = [i for i in targets if i not in dags]
            if unknown:
                raise NotFoundError(f"run '{run_id}' has no DAG instance {', '.join(unknown)}")
            if all(dags[i] != "running" for i in targets):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            reply = self.redis.xread(
                {events: cursor}, count=1000, block=max(1, int(remaining * 1000))
            )
            if reply:
                cursor = reply[0][1][-1][0].decode()

    def stop_dag(self, run_id: str, instance: str) -> None:
        require_run_id(run_id)
        self.scripts.stop_dag(run_id=run_id, instance=instance)

    def is_stopped(self, run_id: str, instance: str) -> tuple[bool, bool]:
        """(run stopping or over, DAG instance stopping or over)."""
        require_run_id(run_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hget(self.keys.run(run_id), "status")
        pipe.hmget(self.keys.run_dags(run_id), [instance, f"{instance}|stop"])
        status, (dag_status, dag_stop) = pipe.execute()
        if status is None:
            raise NotFoundError(f"run '{run_id}' not found")
        if instance and dag_status is None:
            raise NotFoundError(f"run '{run_id}' has no DAG instance '{instance}'")
        run_stopped = status != b"running"
        dag_stopped = bool(instance) and (dag_status != b"running" or dag_stop is not None)
        return run_stopped, run_stopped or dag_stopped

    # -- provenance: the run's meta section (layout: lightflow/_meta.py) ------------------

    def read_meta(self, run_id: str, key: str) -> tuple[bool, bool, bytes]:
        """(in the store, found, the value as BSON {"v": value}) of `key` in the run's meta
        section. A live run's section is built from its state in redis, so a reader sees
        every transition recorded before its call; so is an ended run's that keeps its data
        until its section was written into its store document. Otherwise (written, not kept,
        or not known here) it is to be read from the store."""
        try:
            segments = meta.split_key(key, run_id)
        except meta.MetaKeyError as err:
            raise InvalidArgumentError(str(err)) from err
        if not is_run_id(run_id):
            return True, False, b""  # no run of ours: the store knows, or says NOT_FOUND
        fields: list[bytes | None] = self.redis.hmget(
            self.keys.run(run_id), [*_META_RUN_FIELDS, "keep", "meta"]
        )
        run = dict(zip(_META_RUN_FIELDS, fields, strict=False))
        keep, written = fields[-2:]
        if run["wf"] is None:
            return True, False, b""
        if _s(run["status"]) in _FINAL_RUN_STATES and (keep != b"1" or written is not None):
            return True, False, b""
        section = self._meta_section(run_id, run, segments)
        found, value = meta.navigate(section, segments)
        return False, found, bson.encode({"v": value}) if found else b""

    def _meta_section(
        self, run_id: str, fields: Mapping[str, bytes | None], segments: list[str]
    ) -> dict[str, Any]:
        """The section, or as much of it as `segments` needs: the run's entries alone for a
        key outside `log`, one DAG instance's for a key inside it (bounded by its DAG's
        size), all of it otherwise. `fields` are the run hash's _META_RUN_FIELDS."""
        run = {name: _s(value) for name, value in fields.items()}
        if segments and segments[0] != "log":
            wanted = segments[0] == "arguments"
            return meta.run_entries(run_id, run, self._arguments(run_id) if wanted else {})
        section = meta.run_entries(run_id, run, {} if segments else self._arguments(run_id))
        if len(segments) >= 2:
            section["log"] = self._instance_log(run_id, run["def"], segments)
            return section
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self.keys.run_dags(run_id))
        pipe.hgetall(self.keys.run_tasks(run_id))
        dags_raw, tasks_raw = pipe.execute()
        section["log"] = meta.log_entries(_decoded(dags_raw), _decoded(tasks_raw))
        return section

    def _instance_log(
        self, run_id: str, definition_hash: str, segments: list[str]
    ) -> dict[str, Any]:
        """`log` with one DAG instance (segments[1]), its tasks (or only segments[3], for a key
        under `log.<instance>.tasks.<task>`)."""
        instance = unescape(segments[1])
        dag_fields = meta.instance_fields(instance)
        raw = self.redis.hmget(self.keys.run_dags(run_id), dag_fields)
        dags = {name: _s(value) for name, value in zip(dag_fields, raw, strict=True) if value}
        if instance not in dags:
            return {}
        if len(segments) >= 4 and segments[2] == "tasks":
            names = [unescape(segments[3])]
        elif len(segments) == 2 or segments[2] == "tasks":
            dag = self.graph(definition_hash).dags.get(dags.get(f"{instance}|dag", instance))
            names = list(dag.tasks) if dag is not None else []
        else:
            names = []
        task_fields = meta.task_fields(instance, names)
        raw = self.redis.hmget(self.keys.run_tasks(run_id), task_fields) if names else []
        tasks = {name: _s(value) for name, value in zip(task_fields, raw, strict=True) if value}
        return meta.log_entries(dags, tasks)

    def _arguments(self, run_id: str) -> dict[str, Any]:
        """The run's arguments as its store document holds them (BSON; a value that is not
        BSON-native stays a payload sub-document: the schedulers never unpickle)."""
        sealed = self.redis.hget(self.keys.run(run_id), "args")
        if not sealed:
            return {}
        raw = self._unseal(run_id, sealed)
        if raw is None:
            log.error("run_arguments_unsealed", run_id=run_id)
            return {}
        arguments: dict[str, Any] = bson.decode(raw)
        return arguments

    def write_meta(self, run_id: str) -> None:
        """Writes an ended run's whole meta section into its store document (created first if
        it is still to be created), in one store call; from then on its meta is read there."""
        fields = self.redis.hmget(self.keys.run(run_id), _META_RUN_FIELDS)
        if fields[0] is None:
            return
        section = self._meta_section(run_id, dict(zip(_META_RUN_FIELDS, fields, strict=True)), [])
        self.create_document(run_id)
        self.store.set_many_payloads(
            run_id,
            {
                name: common_pb2.Payload(encoding=ENCODING_BSON, data=bson.encode({"v": value}))
                for name, value in section.items()
            },
            section="meta",
        )
        self.redis.hset(self.keys.run(run_id), "meta", 1)

    # -- workers -------------------------------------------------------------------------

    def worker_seen(self, session: WorkerSession, running: int) -> None:
        info = {
            "hostname": session.hostname,
            "pid": session.pid,
            "queues": session.queues,
            "concurrency": session.concurrency,
            "running": running,
            "last_seen_ms": int(time.time() * 1000),
        }
        self.redis.hset(self.keys.workers, session.worker_id, json.dumps(info))

    def worker_gone(self, worker_id: str) -> None:
        self.redis.hdel(self.keys.workers, worker_id)

    def list_workers(self) -> list[scheduler_pb2.WorkerInfo]:
        horizon = int(time.time() * 1000) - 3 * self._lease_ms
        workers = []
        for worker_id, raw in sorted(self.redis.hgetall(self.keys.workers).items()):
            info = json.loads(raw)
            if info["last_seen_ms"] < horizon:
                continue
            workers.append(
                scheduler_pb2.WorkerInfo(
                    worker_id=worker_id.decode(),
                    hostname=info["hostname"],
                    pid=info["pid"],
                    queues=info["queues"],
                    concurrency=info["concurrency"],
                    running=info["running"],
                    last_seen=_timestamp(info["last_seen_ms"]),
                )
            )
        return workers

    def next_leases(
        self, session: WorkerSession, reader: Any, credit: int, block_ms: int
    ) -> list[scheduler_pb2.TaskLease]:
        """Blocks up to `block_ms` for ready tasks on the session's queues; hands out at most
        `credit` (which the caller reserved from the session)."""
        if credit <= 0:
            return []
        reply = self._read_queues(session, reader, credit, block_ms)
        if not reply:
            return []
        entries: list[QueueEntry] = []
        prefix_len = len(self.keys.queue(""))
        for stream_key, items in reply:
            queue = stream_key.decode()[prefix_len:]
            for raw_id, fields in items:
                if not fields:  # deleted while pending
                    continue
                entries.append(QueueEntry.from_fields(queue, raw_id, fields))
        if not entries:
            return []
        handouts = self.scripts.dispatch(worker_id=session.worker_id, entries=entries)
        return self._leases(session, handouts)

    def _leases(
        self, session: WorkerSession, handouts: list[Handout]
    ) -> list[scheduler_pb2.TaskLease]:
        """Lease messages for what dispatch_entry handed out (dropped entries are skipped).
        A stream carries a task's code once; the worker caches it."""
        leases = []
        for entry, started, workflow_name, definition_hash, inputs in handouts:
            if not started:
                continue
            queue, entry_id, run_id, instance, dag, task, attempt = entry
            graph = self.graph(definition_hash)
            lease = scheduler_pb2.TaskLease(
                lease=scheduler_pb2.LeaseRef(queue=queue, entry_id=entry_id),
                run_id=run_id,
                workflow_name=workflow_name,
                definition_hash=definition_hash,
                dag_name=dag,
                dag_instance=instance,
                task_name=task,
                attempt=attempt,
                timeout_ms=int(graph.dags[dag].tasks[task].timeout_s * 1000),
            )
            for pred, alias, sealed in inputs:
                data = self._unseal(run_id, sealed)
                if data is None:
                    log.error("task_data_unsealed", run_id=run_id, task=f"{instance}/{task}")
                lease.inputs.append(
                    scheduler_pb2.InputDataset(
                        task_name=pred,
                        alias=alias,
                        data=common_pb2.Payload(encoding=ENCODING_UNSEALED)
                        if data is None
                        else common_pb2.Payload.FromString(data),
                    )
                )
            session.handed[(queue, entry_id)] = (run_id, instance)
            code_key = (definition_hash, dag, task)
            if code_key not in session.code_sent:
                lease.code.ParseFromString(graph.code[(dag, task)])
                lease.code_seal = graph.seals.get((dag, task), b"")
                lease.source_path = graph.definition.source_path
                lease.source = graph.definition.source
                session.code_sent.add(code_key)
            leases.append(lease)
        return leases

    def _read_queues(
        self, session: WorkerSession, reader: Any, credit: int, block_ms: int
    ) -> list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]]:
        """At most `credit` entries from the session's queues. COUNT of XREADGROUP holds per
        stream, so with several queues each is read in turn without blocking, and only when
        all are empty does one blocking read wait for the first entry of any."""
        streams = [self.keys.queue(q) for q in session.queues]
        if len(streams) == 1:
            reply = reader.xreadgroup(
                QUEUE_GROUP, session.worker_id, {streams[0]: ">"}, count=credit, block=block_ms
            )
            return list(reply or [])
        got: list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]] = []
        remaining = credit
        for stream in streams:
            if remaining <= 0:
                break
            reply = reader.xreadgroup(
                QUEUE_GROUP, session.worker_id, {stream: ">"}, count=remaining
            )
            for key, items in reply or []:
                got.append((key, items))
                remaining -= len(items)
        if got:
            return got
        reply = reader.xreadgroup(
            QUEUE_GROUP, session.worker_id, dict.fromkeys(streams, ">"), count=1, block=block_ms
        )
        got = list(reply or [])
        # One entry per stream may have arrived at once; what exceeds the credit goes back.
        kept, extra = got[:credit], got[credit:]
        for key, items in extra:
            queue = key.decode()[len(self.keys.queue("")) :]
            for entry_id, fields in items:
                if fields:
                    self._requeue_entry(
                        QueueEntry.from_fields(queue, entry_id, fields), RequeueWhy.RELEASED
                    )
        return kept

    def _requeue_entry(self, entry: QueueEntry, why: RequeueWhy) -> RequeueOutcome:
        """Queues an entry's task again (requeue.lua decides how, from the task's state).
        Only a lost lease counts towards the attempts after which a task fails."""
        max_attempts = (
            self.config.max_attempts if why == RequeueWhy.EXPIRED else entry.attempt + 1_000_000
        )
        return self.scripts.requeue(entry=entry, max_attempts=max_attempts, why=why)

    def complete(
        self, session: WorkerSession, result: scheduler_pb2.TaskResult, credit: int
    ) -> tuple[str, list[scheduler_pb2.TaskLease]]:
        """Records a result and, in the same script, hands the worker up to `credit` (which
        the caller reserved) next tasks. Returns the outcome and those leases."""
        session.handed.pop((result.lease.queue, result.lease.entry_id), None)
        status = _TASK_STATUS_NAME.get(result.status)
        if status not in {"succeeded", "failed", "stopped", "aborted"}:
            raise InvalidArgumentError(
                f"the result of task '{result.dag_instance}/{result.task_name}' has status"
                f" {status or result.status}; a result is succeeded, failed, stopped or aborted"
            )
        _check_lease_ref(result.lease)
        completion = self.scripts.complete(
            run_id=result.run_id,
            instance=result.dag_instance,
            task=result.task_name,
            attempt=result.attempt,
            status=status,
            output=self._seal(result.run_id, result.output.SerializeToString()),
            failure=failure_json(result.failure) if result.HasField("failure") else "",
            queue=result.lease.queue,
            entry_id=result.lease.entry_id,
            jitter=random.uniform(0.5, 1.5),  # retry jitter, so retries do not move in step
            limit=list(result.limit) if result.has_limit else None,
            worker_id=session.worker_id,
            credit=credit,
            output_in_blob=result.output.encoding == ENCODING_BLOB,
            queues=session.queues,
        )
        outcome_name = completion.outcome.value
        if completion.outcome == Outcome.STALE:
            log.info(
                "stale_result_ignored",
                run_id=result.run_id,
                task=f"{result.dag_instance}/{result.task_name}",
                attempt=result.attempt,
                worker_id=session.worker_id,
            )
        elif completion.outcome == Outcome.ENDED and completion.document != DocumentFate.NONE:
            # Off the worker's stream thread: a slow store must not delay its heartbeats.
            self._background.submit(self.clean_up_run, result.run_id)
        return outcome_name, self._leases(session, completion.handouts)

    def task_output(self, lines: Iterable[scheduler_pb2.TaskOutput]) -> int:
        """Records lines tasks printed in their runs' output streams (one script call);
        returns how many were kept (lines of unknown runs, or runs that are over, are
        dropped)."""
        kept = [
            OutputLine(
                line.run_id, line.dag_instance, line.task_name, line.attempt, line.stream, line.text
            )
            for line in lines
            # A line naming no run is dropped, as lines of runs that are over.
            if is_run_id(line.run_id)
        ]
        if not kept:
            return 0
        return self.scripts.output(cap=self.config.max_output_lines, lines=kept)

    def heartbeat(
        self, session: WorkerSession, leases: list[scheduler_pb2.LeaseRef]
    ) -> list[scheduler_pb2.LeaseRef]:
        """Renews the worker's leases; returns those whose task is to be ended now (its run or
        DAG instance stopped longer than the stop grace ago)."""
        for lease in leases:
            _check_lease_ref(lease)
        pipe = self.redis.pipeline(transaction=False)
        for lease in leases:
            # XCLAIM with min-idle 0 to the same consumer resets the entry's idle time.
            pipe.xclaim(
                self.keys.queue(lease.queue),
                QUEUE_GROUP,
                session.worker_id,
                0,
                [lease.entry_id],
                justid=True,
            )
        pipe.execute()
        self.worker_seen(session, len(leases))
        return self._overdue(session, leases)

    def _overdue(
        self, session: WorkerSession, leases: list[scheduler_pb2.LeaseRef]
    ) -> list[scheduler_pb2.LeaseRef]:
        owners = []
        for lease in leases:
            owner = session.handed.get((lease.queue, lease.entry_id))
            if owner is None:  # handed out on an earlier stream: read it from the queue
                entries = self.redis.xrange(
                    self.keys.queue(lease.queue), lease.entry_id, lease.entry_id
                )
                if not entries:
                    continue
                fields = entries[0][1]
                owner = (_s(fields[b"r"]), _s(fields[b"i"]))
                session.handed[(lease.queue, lease.entry_id)] = owner
            owners.append((lease, owner))
        if not owners:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for _, (run_id, instance) in owners:
            pipe.hget(self.keys.run(run_id), "stopping_since")
            pipe.hget(self.keys.run_dags(run_id), f"{instance}|stop")
        marks = pipe.execute()
        horizon = time.time() * 1000 - self.config.stop_grace_s * 1000
        overdue = []
        for index, (lease, _) in enumerate(owners):
            since = [int(m) for m in marks[2 * index : 2 * index + 2] if m and m.isdigit()]
            if since and min(since) <= horizon:
                overdue.append(lease)
        return overdue

    def release_leases(self, leases: list[scheduler_pb2.TaskLease]) -> None:
        """Puts back leases that never reached the worker (its stream closed)."""
        for lease in leases:
            entry = QueueEntry(
                lease.lease.queue,
                lease.lease.entry_id,
                lease.run_id,
                lease.dag_instance,
                lease.dag_name,
                lease.task_name,
                lease.attempt,
            )
            self._requeue_entry(entry, RequeueWhy.RELEASED)

    def release_refs(self, refs: list[scheduler_pb2.LeaseRef]) -> None:
        """Puts back leases a stopping worker will not run."""
        for ref in refs:
            _check_lease_ref(ref)
        for ref in refs:
            entries = self.redis.xrange(self.keys.queue(ref.queue), ref.entry_id, ref.entry_id)
            for entry_id, fields in entries:
                self._requeue_entry(
                    QueueEntry.from_fields(ref.queue, entry_id, fields), RequeueWhy.RELEASED
                )

    # -- timers: retries and deadlines ---------------------------------------------------

    def fire_due(self) -> float:
        """Queues the retries whose delay passed, stops the runs past their deadline and
        creates the store documents that are due; returns the seconds until the next is due
        (at most 1)."""
        now = int(time.time() * 1000)
        self._create_due_documents(now)
        for member in self.redis.zrangebyscore(self.keys.delayed, "-inf", now, start=0, num=100):
            self.scripts.promote(member=member)
        for run_id in self.redis.zrangebyscore(self.keys.deadlines, "-inf", now, start=0, num=100):
            failure = json.dumps(
                {
                    "type": "RunDeadlineExceeded",
                    "message": "the run passed its deadline",
                    "stack_trace": "",
                }
            )
            status = self.scripts.deadline(run_id=run_id.decode(), failure=failure)
            if status in _FINAL_RUN_STATES:
                self._background.submit(self.clean_up_run, run_id.decode())
        upcoming = [
            float(score)
            for key in (self.keys.delayed, self.keys.deadlines, self.keys.documents_due)
            for _, score in self.redis.zrange(key, 0, 0, withscores=True)
        ]
        if not upcoming:
            return 1.0
        return max(0.0, min(1.0, (min(upcoming) - time.time() * 1000) / 1000))

    # -- sweeps: lost leases and ended runs ----------------------------------------------

    def sweep(self) -> None:
        """Hands out again what lost its lease, and finishes ended runs' clean-up. One
        replica at a time does it (lock); any replica may."""
        with RedisLock(self.redis, self.keys.lock("sweeper"), self._lease_ms) as owned:
            if not owned:
                return
            self._reclaim_expired_leases()
            self._finish_cleanups()

    def _reclaim_expired_leases(self) -> None:
        for raw_queue in self.redis.smembers(self.keys.queues):
            queue = raw_queue.decode()
            key = self.keys.queue(queue)
            cursor = "0-0"
            while True:
                try:
                    reply = self.redis.xautoclaim(
                        key, QUEUE_GROUP, "sweeper", self._lease_ms, cursor, count=100
                    )
                except redis.ResponseError as err:
                    if "NOGROUP" in str(err):
                        break
                    raise
                cursor, claimed = reply[0].decode(), reply[1]
                for entry_id, fields in claimed:
                    if not fields:
                        self.redis.xack(key, QUEUE_GROUP, entry_id)
                        continue
                    entry = QueueEntry.from_fields(queue, entry_id, fields)
                    outcome = self._requeue_entry(entry, RequeueWhy.EXPIRED)
                    log.warning(
                        "lease_expired",
                        run_id=entry.run_id,
                        task=f"{entry.instance}/{entry.task}",
                        attempt=str(entry.attempt),
                        outcome=outcome.value,
                    )
                if cursor == "0-0":
                    break

    def _finish_cleanups(self) -> None:
        for run_id in self.redis.zrange(self.keys.cleanup, 0, 99):
            self.clean_up_run(run_id.decode())
        horizon = int(time.time() * 1000) - self.config.retention_s * 1000
        self.redis.zremrangebyscore(self.keys.runs, "-inf", horizon)

    def clean_up_run(self, run_id: str) -> None:
        """Removes an ended run's store document unless it is to be kept. Idempotent; a
        replica that dies half-way leaves the run in the cleanup set for the sweeper."""
        creation = self._created.pop(run_id, None)
        if creation is not None:
            creation.result()  # never race a creation started here
        fields = self.redis.hmget(self.keys.run(run_id), ["keep", "blobs"])
        try:
            if fields[0] == b"1":
                # A kept run's provenance, complete, in one write.
                self.write_meta(run_id)
                # Task data dies with the run, like its copy in redis.
                self.blobs.delete_run(run_id)
            else:
                document = self.scripts.document_finish(run_id=run_id)
                if document == DocumentState.BUSY:
                    return  # another replica is creating it; the sweeper comes back
                if document == DocumentState.CREATED:
                    self.store.delete_document(run_id, with_task_data=True)
                elif fields[1] == b"1":  # no document, but task data in blobs
                    self.blobs.delete_run(run_id)
        except Exception as err:
            log.warning("store_cleanup_failed", run_id=run_id, error=str(err))
            return
        self.redis.zrem(self.keys.cleanup, run_id)
