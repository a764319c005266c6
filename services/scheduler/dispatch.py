"""Hand-out of tasks to workers: leases (pending entries of a queue's consumer group, owned
by the worker), the credit that says how many more tasks a worker's stream takes (flow
control), results recorded with the worker's next tasks in the same script, heartbeats that
keep leases, and the workers' register (ListWorkers)."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from lightflow_scheduler.config import SchedulerConfig
from lightflow_scheduler.documents import Documents
from lightflow_scheduler.errors import InvalidArgumentError, SchedulerError
from lightflow_scheduler.keys import QUEUE_GROUP, Keys, is_entry_id, is_run_id
from lightflow_scheduler.model import (
    Lease,
    LeaseInput,
    LeaseRef,
    OutputLine,
    QueueEntry,
    TaskCode,
    TaskResult,
    WorkerHello,
    WorkerInfo,
)
from lightflow_scheduler.redis_client import StreamReply
from lightflow_scheduler.registry import Registry
from lightflow_scheduler.schema import DagField, RunField, TaskStatus
from lightflow_scheduler.scripts import (
    DocumentFate,
    Handout,
    Outcome,
    RequeueOutcome,
    RequeueWhy,
    Scripts,
)
from lightflow_scheduler.seals import DataSeal

log = structlog.get_logger(__name__)

_RESULT_STATES = frozenset(
    {TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.STOPPED, TaskStatus.ABORTED}
)


def check_lease_ref(ref: LeaseRef) -> None:
    if not ref.queue or not is_entry_id(ref.entry_id):
        raise InvalidArgumentError(
            f"invalid lease reference (queue {ref.queue[:100]!r}, entry {ref.entry_id[:100]!r})"
        )


class WorkerSession:
    """One worker's stream on this replica: who the worker is, what the stream handed out,
    and its credit (how many more tasks the worker takes now)."""

    def __init__(self, hello: WorkerHello) -> None:
        self.worker_id = hello.worker_id
        self.hostname = hello.hostname
        self.pid = hello.pid
        self.queues = hello.queues
        self.concurrency = hello.concurrency
        # (definition hash, dag, task) whose code this stream has already carried
        self.code_sent: set[tuple[str, str, str]] = set()
        # (queue, entry id) -> (run id, DAG instance) of what this stream handed out.
        self.handed: dict[tuple[str, str], tuple[str, str]] = {}
        # Why the stream ended, when the worker sent something wrong or we failed.
        self.error: SchedulerError | None = None
        self._credit = 0
        self._closed = False
        self._draining = False
        self._changed = threading.Condition()

    @property
    def closed(self) -> bool:
        return self._closed

    def add_credit(self, n: int) -> None:
        with self._changed:
            if self._draining:
                return
            self._credit += n
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def stop_leases(self) -> None:
        """The worker is stopping: it gets no more leases on this stream."""
        with self._changed:
            self._draining = True
            self._credit = 0

    def wait_for_credit(self, timeout: float) -> bool:
        """True once the stream has credit; False when it closed or after `timeout` s."""
        with self._changed:
            self._changed.wait_for(lambda: self._credit > 0 or self._closed, timeout)
            return not self._closed and self._credit > 0

    def while_open(self, action: Callable[[], None]) -> bool:
        """Runs `action` under the session's lock unless the stream closed (then False):
        what it queues for the stream is either sent or found unsent once the stream
        closes."""
        with self._changed:
            if self._closed:
                return False
            action()
            return True

    def reserve(self) -> int:
        """Takes all the credit (for one read of the queues); give back what was not used."""
        with self._changed:
            taken, self._credit = self._credit, 0
            return taken

    def refund(self, n: int) -> None:
        if n > 0:
            self.add_credit(n)


class Dispatch:
    def __init__(
        self,
        config: SchedulerConfig,
        client: Any,
        keys: Keys,
        scripts: Scripts,
        registry: Registry,
        documents: Documents,
        seal: DataSeal,
    ) -> None:
        self._config = config
        self._redis = client
        self._keys = keys
        self._scripts = scripts
        self._registry = registry
        self._documents = documents
        self._seal = seal
        self._lease_ms = int(config.lease_timeout_s * 1000)
        self._queue_prefix_len = len(keys.queue(""))

    # -- workers -------------------------------------------------------------------------

    def open(self, hello: WorkerHello) -> WorkerSession:
        """A worker's stream begins: its queues exist, and it is in the register."""
        session = WorkerSession(hello)
        self._registry.ensure_queue_groups(session.queues)
        self.worker_seen(session, 0)
        return session

    def worker_seen(self, session: WorkerSession, running: int) -> None:
        info = {
            "hostname": session.hostname,
            "pid": session.pid,
            "queues": session.queues,
            "concurrency": session.concurrency,
            "running": running,
            "last_seen_ms": int(time.time() * 1000),
        }
        self._redis.hset(self._keys.workers, session.worker_id, json.dumps(info))

    def list_workers(self) -> list[WorkerInfo]:
        """Workers seen within three lease timeouts."""
        horizon = int(time.time() * 1000) - 3 * self._lease_ms
        workers = []
        for worker_id, raw in sorted(self._redis.hgetall(self._keys.workers).items()):
            info = json.loads(raw)
            if info["last_seen_ms"] < horizon:
                continue
            workers.append(
                WorkerInfo(
                    worker_id=worker_id.decode(),
                    hostname=info["hostname"],
                    pid=info["pid"],
                    queues=info["queues"],
                    concurrency=info["concurrency"],
                    running=info["running"],
                    last_seen_ms=info["last_seen_ms"],
                )
            )
        return workers

    # -- hand-out ------------------------------------------------------------------------

    def next_leases(self, session: WorkerSession, block_ms: int) -> list[Lease]:
        """Blocks up to `block_ms` for ready tasks on the session's queues and hands out as
        many as its credit allows; the credit not used goes back to the session."""
        credit = session.reserve()
        if credit <= 0:
            return []
        try:
            leases = self._read_and_dispatch(session, credit, block_ms)
        except BaseException:
            session.refund(credit)
            raise
        session.refund(credit - len(leases))
        return leases

    def _read_and_dispatch(self, session: WorkerSession, credit: int, block_ms: int) -> list[Lease]:
        entries = [
            QueueEntry.from_fields(self._queue_name(stream_key), raw_id, fields)
            for stream_key, items in self._read_queues(session, credit, block_ms)
            for raw_id, fields in items
            if fields  # an entry deleted while pending has none
        ]
        if not entries:
            return []
        handouts = self._scripts.dispatch(worker_id=session.worker_id, entries=entries)
        return self._leases(session, handouts)

    def _queue_name(self, stream_key: bytes) -> str:
        return stream_key.decode()[self._queue_prefix_len :]

    def _read_queues(self, session: WorkerSession, credit: int, block_ms: int) -> StreamReply:
        """At most `credit` entries from the session's queues. COUNT of XREADGROUP holds per
        stream, so with several queues each is read in turn without blocking, and only when
        all are empty does one blocking read wait for the first entry of any."""
        streams = [self._keys.queue(q) for q in session.queues]
        worker = session.worker_id
        if len(streams) == 1:
            reply = self._redis.xreadgroup(
                QUEUE_GROUP, worker, {streams[0]: ">"}, count=credit, block=block_ms
            )
            return list(reply or [])
        got: StreamReply = []
        remaining = credit
        for stream in streams:
            if remaining <= 0:
                break
            reply = self._redis.xreadgroup(QUEUE_GROUP, worker, {stream: ">"}, count=remaining)
            for key, items in reply or []:
                got.append((key, items))
                remaining -= len(items)
        if got:
            return got
        reply = self._redis.xreadgroup(
            QUEUE_GROUP, worker, dict.fromkeys(streams, ">"), count=1, block=block_ms
        )
        got = list(reply or [])
        # One entry per stream may have arrived at once; what exceeds the credit goes back.
        kept, extra = got[:credit], got[credit:]
        for key, items in extra:
            for entry_id, fields in items:
                if fields:
                    entry = QueueEntry.from_fields(self._queue_name(key), entry_id, fields)
                    self.requeue(entry, RequeueWhy.RELEASED)
        return kept

    def _leases(self, session: WorkerSession, handouts: Sequence[Handout]) -> list[Lease]:
        """Leases for what dispatch_entry handed out (dropped entries are skipped). A stream
        carries a task's code once; the worker caches it."""
        leases = []
        for handout in handouts:
            if not handout.started:
                continue
            entry = handout.entry
            run_id, dag, task = entry.run_id, entry.dag, entry.task
            graph = self._registry.graph(handout.definition_hash)
            inputs = []
            for pred, alias, sealed in handout.inputs:
                data = self._seal.unseal(run_id, sealed)
                if data is None:
                    log.error("task_data_unsealed", run_id=run_id, task=f"{entry.instance}/{task}")
                inputs.append(LeaseInput(pred, alias, data))
            session.handed[(entry.queue, entry.entry_id)] = (run_id, entry.instance)
            code = None
            code_key = (handout.definition_hash, dag, task)
            if code_key not in session.code_sent:
                code = TaskCode(
                    graph.code[(dag, task)],
                    graph.seals.get((dag, task), b""),
                    graph.definition.source_path,
                    graph.definition.source,
                )
                session.code_sent.add(code_key)
            leases.append(
                Lease(
                    entry=entry,
                    workflow=handout.workflow,
                    definition_hash=handout.definition_hash,
                    timeout_ms=int(graph.dags[dag].tasks[task].timeout_s * 1000),
                    inputs=tuple(inputs),
                    code=code,
                    document_has_arguments=handout.document_has_arguments,
                )
            )
        return leases

    def requeue(self, entry: QueueEntry, why: RequeueWhy) -> RequeueOutcome:
        """Queues an entry's task again (requeue.lua decides how, from the task's state).
        Only a lost lease counts towards the attempts after which a task fails."""
        max_attempts = (
            self._config.max_attempts if why == RequeueWhy.EXPIRED else entry.attempt + 1_000_000
        )
        return self._scripts.requeue(entry=entry, max_attempts=max_attempts, why=why)

    # -- what workers report -------------------------------------------------------------

    def complete(self, session: WorkerSession, result: TaskResult) -> tuple[Outcome, list[Lease]]:
        """Records a result and, in the same script, hands the worker as many next tasks as
        its credit allows (the credit not used goes back). The outcome and those leases."""
        session.handed.pop((result.lease.queue, result.lease.entry_id), None)
        if result.status not in _RESULT_STATES:
            raise InvalidArgumentError(
                f"the result of task '{result.instance}/{result.task}' has status"
                f" {result.status}; a result is succeeded, failed, stopped or aborted"
            )
        check_lease_ref(result.lease)
        credit = session.reserve()
        try:
            completion = self._scripts.complete(
                run_id=result.run_id,
                instance=result.instance,
                task=result.task,
                attempt=result.attempt,
                status=result.status,
                output=self._seal.seal(result.run_id, result.output),
                failure=result.failure.to_json() if result.failure is not None else "",
                queue=result.lease.queue,
                entry_id=result.lease.entry_id,
                jitter=random.uniform(0.5, 1.5),  # retry jitter, so retries do not move in step
                limit=result.limit,
                worker_id=session.worker_id,
                credit=credit,
                output_in_blob=result.output_in_blob,
                store_used=result.store_used,
                queues=session.queues,
            )
            leases = self._leases(session, completion.handouts)
        except BaseException:
            session.refund(credit)
            raise
        session.refund(credit - len(leases))
        if completion.outcome == Outcome.STALE:
            log.info(
                "stale_result_ignored",
                run_id=result.run_id,
                task=f"{result.instance}/{result.task}",
                attempt=result.attempt,
                worker_id=session.worker_id,
            )
        elif completion.outcome == Outcome.ENDED and completion.document != DocumentFate.NONE:
            self._documents.clean_up_soon(result.run_id)
        return completion.outcome, leases

    def record_output(self, lines: Sequence[OutputLine]) -> int:
        """Records lines tasks printed in their runs' output streams (one script call);
        returns how many were kept (lines of unknown runs, or runs that are over, are
        dropped)."""
        # A line naming no run is dropped, as lines of runs that are over.
        kept = [line for line in lines if is_run_id(line.run_id)]
        if not kept:
            return 0
        return self._scripts.output(cap=self._config.max_output_lines, lines=kept)

    def heartbeat(self, session: WorkerSession, leases: Sequence[LeaseRef]) -> list[LeaseRef]:
        """Renews the worker's leases; returns those whose task is to be ended now (its run or
        DAG instance stopped longer than the stop grace ago)."""
        for lease in leases:
            check_lease_ref(lease)
        pipe = self._redis.pipeline(transaction=False)
        for lease in leases:
            # XCLAIM with min-idle 0 to the same consumer resets the entry's idle time.
            pipe.xclaim(
                self._keys.queue(lease.queue),
                QUEUE_GROUP,
                session.worker_id,
                0,
                [lease.entry_id],
                justid=True,
            )
        pipe.execute()
        self.worker_seen(session, len(leases))
        return self._overdue(session, leases)

    def _overdue(self, session: WorkerSession, leases: Sequence[LeaseRef]) -> list[LeaseRef]:
        owners = []
        for lease in leases:
            owner = session.handed.get((lease.queue, lease.entry_id))
            if owner is None:  # handed out on an earlier stream: read it from the queue
                entries = self._redis.xrange(
                    self._keys.queue(lease.queue), lease.entry_id, lease.entry_id
                )
                if not entries:
                    continue
                entry = QueueEntry.from_fields(lease.queue, lease.entry_id, entries[0][1])
                owner = (entry.run_id, entry.instance)
                session.handed[(lease.queue, lease.entry_id)] = owner
            owners.append((lease, owner))
        if not owners:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for _, (run_id, instance) in owners:
            pipe.hget(self._keys.run(run_id), RunField.STOPPING_SINCE)
            pipe.hget(self._keys.run_dags(run_id), f"{instance}{DagField.STOP}")
        marks = pipe.execute()
        horizon = time.time() * 1000 - self._config.stop_grace_s * 1000
        overdue = []
        for index, (lease, _) in enumerate(owners):
            since = [int(m) for m in marks[2 * index : 2 * index + 2] if m and m.isdigit()]
            if since and min(since) <= horizon:
                overdue.append(lease)
        return overdue

    def release(self, leases: Sequence[Lease]) -> None:
        """Puts back leases that never reached the worker (its stream closed)."""
        for lease in leases:
            self.requeue(lease.entry, RequeueWhy.RELEASED)

    def release_refs(self, refs: Sequence[LeaseRef]) -> None:
        """Puts back leases a stopping worker will not run."""
        for ref in refs:
            check_lease_ref(ref)
        for ref in refs:
            entries = self._redis.xrange(self._keys.queue(ref.queue), ref.entry_id, ref.entry_id)
            for entry_id, fields in entries:
                self.requeue(
                    QueueEntry.from_fields(ref.queue, entry_id, fields), RequeueWhy.RELEASED
                )
