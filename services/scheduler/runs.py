"""Runs: started by one script (start_run.lua), read back for people and programs (GetRun,
ListRuns), stopped, and followed through their event streams (WatchRun)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

import structlog

from lightflow._codec import encode_document
from lightflow._parameters import ArgumentError, Parameters
from lightflow_scheduler.config import SchedulerConfig
from lightflow_scheduler.documents import Documents
from lightflow_scheduler.errors import (
    InvalidArgumentError,
    NotFoundError,
    StaleDefinitionError,
    require_run_id,
)
from lightflow_scheduler.keys import Keys, is_entry_id
from lightflow_scheduler.model import DagState, Failure, RunEvent, RunInfo, TaskState
from lightflow_scheduler.redis_client import StreamReply, text
from lightflow_scheduler.registry import Registry
from lightflow_scheduler.schema import (
    FINAL_RUN_STATES,
    DagField,
    EndField,
    EventField,
    EventType,
    RunField,
    RunStatus,
    TaskField,
    TaskStatus,
)
from lightflow_scheduler.scripts import Scripts
from lightflow_scheduler.seals import DataSeal

log = structlog.get_logger(__name__)

# A task still in one of these when its run stopped (a failure, an abort, StopRun) or its DAG
# instance was stopped or ended will never run: nothing new starts then, and its queue entry
# is dropped at dispatch. GetRun shows it `cancelled` (the state the scripts record for an
# entry they drop) rather than as if it were still to come.
_NEVER_STARTED = frozenset({TaskStatus.WAITING, TaskStatus.QUEUED})
# Events a watch reads from redis at once.
_WATCH_BATCH = 500
# A start time this far in the past is a clock's difference, not a mistake: the run starts now.
_START_SKEW_MS = 2_000
# ListRuns: runs per page unless asked, at most per page, read from the index at a time.
_DEFAULT_PAGE = 100
_MAX_PAGE = 1000
_LIST_BATCH = 200
# Replicas stamp a run's start with their own clock: a first page reads a little past now.
_CLOCK_SKEW_MS = 60_000
_PAGE_TOKEN = re.compile(r"^(\d{1,16})-([0-9a-f]{32})$")


class RunPage(NamedTuple):
    runs: list[RunInfo]
    next_page_token: str  # "": the last page


def _page_position(page_token: str) -> tuple[int | str, str | None]:
    """Where a page starts in the start-time index: the highest start (ms) and the run whose
    entries of that start were given before (None: none)."""
    if not page_token:
        return "+inf", None
    match = _PAGE_TOKEN.match(page_token)
    if match is None:
        raise InvalidArgumentError(
            f"invalid page_token {page_token[:80]!r}: pass a next_page_token ListRuns gave"
        )
    return int(match.group(1)), match.group(2)


_TYPE, _END_EVENT_ID = EventField.TYPE.encode(), EndField.EVENT_ID.encode()


def _ms(value: bytes | str | None) -> int:
    return int(value) if value else 0


def check_event_id(event_id: str) -> None:
    if event_id and not is_entry_id(event_id):
        raise InvalidArgumentError(
            f"after_event_id {event_id[:100]!r} is not an event id (like '1764000000000-0')"
        )


def stream_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def merge_streams(reply: StreamReply, count: int) -> list[tuple[str, dict[bytes, bytes]]]:
    """The entries of streams read with one cursor (XREAD COUNT `count`), in id order, up to
    the last id every stream was read to: a stream that filled its COUNT may hold entries
    before another stream's later ones."""
    merged: list[tuple[tuple[int, int], str, dict[bytes, bytes]]] = []
    upto: tuple[int, int] | None = None
    for _key, entries in reply:
        for raw_id, fields in entries:
            entry_id = raw_id.decode()
            merged.append((stream_id(entry_id), entry_id, fields))
        if len(entries) >= count:
            last = stream_id(entries[-1][0].decode())
            upto = last if upto is None else min(upto, last)
    merged.sort(key=lambda entry: entry[0])
    return [(entry_id, fields) for key, entry_id, fields in merged if upto is None or key <= upto]


def event(run_id: str, entry_id: str, fields: Mapping[bytes, bytes]) -> RunEvent:
    """An entry of a run's event or output stream (EventField names)."""
    f = {k.decode(): v for k, v in fields.items()}
    return RunEvent(
        id=entry_id,
        run_id=run_id,
        type=text(f.get(EventField.TYPE)),
        time_ms=_ms(f.get(EventField.TIME)),
        instance=text(f.get(EventField.INSTANCE)),
        task=text(f.get(EventField.TASK)),
        attempt=_ms(f.get(EventField.ATTEMPT)),
        worker_id=text(f.get(EventField.WORKER)),
        text=f.get(EventField.TEXT, b"").decode(errors="replace"),
        stream=text(f.get(EventField.STREAM)),
        status=text(f.get(EventField.STATUS)),
        failure=Failure.from_json(f.get(EventField.FAILURE)),
    )


def _run_info(run_id: str, fields: Mapping[bytes, bytes]) -> RunInfo:
    def field(name: str) -> bytes | None:
        return fields.get(name.encode())

    return RunInfo(
        run_id=run_id,
        workflow=text(field(RunField.WORKFLOW)),
        definition_hash=text(field(RunField.DEFINITION)),
        status=text(field(RunField.STATUS)),
        started_ms=_ms(field(RunField.STARTED)),
        ended_ms=_ms(field(RunField.ENDED)),
        keep_data=field(RunField.KEEP) == b"1",
        failure=Failure.from_json(field(RunField.FAILURE)),
        start_at_ms=_ms(field(RunField.START_AT)),
        schedule=text(field(RunField.SCHEDULE)),
        tick_ms=_ms(field(RunField.TICK)),
    )


class Runs:
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

    def start(
        self,
        workflow_name: str,
        arguments: dict[str, str],
        keep_data: bool,
        deadline_s: float = 0.0,
        request_id: str = "",
        start_at_ms: int = 0,
        *,
        schedule: str = "",
        tick_ms: int = 0,
    ) -> str:
        """Starts a run of the workflow now, or at `start_at_ms` (ms since the epoch; 0:
        now): the run exists at once, `scheduled`, and any replica's timer starts it. A
        schedule's run names it and its tick."""
        if not workflow_name:
            raise InvalidArgumentError("workflow_name is empty")
        if deadline_s < 0:
            raise InvalidArgumentError("deadline_s must not be negative")
        now_ms = int(time.time() * 1000)
        if start_at_ms and start_at_ms < now_ms - _START_SKEW_MS:
            late = (now_ms - start_at_ms) / 1000
            raise InvalidArgumentError(
                f"start_at is {late:.1f} s in the past: give a time to come, or none to start now"
            )
        if start_at_ms and start_at_ms <= now_ms:
            start_at_ms = 0  # a moment ago (clocks differ a little): now
        # The definition last seen under this name; start_run.lua refuses a stale one.
        definition_hash = self._registry.registered_hash(workflow_name)
        try:
            return self._start(
                workflow_name,
                definition_hash,
                arguments,
                keep_data,
                deadline_s,
                request_id,
                start_at_ms,
                schedule,
                tick_ms,
            )
        except StaleDefinitionError:
            pass
        # Registered anew (or removed) since: once more with what is registered now.
        return self._start(
            workflow_name,
            self._registry.registered_hash(workflow_name, fresh=True),
            arguments,
            keep_data,
            deadline_s,
            request_id,
            start_at_ms,
            schedule,
            tick_ms,
        )

    def check_arguments(self, workflow_name: str, arguments: dict[str, str]) -> None:
        """What a start checks of a workflow and its arguments, without starting it:
        NotFoundError, InvalidArgumentError."""
        graph = self._registry.graph(self._registry.registered_hash(workflow_name))
        self.check_arguments_against(workflow_name, graph.definition.options, arguments)

    @staticmethod
    def check_arguments_against(
        workflow_name: str, options: Sequence[Any], arguments: dict[str, str]
    ) -> None:
        """The arguments, converted by a workflow's `options` (OptionDefinitions)."""
        try:
            Parameters.from_proto(options).consolidate(arguments)
        except ArgumentError as err:
            raise InvalidArgumentError(f"workflow '{workflow_name}': {err}") from err

    def _start(
        self,
        workflow_name: str,
        definition_hash: str,
        arguments: dict[str, str],
        keep_data: bool,
        deadline_s: float,
        request_id: str,
        start_at_ms: int,
        schedule: str = "",
        tick_ms: int = 0,
    ) -> str:
        graph = self._registry.graph(definition_hash)
        try:
            # The SDK's own rules, so that every client language gets the same checks.
            values = Parameters.from_proto(graph.definition.options).consolidate(arguments)
        except ArgumentError as err:
            raise InvalidArgumentError(f"workflow '{workflow_name}': {err}") from err
        run_id = uuid.uuid4().hex
        now_ms = int(time.time() * 1000)
        begins_ms = start_at_ms or now_ms
        # The store document is created late (see document.lua), unless the run has arguments:
        # they are the document's first data, which its first tasks read.
        due_ms = now_ms if values else begins_ms + int(self._config.document_delay_s * 1000)
        winner = self._scripts.start_run(
            run_id=run_id,
            workflow=workflow_name,
            definition_hash=definition_hash,
            keep_data=keep_data,
            deadline_ms=begins_ms + int(deadline_s * 1000) if deadline_s > 0 else 0,
            request_id=request_id,
            arguments=self._seal.seal(run_id, encode_document(values)),
            has_arguments=bool(values),
            document_due_ms=due_ms,
            autostart=[d.name for d in graph.definition.dags if d.autostart],
            start_at_ms=start_at_ms,
            schedule=schedule,
            tick_ms=tick_ms,
        )
        if winner != run_id:  # a retry of the same request started it first
            return winner
        if values:
            self._documents.create_soon(run_id)
        log.info("run_started", run_id=run_id, workflow=workflow_name)
        return run_id

    def _fields(self, run_id: str) -> dict[bytes, bytes]:
        fields: dict[bytes, bytes] = self._redis.hgetall(self._keys.run(run_id))
        if not fields:
            raise NotFoundError(f"run '{run_id}' not found (unknown, or its retention ended)")
        return fields

    def get(self, run_id: str) -> RunInfo:
        """The run, every DAG instance it started and each of their tasks."""
        require_run_id(run_id)
        run = _run_info(run_id, self._fields(run_id))
        pipe = self._redis.pipeline(transaction=False)
        pipe.hgetall(self._keys.run_dags(run_id))
        pipe.hgetall(self._keys.run_tasks(run_id))
        dags_raw, tasks_raw = pipe.execute()
        dags = {k.decode(): v.decode() for k, v in dags_raw.items()}
        tasks = {k.decode(): v.decode() for k, v in tasks_raw.items()}
        graph = self._registry.graph(run.definition_hash)
        instances = sorted(
            (name for name in dags if "|" not in name),
            key=lambda i: int(dags.get(f"{i}{DagField.ORDER}", 0)),
        )
        run_halted = run.status != RunStatus.RUNNING
        dag_states: list[DagState] = []
        task_states: list[TaskState] = []
        for inst in instances:
            halted = run_halted or dags[inst] != "running" or f"{inst}{DagField.STOP}" in dags
            dag_name = dags.get(f"{inst}{DagField.DAG}", inst)
            dag_states.append(
                DagState(
                    inst,
                    dag_name,
                    dags[inst],
                    _ms(dags.get(f"{inst}{DagField.STARTED}")),
                    _ms(dags.get(f"{inst}{DagField.ENDED}")),
                    dags.get(f"{inst}{DagField.STARTED_BY}", ""),
                )
            )
            for task in graph.dags[dag_name].tasks.values():
                key = f"{inst}/{task.name}"
                status = tasks.get(f"{key}{TaskField.STATUS}", TaskStatus.WAITING)
                if halted and status in _NEVER_STARTED:
                    status = TaskStatus.CANCELLED
                task_states.append(
                    TaskState(
                        instance=inst,
                        task=task.name,
                        status=status,
                        attempt=int(tasks.get(f"{key}{TaskField.ATTEMPT}", 0)),
                        worker_id=tasks.get(f"{key}{TaskField.WORKER}", ""),
                        queue=task.queue,
                        started_ms=_ms(tasks.get(f"{key}{TaskField.STARTED}")),
                        ended_ms=_ms(tasks.get(f"{key}{TaskField.ENDED}")),
                        failure=Failure.from_json(tasks.get(f"{key}{TaskField.FAILURE}")),
                    )
                )
        return replace(run, dags=tuple(dag_states), tasks=tuple(task_states))

    def list_runs(
        self, status: str | None, limit: int, workflow: str = "", page_token: str = ""
    ) -> RunPage:
        """The latest runs first, of `status` and `workflow` only when given; at most `limit`
        (0: 100, at most 1000), after the run `page_token` names (RunPage.next_page_token of
        the page before). Runs are read in batches from the start-time index, filtered here:
        a filter that matches few runs reads more of the index, never more than it holds."""
        limit = min(limit or _DEFAULT_PAGE, _MAX_PAGE)
        top, after = _page_position(page_token)
        if top == "+inf":  # runs started while this page is read go to no page of it
            seconds, micros = self._redis.time()
            top = seconds * 1000 + micros // 1000 + _CLOCK_SKEW_MS
        runs: list[RunInfo] = []
        last_score = 0
        status_field, workflow_field = RunField.STATUS, RunField.WORKFLOW
        offset = 0
        while True:
            raw = self._redis.zrevrangebyscore(
                self._keys.runs, top, "-inf", start=offset, num=_LIST_BATCH, withscores=True
            )
            offset += len(raw)
            # The page before may have ended inside runs of one start ms: skip what it gave.
            batch = [
                (member.decode(), int(score))
                for member, score in raw
                if after is None or int(score) != top or member.decode() < after
            ]
            if status or workflow:  # the two fields first: a run that does not match costs less
                pipe = self._redis.pipeline(transaction=False)
                for run_id, _ in batch:
                    pipe.hmget(self._keys.run(run_id), [status_field, workflow_field])
                batch = [
                    entry
                    for entry, (run_status, run_workflow) in zip(batch, pipe.execute(), strict=True)
                    if (not status or text(run_status) == status)
                    and (not workflow or text(run_workflow) == workflow)
                ]
            while batch:  # read whole only what the page takes (and one more)
                chunk, batch = batch[: limit + 1 - len(runs)], batch[limit + 1 - len(runs) :]
                pipe = self._redis.pipeline(transaction=False)
                for run_id, _ in chunk:
                    pipe.hgetall(self._keys.run(run_id))
                for (run_id, score), fields in zip(chunk, pipe.execute(), strict=True):
                    if not fields:  # its retention ended meanwhile
                        continue
                    if len(runs) == limit:  # one more matches: there is a next page
                        return RunPage(runs, f"{last_score}-{runs[-1].run_id}")
                    runs.append(_run_info(run_id, fields))
                    last_score = score
            if len(raw) < _LIST_BATCH:  # the index is read to its end
                return RunPage(runs, "")

    def stop(self, run_id: str, reason: str = "stop requested") -> RunStatus:
        require_run_id(run_id)
        status = self._scripts.stop_run(run_id=run_id, reason=reason)
        if status in FINAL_RUN_STATES:
            self._documents.clean_up(run_id)
        return status

    def watch(
        self,
        run_id: str,
        after_event_id: str,
        active: Callable[[], bool],
        types: frozenset[str] = frozenset(),
    ) -> Iterator[RunEvent]:
        """The run's events after `after_event_id` (only those of `types`, when given), live,
        until the run's final event."""
        require_run_id(run_id)
        check_event_id(after_event_id)
        if types == {EventType.RUN_ENDED}:
            yield from self._watch_end(run_id, after_event_id, active)
            return
        self._fields(run_id)
        # Transitions and printed lines are two streams with ids from one counter: read
        # from one cursor, they merge in order. Lines are read only by who wants them.
        keys = [self._keys.run_events(run_id)]
        if not types or EventType.TASK_OUTPUT in types:
            keys.append(self._keys.run_output(run_id))
        cursor = after_event_id or "0-0"
        while active():
            reply = self._redis.xread(dict.fromkeys(keys, cursor), count=_WATCH_BATCH, block=2000)
            if not reply:
                status = self._redis.hget(self._keys.run(run_id), RunField.STATUS)
                if status is None or text(status) in FINAL_RUN_STATES:
                    # Over (or past its retention): the final event was before the cursor.
                    return
                continue
            for entry_id, fields in merge_streams(reply, _WATCH_BATCH):
                cursor = entry_id
                kind = text(fields.get(_TYPE))
                if types and kind not in types and kind != EventType.RUN_ENDED:
                    continue  # filtered before the costly part: the message
                if types and kind not in types:
                    return  # the run ended; the caller did not ask to see it
                yield event(run_id, cursor, fields)
                if kind == EventType.RUN_ENDED:
                    return

    def _watch_end(
        self, run_id: str, after_event_id: str, active: Callable[[], bool]
    ) -> Iterator[RunEvent]:
        """Only the final event: blocks on the run's one-entry end stream, so the replica
        does not wake for every event of the run."""
        end = self._keys.run_end(run_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.exists(self._keys.run(run_id))
        pipe.xrange(end, count=1)
        exists, entries = pipe.execute()
        if not exists:
            raise NotFoundError(f"run '{run_id}' not found (unknown, or its retention ended)")
        while not entries and active():
            reply = self._redis.xread({end: "0-0"}, count=1, block=2000)
            if reply:
                entries = reply[0][1]
            elif not self._redis.exists(self._keys.run(run_id)):
                return  # past its retention
        if not entries:
            return
        fields = entries[0][1]
        event_id = text(fields[_END_EVENT_ID])
        if after_event_id and stream_id(event_id) <= stream_id(after_event_id):
            return
        if _TYPE not in fields:  # ended before end entries held the event: read it
            found = self._redis.xrange(self._keys.run_events(run_id), event_id, event_id)
            if not found:
                return
            fields = found[0][1]
        yield event(run_id, event_id, fields)
