"""Hand-out (lightflow_scheduler.dispatch) against a real redis-server, without gRPC: a
worker's credit bounds what it is handed and what is not used goes back, a stream carries a
task's code once, leases are typed, and tampered task data reaches the lease unsealed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from lightflow._store import StoreClient
from lightflow._taskdata import BlobClient
from lightflow.v1 import common_pb2, workflow_pb2
from lightflow_cli.stack import start_redis
from lightflow_scheduler.config import SchedulerConfig
from lightflow_scheduler.core import SchedulerCore
from lightflow_scheduler.dispatch import WorkerSession
from lightflow_scheduler.errors import InvalidArgumentError, StoreUnavailableError
from lightflow_scheduler.keys import Keys
from lightflow_scheduler.model import Lease, LeaseRef, TaskResult, WorkerHello
from lightflow_scheduler.schema import RunField, TaskStatus
from lightflow_scheduler.scripts import Outcome, RequeueOutcome, RequeueWhy

CODE = common_pb2.Payload(encoding="python/cloudpickle", data=b"not run here")
# The store is never called here: no run of these tests ends with a document to remove.
NO_STORE = "127.0.0.1:9"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("redis")
    process = start_redis(folder, folder)
    yield process.address
    process.process.kill()
    process.process.wait()


@pytest.fixture
def core(server: str) -> Iterator[SchedulerCore]:
    config = SchedulerConfig(
        redis_url=server, namespace=f"t{uuid.uuid4().hex[:8]}", token="t0ken", stop_grace_s=0
    )
    client = redis.Redis.from_url(server)
    store = StoreClient(NO_STORE, config.token, retry_seconds=0)
    blobs = BlobClient(NO_STORE, config.token)
    yield SchedulerCore(config, client, store, blobs)
    store.close()
    blobs.close()
    client.close()


def _register(core: SchedulerCore, tasks: int) -> None:
    """A chain t0 -> t1 -> ... on queue q, and 'fan': source -> (x, y)."""
    chain = [workflow_pb2.TaskDefinition(name=f"t{i}", queue="q", code=CODE) for i in range(tasks)]
    definition = workflow_pb2.WorkflowDefinition(
        name="wf",
        dags=[
            workflow_pb2.DagDefinition(
                name="main",
                autostart=True,
                tasks=chain,
                edges=[
                    workflow_pb2.Edge(parent=f"t{i}", child=f"t{i + 1}") for i in range(tasks - 1)
                ],
            ),
            workflow_pb2.DagDefinition(
                name="fan",
                tasks=[
                    workflow_pb2.TaskDefinition(name=n, queue="q", code=CODE)
                    for n in ("source", "x", "y")
                ],
                edges=[
                    workflow_pb2.Edge(parent="source", child="x"),
                    workflow_pb2.Edge(parent="source", child="y"),
                ],
            ),
        ],
    )
    core.registry.register(definition)


def _keys(core: SchedulerCore) -> Keys:
    return Keys(core.config.namespace)


def _session(core: SchedulerCore) -> WorkerSession:
    return core.dispatch.open(WorkerHello("w1", "host", 1, ["q"], 4))


def _result(handed: Lease, **options: Any) -> TaskResult:
    arguments: dict[str, Any] = {
        "lease": handed.ref,
        "run_id": handed.entry.run_id,
        "instance": handed.entry.instance,
        "task": handed.entry.task,
        "attempt": handed.entry.attempt,
        "status": TaskStatus.SUCCEEDED,
        "output": common_pb2.Payload(encoding="x", data=b"out").SerializeToString(),
        "output_in_blob": False,
        "failure": None,
        "limit": None,
    }
    arguments.update(options)
    return TaskResult(**arguments)


def test_credit_bounds_the_hand_out_and_what_is_not_used_goes_back(core: SchedulerCore) -> None:
    _register(core, tasks=2)
    for _ in range(3):
        core.runs.start("wf", {}, keep_data=False)
    session = _session(core)
    assert core.dispatch.next_leases(session, block_ms=1) == []  # no credit, no read
    session.add_credit(2)
    first = core.dispatch.next_leases(session, block_ms=1)
    assert [lease.entry.task for lease in first] == ["t0", "t0"]
    assert session.reserve() == 0  # both used
    session.add_credit(5)
    (third,) = core.dispatch.next_leases(session, block_ms=1)
    assert session.reserve() == 4  # four of five came back
    # The stream carries a task's code once.
    assert first[0].code is not None
    assert first[0].code.seal
    assert first[1].code is None
    assert third.code is None
    assert first[0].workflow == "wf"
    assert first[0].inputs == ()


def test_a_result_is_recorded_with_the_next_task_handed_out_at_once(core: SchedulerCore) -> None:
    _register(core, tasks=2)
    run_id = core.runs.start("wf", {}, keep_data=False)
    session = _session(core)
    session.add_credit(1)
    (lease,) = core.dispatch.next_leases(session, block_ms=1)
    session.add_credit(1)  # the worker's slot is free again with the result
    outcome, (successor,) = core.dispatch.complete(session, _result(lease))
    assert outcome == Outcome.OK
    assert successor.entry.task == "t1"
    assert [(i.task_name, i.payload) for i in successor.inputs] == [
        ("t0", common_pb2.Payload(encoding="x", data=b"out").SerializeToString())
    ]
    assert session.reserve() == 0
    # A late duplicate changes nothing and hands out nothing; its credit goes back.
    session.add_credit(1)
    assert core.dispatch.complete(session, _result(lease)) == (Outcome.STALE, [])
    assert session.reserve() == 1
    assert core.redis.hget(_keys(core).run(run_id), RunField.STATUS) == b"running"


def test_tampered_task_data_reaches_the_lease_unsealed(core: SchedulerCore) -> None:
    _register(core, tasks=2)
    run_id = core.runs.start("wf", {}, keep_data=False)
    session = _session(core)
    session.add_credit(1)
    (lease,) = core.dispatch.next_leases(session, block_ms=1)
    core.dispatch.complete(session, _result(lease))
    core.redis.hset(_keys(core).run_data(run_id), "main/t0", b"written by someone else")
    session.add_credit(1)
    (successor,) = core.dispatch.next_leases(session, block_ms=1)
    assert [(i.task_name, i.payload) for i in successor.inputs] == [("t0", None)]


def test_a_bad_result_is_refused_and_takes_no_credit(core: SchedulerCore) -> None:
    _register(core, tasks=1)
    core.runs.start("wf", {}, keep_data=False)
    session = _session(core)
    session.add_credit(1)
    (lease,) = core.dispatch.next_leases(session, block_ms=1)
    session.add_credit(3)
    with pytest.raises(InvalidArgumentError, match="has status running"):
        core.dispatch.complete(session, _result(lease, status=TaskStatus.RUNNING))
    with pytest.raises(InvalidArgumentError, match="invalid lease reference"):
        core.dispatch.complete(session, _result(lease, lease=LeaseRef("q", "not-an-id")))
    assert session.reserve() == 3


def test_heartbeats_keep_leases_and_name_those_of_a_stopped_run(core: SchedulerCore) -> None:
    _register(core, tasks=1)
    run_id = core.runs.start("wf", {}, keep_data=False)
    session = _session(core)
    session.add_credit(1)
    (lease,) = core.dispatch.next_leases(session, block_ms=1)
    assert core.dispatch.heartbeat(session, [lease.ref]) == []
    (worker,) = core.dispatch.list_workers()
    assert (worker.worker_id, worker.running, worker.queues) == ("w1", 1, ["q"])
    core.runs.stop(run_id)
    # Stop grace 0: its task is to be ended at once, also when another stream asks.
    assert core.dispatch.heartbeat(session, [lease.ref]) == [lease.ref]
    assert core.dispatch.heartbeat(_session(core), [lease.ref]) == [lease.ref]


def test_released_leases_are_handed_out_again(core: SchedulerCore) -> None:
    _register(core, tasks=1)
    core.runs.start("wf", {}, keep_data=False)
    session = _session(core)
    session.add_credit(1)
    (lease,) = core.dispatch.next_leases(session, block_ms=1)
    core.dispatch.release([lease])
    session.add_credit(1)
    (again,) = core.dispatch.next_leases(session, block_ms=1)
    assert again.entry.task == lease.entry.task
    assert again.entry.attempt == lease.entry.attempt + 1  # handed out before: a new attempt
    assert again.entry.entry_id != lease.entry.entry_id
    core.dispatch.release_refs([again.ref])
    session.add_credit(1)
    (third,) = core.dispatch.next_leases(session, block_ms=1)
    assert third.entry.entry_id not in {lease.entry.entry_id, again.entry.entry_id}


@pytest.mark.parametrize(("store_used", "document"), [(False, b"none"), (True, b"created")])
def test_a_result_that_used_the_store_leaves_its_runs_document_to_remove(
    core: SchedulerCore, store_used: bool, document: bytes
) -> None:
    # A run without arguments: its task's first store call made its document, if any.
    _register(core, tasks=1)
    run_id = core.runs.start("wf", {}, keep_data=False)
    session = _session(core)
    session.add_credit(1)
    (lease,) = core.dispatch.next_leases(session, block_ms=1)
    assert not lease.document_has_arguments
    outcome, _ = core.dispatch.complete(session, _result(lease, store_used=store_used))
    assert outcome == Outcome.ENDED
    assert core.redis.hget(_keys(core).run(run_id), RunField.DOC) == document
    # The run's end removes it (here the clean-up cannot reach a store, and stays to do).
    assert (core.redis.zscore(_keys(core).cleanup, run_id) is not None) == store_used


def test_asking_for_a_document_while_the_store_is_down_says_so(core: SchedulerCore) -> None:
    _register(core, tasks=1)
    run_id = core.runs.start("wf", {}, keep_data=False)
    with pytest.raises(StoreUnavailableError, match=f"document of run '{run_id}'"):
        core.documents.ensure(run_id)


def test_a_lost_lease_leaves_its_runs_document_to_remove(core: SchedulerCore) -> None:
    # Its worker died: the attempt may have made the document before it went.
    _register(core, tasks=1)
    run_id = core.runs.start("wf", {}, keep_data=False)
    session = _session(core)
    session.add_credit(1)
    (lease,) = core.dispatch.next_leases(session, block_ms=1)
    assert core.dispatch.requeue(lease.entry, RequeueWhy.EXPIRED) == RequeueOutcome.REQUEUED
    assert core.redis.hget(_keys(core).run(run_id), RunField.DOC) == b"created"
