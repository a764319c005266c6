"""The Lua scripts, one typed wrapper each: named arguments in, a typed reply out, and the
codes a script refuses with (schema.Refusal) turned into domain errors. Any other error of
redis stays a redis error.

A script is assembled from `local P = ARGV[1]`, the key builders and GROUP (keys.py),
`_lib.lua` and its own file, rendered (`render`): the schema's names it writes as
`RUN.STATUS`, `EVENT.TYPE`, ... (schema.py) become the strings they stand for, and its own
arguments, which it reads as `ARG.<name>`, become `ARGV[n]`; a repeated tail is `REST` (a
list of values, or of tables named like a NamedTuple's fields). So the names are constants
in the script's text: nothing is looked up when it runs, and a name that Python does not
declare fails when the script is assembled. The arguments' names and order are declared
once, here; a script never reads ARGV by position past the three every script takes
(prefix, now ms, retention s).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Sequence
from enum import StrEnum
from importlib import resources
from itertools import chain
from typing import Any, NamedTuple

import redis

from lightflow_scheduler.errors import (
    LimitError,
    NotFoundError,
    ScheduleExistsError,
    StaleDefinitionError,
    UnknownDagError,
)
from lightflow_scheduler.keys import lua_key_builders
from lightflow_scheduler.model import OutputLine, QueueEntry
from lightflow_scheduler.redis_client import text
from lightflow_scheduler.schema import Refusal, RunStatus, lua_names, names

# The arguments every script takes first: ARGV[1..3].
_COMMON_ARGS = 3
_REFUSALS = frozenset(names(Refusal).values())


def refusal(err: redis.ResponseError) -> str:
    """The code of a script's refusal (schema.Refusal), or '' for any other error."""
    code = str(err).partition(" ")[0]
    return code if code in _REFUSALS else ""


_SCHEMA_NAME = re.compile(r"\b([A-Z]+)\.([A-Z][A-Z0-9_]*)\b")
_ARG_NAME = re.compile(r"\bARG\.(\w+)")


def render(source: str, args: Sequence[str] = ()) -> str:
    """`source` with the schema's names (`RUN.STATUS`) and the script's arguments
    (`ARG.run`, after the three every script takes) written out as what they stand for
    (`'status'`, `ARGV[4]`). ValueError for a name neither declares."""
    tables = lua_names()
    positions = {name: _COMMON_ARGS + 1 + i for i, name in enumerate(args)}

    def schema_name(match: re.Match[str]) -> str:
        table, name = match.groups()
        if table not in tables:
            return match.group(0)
        value = tables[table].get(name)
        if value is None:
            raise ValueError(f"{table}.{name} is not a name of schema.py")
        return f"'{value}'"

    def argument(match: re.Match[str]) -> str:
        position = positions.get(match.group(1))
        if position is None:
            raise ValueError(f"ARG.{match.group(1)} is not an argument of the script")
        return f"ARGV[{position}]"

    return _ARG_NAME.sub(argument, _SCHEMA_NAME.sub(schema_name, source))


def lua_rest(args: Sequence[str], rest: Sequence[str]) -> str:
    """`REST`, the tail after `args`: groups named `rest` (one name: a list of values)."""
    start = _COMMON_ARGS + 1 + len(args)
    if len(rest) == 1:
        return f"local REST = {{unpack(ARGV, {start})}}\n"
    if not rest:
        return ""
    fields = ", ".join(
        f"{name} = ARGV[i + {i}]" if i else f"{name} = ARGV[i]" for i, name in enumerate(rest)
    )
    return (
        "local REST = {}\n"
        f"for i = {start}, #ARGV, {len(rest)} do REST[#REST + 1] = {{{fields}}} end\n"
    )


class _Script:
    """One Lua script and the names of its arguments."""

    def __init__(
        self,
        scripts: Scripts,
        name: str,
        args: tuple[str, ...],
        rest: Sequence[str] = (),
    ) -> None:
        folder = resources.files("lightflow_scheduler") / "lua"
        self.name = name
        self.args = args
        self.rest = tuple(rest)
        self.width = len(rest)
        body = render((folder / f"{name}.lua").read_text(), args)
        self.source = scripts.prelude + lua_rest(args, rest) + body
        self._script = scripts.client.register_script(self.source)
        self._scripts = scripts

    def __call__(self, rest: Iterable[Any] = (), /, **named: Any) -> Any:
        """Runs the script with `named` (in the declared order: a wrapper that names them
        otherwise fails at once) and the tail `rest` (values, or tuples of `width`)."""
        if tuple(named) != self.args:
            raise TypeError(f"{self.name}.lua takes {self.args}, not {tuple(named)}")
        tail = chain.from_iterable(rest) if self.width > 1 else rest
        return self._script(args=[*self._scripts.common(), *named.values(), *tail])


class SealedInput(NamedTuple):
    """An input dataset of a hand-out, as redis holds it (sealed)."""

    task: str  # the predecessor, '' for the data given to start_dag
    alias: str
    sealed: bytes


class Handout(NamedTuple):
    """What dispatch_entry did with an entry: started its task (then it is a lease, of this
    workflow and definition, with these inputs) or dropped it (stale, or its run or DAG
    instance stopped)."""

    entry: QueueEntry
    started: bool
    workflow: str = ""
    definition_hash: str = ""
    inputs: tuple[SealedInput, ...] = ()
    # The run's store document starts with its arguments (a scheduler creates it).
    document_has_arguments: bool = False


def _handout(entry: QueueEntry, result: list[Any]) -> Handout:
    if result[1] != b"run":
        return Handout(entry, started=False)
    inputs = tuple(
        SealedInput(task.decode(), alias.decode(), sealed) for task, alias, sealed in result[4]
    )
    return Handout(entry, True, result[2].decode(), result[3].decode(), inputs, result[5] == 1)


class Outcome(StrEnum):
    """What complete.lua did with a result."""

    OK = "ok"
    STALE = "stale"  # not the current attempt (a late duplicate): nothing changed
    RETRY = "retry"  # the failed attempt will be tried again
    ENDED = "ended"  # the run ended with it


class DocumentFate(StrEnum):
    """For a run that ended with a result: what its store document needs."""

    NOT_ENDED = ""
    KEPT = "kept"  # it stays (the run keeps its data)
    NONE = "none"  # there is none, and nothing to clean up
    REMOVE = "remove"


# The replies as redis sends them -> their enum member (a dict is quicker than a call of the
# enum, and this is every hop's).
_OUTCOMES = {member.value.encode(): member for member in Outcome}
_DOCUMENT_FATES = {member.value.encode(): member for member in DocumentFate}


class Completion(NamedTuple):
    outcome: Outcome
    handouts: list[Handout]  # the worker's next tasks
    document: DocumentFate


class RequeueWhy(StrEnum):
    EXPIRED = "expired"  # a lost lease: counts towards the attempts after which a task fails
    RELEASED = "released"  # given back unrun


class RequeueOutcome(StrEnum):
    REQUEUED = "requeued"
    FAILED = "failed"
    CANCELLED = "cancelled"
    STALE = "stale"


class PromoteOutcome(StrEnum):
    QUEUED = "queued"
    CANCELLED = "cancelled"
    GONE = "gone"


class DocumentState(StrEnum):
    """document.lua's answers (see there)."""

    CLAIMED = "claimed"
    BUSY = "busy"
    CREATED = "created"
    NONE = "none"
    NEVER = "never"
    UNKNOWN = "unknown"
    OK = "ok"


class DocumentReply(NamedTuple):
    state: DocumentState
    data: bytes | None = None  # for CLAIMED: the data section to create it with


class Scripts:
    """The scripts of one namespace, loaded into redis (by SHA, reloaded if redis forgot)."""

    def __init__(self, client: redis.Redis, namespace: str, retention_s: int) -> None:
        self.client = client
        self._namespace = namespace
        self._retention_s = retention_s
        folder = resources.files("lightflow_scheduler") / "lua"
        self.prelude = (
            "local P = ARGV[1]\n" + lua_key_builders() + render((folder / "_lib.lua").read_text())
        )
        self._start_run = _Script(
            self,
            "start_run",
            (
                "run",
                "workflow",
                "definition",
                "keep",
                "deadline",
                "request",
                "arguments",
                "has_arguments",
                "document_due",
                "start_at",
                "schedule",
                "tick",
            ),
            rest=("dag",),
        )
        self._dispatch = _Script(self, "dispatch", ("worker",), rest=QueueEntry._fields)
        self._complete = _Script(
            self,
            "complete",
            (
                "run",
                "instance",
                "task",
                "attempt",
                "status",
                "output",
                "failure",
                "queue",
                "entry",
                "jitter",
                "has_limit",
                "limit",
                "worker",
                "credit",
                "in_blob",
                "store_used",
            ),
            rest=("queue",),
        )
        self._requeue = _Script(
            self,
            "requeue",
            ("queue", "entry", "run", "instance", "dag", "task", "attempt", "max_attempts", "why"),
        )
        self._start_dag = _Script(
            self,
            "start_dag",
            ("run", "dag", "data", "request", "in_blob", "max_instances", "by"),
        )
        self._stop_run = _Script(self, "stop_run", ("run", "reason"))
        self._begin_run = _Script(self, "begin_run", ("run",))
        self._schedule = _Script(self, "schedule", ("name", "action", "state", "due", "expected"))
        self._stop_dag = _Script(self, "stop_dag", ("run", "instance"))
        self._promote = _Script(self, "promote", ("member",))
        self._deadline = _Script(self, "deadline", ("run", "failure"))
        self._output = _Script(self, "output", ("cap",), rest=OutputLine._fields)
        self._document = _Script(self, "document", ("run", "action", "expiry"))

    def common(self) -> tuple[str, int, int]:
        """ARGV[1..3] of every script: the namespace, now (ms), the retention (s)."""
        return self._namespace, int(time.time() * 1000), self._retention_s

    @property
    def all(self) -> tuple[_Script, ...]:
        return (
            self._start_run,
            self._dispatch,
            self._complete,
            self._requeue,
            self._start_dag,
            self._stop_run,
            self._stop_dag,
            self._promote,
            self._deadline,
            self._output,
            self._document,
        )

    def start_run(
        self,
        *,
        run_id: str,
        workflow: str,
        definition_hash: str,
        keep_data: bool,
        deadline_ms: int,
        request_id: str,
        arguments: bytes,
        has_arguments: bool,
        document_due_ms: int,
        autostart: Sequence[str],
        start_at_ms: int = 0,
        schedule: str = "",
        tick_ms: int = 0,
    ) -> str:
        """Writes a run and starts its autostart DAGs; returns its id, or the id of the run
        the same request id started before. StaleDefinitionError when the workflow is no
        longer registered with `definition_hash`."""
        try:
            winner = self._start_run(
                autostart,
                run=run_id,
                workflow=workflow,
                definition=definition_hash,
                keep=int(keep_data),
                deadline=deadline_ms,
                request=request_id,
                arguments=arguments,
                has_arguments=int(has_arguments),
                document_due=document_due_ms,
                start_at=start_at_ms,
                schedule=schedule,
                tick=tick_ms,
            )
        except redis.ResponseError as err:
            if refusal(err) == Refusal.STALE_DEFINITION:
                raise StaleDefinitionError(
                    f"workflow '{workflow}' was registered anew while the run was starting:"
                    " start it again"
                ) from err
            raise
        return text(winner)

    def dispatch(self, *, worker_id: str, entries: Sequence[QueueEntry]) -> list[Handout]:
        """Hands out entries the worker read from its queues: one Handout per entry."""
        results = self._dispatch(entries, worker=worker_id)
        return [_handout(entry, result) for entry, result in zip(entries, results, strict=True)]

    def complete(
        self,
        *,
        run_id: str,
        instance: str,
        task: str,
        attempt: int,
        status: str,
        output: bytes,
        failure: str,
        queue: str,
        entry_id: str,
        jitter: float,
        limit: Sequence[str] | None,
        worker_id: str,
        credit: int,
        output_in_blob: bool,
        store_used: bool,
        queues: Sequence[str],
    ) -> Completion:
        """Records a task's result (fenced by attempt and entry) and hands the worker up to
        `credit` next tasks from `queues`. `limit`: the successors the task selected (None:
        all); `failure`: JSON, or ''."""
        outcome, pulled, document = self._complete(
            queues,
            run=run_id,
            instance=instance,
            task=task,
            attempt=attempt,
            status=status,
            output=output,
            failure=failure,
            queue=queue,
            entry=entry_id,
            jitter=jitter,
            has_limit=int(limit is not None),
            limit=json.dumps(list(limit)) if limit else "[]",
            worker=worker_id,
            credit=credit,
            in_blob=int(output_in_blob),
            store_used=int(store_used),
        )
        handouts = [
            _handout(
                QueueEntry(
                    q.decode(), e.decode(), r.decode(), i.decode(), d.decode(), t.decode(), int(a)
                ),
                result,
            )
            for q, e, r, i, d, t, a, result in pulled
        ]
        return Completion(_OUTCOMES[outcome], handouts, _DOCUMENT_FATES[document])

    def requeue(self, *, entry: QueueEntry, max_attempts: int, why: RequeueWhy) -> RequeueOutcome:
        """Queues an entry's task again (or fails it after `max_attempts` lost leases)."""
        outcome = self._requeue(
            queue=entry.queue,
            entry=entry.entry_id,
            run=entry.run_id,
            instance=entry.instance,
            dag=entry.dag,
            task=entry.task,
            attempt=entry.attempt,
            max_attempts=max_attempts,
            why=why.value,
        )
        return RequeueOutcome(text(outcome))

    def start_dag(
        self,
        *,
        run_id: str,
        dag: str,
        data: bytes,
        request_id: str,
        data_in_blob: bool,
        max_instances: int,
        started_by: str = "",
    ) -> str:
        """Starts an instance of `dag` (for the task `started_by`, "<instance>/<task>"); its
        name, or '' when the run is not running.
        NotFoundError for an unknown run, UnknownDagError, LimitError past `max_instances`."""
        try:
            instance = self._start_dag(
                run=run_id,
                dag=dag,
                data=data,
                request=request_id,
                in_blob=int(data_in_blob),
                max_instances=max_instances,
                by=started_by,
            )
        except redis.ResponseError as err:
            code = refusal(err)
            if code == Refusal.RUN_NOT_FOUND:
                raise NotFoundError(f"run '{run_id}' not found") from err
            if code == Refusal.UNKNOWN_DAG:
                raise UnknownDagError(dag) from err
            if code == Refusal.TOO_MANY_DAGS:
                raise LimitError(
                    f"run '{run_id}' has started {max_instances} DAG instances, its limit (the"
                    " schedulers' --max-dag-instances): does a DAG start itself without end?"
                ) from err
            raise
        return text(instance)

    def stop_run(self, *, run_id: str, reason: str) -> RunStatus:
        """Stops the run; its status after that. NotFoundError for an unknown run."""
        try:
            status = self._stop_run(run=run_id, reason=reason)
        except redis.ResponseError as err:
            if refusal(err) == Refusal.RUN_NOT_FOUND:
                raise NotFoundError(f"run '{run_id}' not found") from err
            raise
        return RunStatus(text(status))

    def stop_dag(self, *, run_id: str, instance: str) -> str:
        """Stops a DAG instance; its status after that. NotFoundError for an unknown run or
        instance."""
        try:
            status = self._stop_dag(run=run_id, instance=instance)
        except redis.ResponseError as err:
            code = refusal(err)
            if code == Refusal.RUN_NOT_FOUND:
                raise NotFoundError(f"run '{run_id}' not found") from err
            if code == Refusal.DAG_INSTANCE_NOT_FOUND:
                raise NotFoundError(f"DAG instance '{instance}' not found") from err
            raise
        return text(status)

    def promote(self, *, member: bytes) -> PromoteOutcome:
        """Queues a task whose retry delay passed (a member of the delayed set)."""
        return PromoteOutcome(text(self._promote(member=member)))

    def schedule(
        self,
        *,
        name: str,
        action: str,
        state: str = "",
        due_ms: int | None = None,
        expected: str = "",
    ) -> bool:
        """A schedule's state and due time, changed together (schedule.lua): `action` is
        create, advance (only while its due time is still `expected`), update or delete.
        False when an advance found another due time. ScheduleExistsError,
        ScheduleNotFoundError."""
        try:
            done = self._schedule(
                name=name,
                action=action,
                state=state,
                due="" if due_ms is None else due_ms,
                expected=expected,
            )
        except redis.ResponseError as err:
            code = refusal(err)
            if code == Refusal.SCHEDULE_EXISTS:
                raise ScheduleExistsError(f"a schedule named '{name}' exists") from err
            if code == Refusal.SCHEDULE_NOT_FOUND:
                raise NotFoundError(f"schedule '{name}' not found") from err
            raise
        return bool(done)

    def begin_run(self, *, run_id: str) -> str:
        """Starts a scheduled run whose start time came (once, whichever replica asks);
        its status after the call ('' when it is gone)."""
        return text(self._begin_run(run=run_id))

    def deadline(self, *, run_id: str, failure: str) -> RunStatus | None:
        """Stops a run past its deadline; its status after that, None when it is gone."""
        status = text(self._deadline(run=run_id, failure=failure))
        return RunStatus(status) if status else None

    def output(self, *, cap: int, lines: Sequence[OutputLine]) -> int:
        """Appends printed lines to their runs' output streams (each keeping its latest
        `cap`); how many were kept (lines of runs unknown or over are dropped)."""
        return int(self._output(lines, cap=cap))

    def _document_action(self, run_id: str, action: str, expiry_ms: int = 0) -> DocumentReply:
        reply = self._document(run=run_id, action=action, expiry=expiry_ms)
        return DocumentReply(DocumentState(text(reply[0])), reply[1] if len(reply) > 1 else None)

    def document_claim(self, *, run_id: str, expiry_ms: int) -> DocumentReply:
        """Claims the creation of the run's store document until `expiry_ms`: CLAIMED (with
        its data section), BUSY, CREATED, NONE or UNKNOWN."""
        return self._document_action(run_id, "claim", expiry_ms)

    def document_created(self, *, run_id: str) -> None:
        self._document_action(run_id, "created")

    def document_release(self, *, run_id: str) -> None:
        """A claimed creation failed: the document is due again."""
        self._document_action(run_id, "release")

    def document_finish(self, *, run_id: str) -> DocumentState:
        """The run ended: CREATED (remove it), BUSY (later), NEVER or NONE."""
        return self._document_action(run_id, "finish").state
