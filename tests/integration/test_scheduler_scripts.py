"""The typed wrappers of the scheduler's Lua scripts (lightflow_scheduler.scripts) against a
real redis-server: each named argument lands where its script reads it, each reply comes back
typed, each refusal becomes its domain error, and an error of redis that is not a refusal of
ours stays a redis error."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from lightflow.v1 import common_pb2, workflow_pb2
from lightflow_cli.stack import start_redis
from lightflow_scheduler.errors import (
    LimitError,
    NotFoundError,
    StaleDefinitionError,
    UnknownDagError,
)
from lightflow_scheduler.graph import WorkflowGraph, build_graph
from lightflow_scheduler.keys import QUEUE_GROUP, Keys
from lightflow_scheduler.model import OutputLine, QueueEntry
from lightflow_scheduler.schema import (
    EntryField,
    EventField,
    RunField,
    RunStatus,
    TaskField,
    WorkflowField,
)
from lightflow_scheduler.scripts import (
    Completion,
    DocumentFate,
    DocumentState,
    Outcome,
    PromoteOutcome,
    RequeueOutcome,
    RequeueWhy,
    Scripts,
)

CODE = common_pb2.Payload(encoding="python/cloudpickle", data=b"not run here")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("redis")
    process = start_redis(folder, folder)
    yield process.address
    process.process.kill()
    process.process.wait()


@pytest.fixture
def client(server: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(server)
    yield connection
    connection.close()


@pytest.fixture
def keys() -> Keys:
    return Keys(f"t{uuid.uuid4().hex[:8]}")


@pytest.fixture
def scripts(client: redis.Redis, keys: Keys) -> Scripts:
    return Scripts(client, keys.prefix, 60)


def _task(name: str, **options: Any) -> workflow_pb2.TaskDefinition:
    return workflow_pb2.TaskDefinition(name=name, queue="q", code=CODE, **options)


def _register(client: redis.Redis, keys: Keys, *, retries: int = 0) -> WorkflowGraph:
    """Workflow 'wf': DAG 'main' (autostart) a -> b (as 'x'), a -> c; DAG 'sub': s. Written
    as a registration writes it."""
    definition = workflow_pb2.WorkflowDefinition(
        name="wf",
        dags=[
            workflow_pb2.DagDefinition(
                name="main",
                autostart=True,
                tasks=[_task("a", retries=retries, retry_delay_s=0.001), _task("b"), _task("c")],
                edges=[
                    workflow_pb2.Edge(parent="a", child="b", alias="x"),
                    workflow_pb2.Edge(parent="a", child="c"),
                ],
            ),
            workflow_pb2.DagDefinition(name="sub", tasks=[_task("s")]),
        ],
    )
    graph = build_graph(definition)
    client.set(keys.definition(graph.definition_hash), definition.SerializeToString())
    client.hset(keys.graph(graph.definition_hash), mapping=graph.redis_fields())
    client.hset(keys.workflows, "wf", json.dumps({WorkflowField.HASH: graph.definition_hash}))
    client.xgroup_create(keys.queue("q"), QUEUE_GROUP, id="0", mkstream=True)
    return graph


def _start(scripts: Scripts, graph: WorkflowGraph, **options: Any) -> str:
    run_id = uuid.uuid4().hex
    arguments: dict[str, Any] = {
        "run_id": run_id,
        "workflow": "wf",
        "definition_hash": graph.definition_hash,
        "keep_data": False,
        "deadline_ms": 0,
        "request_id": "",
        "arguments": b"sealed",
        "has_arguments": False,
        "document_due_ms": 0,
        "autostart": ["main"],
    }
    arguments.update(options)
    return scripts.start_run(**arguments)


def _read(client: redis.Redis, keys: Keys, worker: str = "w1") -> list[QueueEntry]:
    reply = client.xreadgroup(QUEUE_GROUP, worker, {keys.queue("q"): ">"}, count=10)
    return [
        QueueEntry.from_fields("q", entry_id, fields)
        for _, items in reply or []
        for entry_id, fields in items
    ]


def _task_fields(client: redis.Redis, keys: Keys, run_id: str, task: str) -> dict[str, str]:
    fields = client.hgetall(keys.run_tasks(run_id))
    prefix = f"main/{task}"
    return {
        name.decode()[len(prefix) :]: value.decode()
        for name, value in fields.items()
        if name.decode().startswith(prefix + "|")
    }


def _complete(
    scripts: Scripts, entry: QueueEntry, *, credit: int = 0, **options: Any
) -> Completion:
    arguments: dict[str, Any] = {
        "run_id": entry.run_id,
        "instance": entry.instance,
        "task": entry.task,
        "attempt": entry.attempt,
        "status": "succeeded",
        "output": b"output of " + entry.task.encode(),
        "failure": "",
        "queue": entry.queue,
        "entry_id": entry.entry_id,
        "jitter": 1.0,
        "limit": None,
        "worker_id": "w1",
        "credit": credit,
        "output_in_blob": False,
        "store_used": False,
        "queues": ["q"],
    }
    arguments.update(options)
    return scripts.complete(**arguments)


def test_start_run_writes_the_run_and_queues_its_first_task(
    client: redis.Redis, keys: Keys, scripts: Scripts
) -> None:
    graph = _register(client, keys)
    run_id = _start(
        scripts, graph, keep_data=True, deadline_ms=4_000_000_000_000, request_id="req-1"
    )
    run = {k.decode(): v for k, v in client.hgetall(keys.run(run_id)).items()}
    assert run[RunField.WORKFLOW] == b"wf"
    assert run[RunField.DEFINITION] == graph.definition_hash.encode()
    assert run[RunField.STATUS] == b"running"
    assert run[RunField.KEEP] == b"1"
    assert run[RunField.DEADLINE] == b"4000000000000"
    assert run[RunField.DOC_DATA] == b"sealed"
    assert RunField.ARGUMENTS not in run  # has_arguments was False
    (entry,) = _read(client, keys)
    assert entry == QueueEntry("q", entry.entry_id, run_id, "main", "main", "a", 1)
    assert _task_fields(client, keys, run_id, "a")[TaskField.ENTRY] == entry.entry_id
    # The same request id: the run it started, nothing new.
    assert _start(scripts, graph, request_id="req-1") == run_id


def test_start_run_of_a_definition_registered_anew_since_is_refused(
    client: redis.Redis, keys: Keys, scripts: Scripts
) -> None:
    graph = _register(client, keys)
    with pytest.raises(StaleDefinitionError):
        _start(scripts, graph, definition_hash="0" * 64)
    with pytest.raises(StaleDefinitionError):
        _start(scripts, graph, workflow="not-registered")


def test_dispatch_hands_out_current_entries_and_drops_stale_ones(
    client: redis.Redis, keys: Keys, scripts: Scripts
) -> None:
    graph = _register(client, keys)
    run_id = _start(scripts, graph)
    (entry,) = _read(client, keys)
    stale = entry._replace(attempt=2)
    started, dropped = scripts.dispatch(worker_id="w1", entries=[entry, stale])
    assert started.entry == entry
    assert started.started
    assert (started.workflow, started.definition_hash, started.inputs) == (
        "wf",
        graph.definition_hash,
        (),
    )
    assert dropped.entry == stale
    assert not dropped.started
    fields = _task_fields(client, keys, run_id, "a")
    assert fields[TaskField.STATUS] == "running"
    assert fields[TaskField.WORKER] == "w1"


def test_complete_records_the_result_and_hands_out_the_next_tasks_with_their_inputs(
    client: redis.Redis, keys: Keys, scripts: Scripts
) -> None:
    graph = _register(client, keys)
    run_id = _start(scripts, graph)
    (entry,) = _read(client, keys)
    scripts.dispatch(worker_id="w1", entries=[entry])
    done = _complete(scripts, entry, credit=1)
    assert done.outcome == Outcome.OK
    assert done.document == DocumentFate.NOT_ENDED
    (next_task,) = done.handouts
    assert next_task.started
    assert next_task.entry.task == "b"
    assert next_task.entry.run_id == run_id
    assert [(i.task, i.alias, i.sealed) for i in next_task.inputs] == [("a", "x", b"output of a")]
    # A late duplicate changes nothing.
    assert _complete(scripts, entry).outcome == Outcome.STALE
    (c_entry,) = _read(client, keys)
    scripts.dispatch(worker_id="w1", entries=[c_entry])
    assert _complete(scripts, c_entry).outcome == Outcome.OK
    # Its output came as a blob: the run has something to clean up.
    ended = _complete(scripts, next_task.entry, output_in_blob=True)
    assert ended.outcome == Outcome.ENDED
    assert ended.document == DocumentFate.REMOVE
    assert client.hget(keys.run(run_id), RunField.STATUS) == b"succeeded"


def test_complete_with_an_empty_limit_skips_the_successors(
    client: redis.Redis, keys: Keys, scripts: Scripts
) -> None:
    graph = _register(client, keys)
    run_id = _start(scripts, graph, arguments=b"")
    (entry,) = _read(client, keys)
    scripts.dispatch(worker_id="w1", entries=[entry])
    ended = _complete(scripts, entry, limit=[], failure="")
    assert ended.outcome == Outcome.ENDED
    # No document, nothing in blobs: nothing to clean up.
    assert ended.document == DocumentFate.NONE
    assert _task_fields(client, keys, run_id, "b")[TaskField.STATUS] == "skipped"
    assert _task_fields(client, keys, run_id, "c")[TaskField.STATUS] == "skipped"


def test_a_failed_attempt_with_retries_left_waits_and_promote_queues_it(
    client: redis.Redis, keys: Keys, scripts: Scripts
) -> None:
    graph = _register(client, keys, retries=1)
    run_id = _start(scripts, graph)
    (entry,) = _read(client, keys)
    scripts.dispatch(worker_id="w1", entries=[entry])
    failure = json.dumps({"type": "E", "message": "m", "stack_trace": ""})
    retry = _complete(scripts, entry, status="failed", failure=failure)
    assert retry.outcome == Outcome.RETRY
    ((member, _),) = client.zrange(keys.delayed, 0, -1, withscores=True)
    assert scripts.promote(member=member) == PromoteOutcome.QUEUED
    assert scripts.promote(member=member) == PromoteOutcome.GONE
    (again,) = _read(client, keys)
    assert (again.task, again.attempt) == ("a", 2)
    assert _task_fields(client, keys, run_id, "a")[TaskField.FAILURE] == failure


def test_requeue_by_why_and_attempts(client: redis.Redis, keys: Keys, scripts: Scripts) -> None:
    graph = _register(client, keys)
    run_id = _start(scripts, graph)
    (entry,) = _read(client, keys)
    # Read, never handed out: queued again as it is.
    assert (
        scripts.requeue(entry=entry, max_attempts=5, why=RequeueWhy.RELEASED)
        == RequeueOutcome.REQUEUED
    )
    assert scripts.requeue(entry=entry, max_attempts=5, why=RequeueWhy.RELEASED) == (
        RequeueOutcome.STALE
    )
    (entry,) = _read(client, keys)
    assert entry.attempt == 1
    scripts.dispatch(worker_id="w1", entries=[entry])
    # A lost lease past its attempts fails the task, and with it the run.
    assert (
        scripts.requeue(entry=entry, max_attempts=1, why=RequeueWhy.EXPIRED)
        == RequeueOutcome.FAILED
    )
    assert client.hget(keys.run(run_id), RunField.STATUS) == b"failed"


def test_start_dag_names_its_instance_and_refuses_with_domain_errors(
    client: redis.Redis, keys: Keys, scripts: Scripts
) -> None:
    graph = _register(client, keys)
    run_id = _start(scripts, graph)

    def start(dag: str, *, run: str = run_id, request_id: str = "", limit: int = 2) -> str:
        return scripts.start_dag(
            run_id=run,
            dag=dag,
            data=b"given",
            request_id=request_id,
            data_in_blob=True,
            max_instances=limit,
        )

    assert start("sub", request_id="r1") == "sub:1"
    assert start("sub", request_id="r1") == "sub:1"
    assert client.hget(keys.run(run_id), RunField.BLOBS) == b"1"
    assert client.hget(keys.run_data(run_id), "sub:1/") == b"given"
    with pytest.raises(UnknownDagError) as unknown:
        start("ghost")
    assert unknown.value.dag == "ghost"
    assert start("sub") == "sub:2"
    with pytest.raises(LimitError, match="has started 2 DAG instances"):
        start("sub")
    missing = uuid.uuid4().hex
    with pytest.raises(NotFoundError, match=f"run '{missing}' not found"):
        start("sub", run=missing)


def test_stop_dag_and_stop_run_answer_the_status_or_not_found(
    client: redis.Redis, keys: Keys, scripts: Scripts
) -> None:
    graph = _register(client, keys)
    run_id = _start(scripts, graph)
    missing = uuid.uuid4().hex
    with pytest.raises(NotFoundError, match=f"run '{missing}' not found"):
        scripts.stop_dag(run_id=missing, instance="main")
    with pytest.raises(NotFoundError, match="DAG instance 'ghost:7' not found"):
        scripts.stop_dag(run_id=run_id, instance="ghost:7")
    with pytest.raises(NotFoundError, match=f"run '{missing}' not found"):
        scripts.stop_run(run_id=missing, reason="r")
    # Nothing runs: the queued task is dropped at dispatch, the DAG ends stopped at once.
    assert scripts.stop_dag(run_id=run_id, instance="main") == "stopped"
    assert scripts.stop_run(run_id=run_id, reason="because") == RunStatus.SUCCEEDED


def test_deadline_stops_a_run_and_knows_a_gone_one(
    client: redis.Redis, keys: Keys, scripts: Scripts
) -> None:
    graph = _register(client, keys)
    run_id = _start(scripts, graph)
    (entry,) = _read(client, keys)
    scripts.dispatch(worker_id="w1", entries=[entry])
    assert scripts.deadline(run_id=run_id, failure="{}") == RunStatus.STOPPING
    assert scripts.deadline(run_id=uuid.uuid4().hex, failure="{}") is None


def test_output_keeps_lines_of_live_runs_in_the_schema_fields(
    client: redis.Redis, keys: Keys, scripts: Scripts
) -> None:
    graph = _register(client, keys)
    run_id = _start(scripts, graph)
    lines = [
        OutputLine(run_id, "main", "a", 1, "stdout", "hello"),
        OutputLine(uuid.uuid4().hex, "main", "a", 1, "stdout", "of no run"),
        OutputLine(run_id, "main", "a", 1, "stderr", "world"),
    ]
    assert scripts.output(cap=100, lines=lines) == 2
    entries = client.xrange(keys.run_output(run_id))
    assert [
        (
            fields[EventField.TYPE.encode()],
            fields[EventField.TASK.encode()],
            fields[EventField.STREAM.encode()],
            fields[EventField.TEXT.encode()],
        )
        for _, fields in entries
    ] == [
        (b"task_output", b"a", b"stdout", b"hello"),
        (b"task_output", b"a", b"stderr", b"world"),
    ]


def test_document_claims_and_their_states(
    client: redis.Redis, keys: Keys, scripts: Scripts
) -> None:
    graph = _register(client, keys)
    run_id = _start(scripts, graph, arguments=b"sealed-args")
    claimed = scripts.document_claim(run_id=run_id, expiry_ms=4_000_000_000_000)
    assert (claimed.state, claimed.data) == (DocumentState.CLAIMED, b"sealed-args")
    assert scripts.document_claim(run_id=run_id, expiry_ms=1).state == DocumentState.BUSY
    assert scripts.document_finish(run_id=run_id) == DocumentState.BUSY
    scripts.document_created(run_id=run_id)
    assert scripts.document_claim(run_id=run_id, expiry_ms=1).state == DocumentState.CREATED
    assert scripts.document_finish(run_id=run_id) == DocumentState.CREATED
    other = _start(scripts, graph)
    assert scripts.document_claim(run_id=other, expiry_ms=1).state == DocumentState.CLAIMED
    scripts.document_release(run_id=other)
    assert scripts.document_claim(run_id=other, expiry_ms=1).state == DocumentState.CLAIMED
    assert scripts.document_finish(run_id=other) == DocumentState.CREATED  # may exist
    never = _start(scripts, graph)
    assert scripts.document_finish(run_id=never) == DocumentState.NEVER
    unknown = uuid.uuid4().hex
    assert scripts.document_claim(run_id=unknown, expiry_ms=1).state == DocumentState.UNKNOWN


def test_an_error_of_redis_that_is_not_a_refusal_stays_a_redis_error(
    client: redis.Redis, keys: Keys, scripts: Scripts
) -> None:
    run_id = uuid.uuid4().hex
    client.set(keys.run(run_id), "not a hash")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE") as caught:
        scripts.stop_run(run_id=run_id, reason="r")
    assert not isinstance(caught.value, NotFoundError)


def test_a_wrapper_naming_arguments_out_of_order_fails_at_once(scripts: Scripts) -> None:
    (stop_run,) = [s for s in scripts.all if s.name == "stop_run"]
    with pytest.raises(TypeError, match=r"stop_run.lua takes \('run', 'reason'\)"):
        stop_run(reason="r", run="x")


def test_queue_entries_carry_the_schema_fields(
    client: redis.Redis, keys: Keys, scripts: Scripts
) -> None:
    graph = _register(client, keys)
    run_id = _start(scripts, graph)
    ((_, fields),) = client.xrange(keys.queue("q"))
    assert {k.decode(): v.decode() for k, v in fields.items()} == {
        EntryField.RUN: run_id,
        EntryField.INSTANCE: "main",
        EntryField.DAG: "main",
        EntryField.TASK: "a",
        EntryField.ATTEMPT: "1",
    }
