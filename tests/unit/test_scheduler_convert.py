"""Protos to the scheduler's values and back (lightflow_scheduler.convert): the one place
the scheduler's parts meet the protocol."""

from __future__ import annotations

import bson

from lightflow._codec import ENCODING_BSON
from lightflow._taskdata import ENCODING_BLOB, ENCODING_UNSEALED
from lightflow.v1 import common_pb2, scheduler_pb2
from lightflow_scheduler import convert
from lightflow_scheduler.model import (
    DagState,
    Failure,
    Lease,
    LeaseInput,
    LeaseRef,
    Outgoing,
    OutputLine,
    QueueEntry,
    RunEvent,
    RunInfo,
    TaskCode,
    TaskResult,
    TaskState,
    WorkerHello,
    WorkMessage,
)
from lightflow_scheduler.schema import DagStatus, EventType, RunStatus, TaskStatus

FAILURE = Failure("ValueError", "bad value", "Traceback ...")
ENTRY = QueueEntry("gpu", "1700000000000-3", "r" * 32, "sub:2", "sub", "train", 2)


def _payload(data: bytes, encoding: str = "python/cloudpickle") -> bytes:
    return common_pb2.Payload(encoding=encoding, data=data).SerializeToString()


def test_every_state_and_event_type_has_its_proto_value_and_back() -> None:
    assert set(convert.RUN_STATUS) == set(RunStatus)
    assert set(convert.DAG_STATUS) == set(DagStatus)
    assert set(convert.TASK_STATUS) == set(TaskStatus)
    assert set(convert.EVENT_TYPE) == set(EventType)
    assert convert.RUN_STATUS[RunStatus.STOPPING] == common_pb2.RUN_STATUS_STOPPING
    assert convert.TASK_STATUS[TaskStatus.CANCELLED] == common_pb2.TASK_STATUS_CANCELLED
    for name, number in convert.RUN_STATUS.items():
        assert convert.run_status_name(number) == name
    assert convert.run_status_name(common_pb2.RUN_STATUS_UNSPECIFIED) is None


def test_a_watch_filter_names_its_types_and_an_unknown_one_matches_nothing() -> None:
    names = convert.event_type_names(
        [scheduler_pb2.RUN_EVENT_TYPE_RUN_ENDED, scheduler_pb2.RUN_EVENT_TYPE_TASK_OUTPUT, 99]
    )
    assert names & set(EventType) == {EventType.RUN_ENDED, EventType.TASK_OUTPUT}
    assert len(names) == 3


def test_a_run_with_its_dags_and_tasks() -> None:
    info = RunInfo(
        run_id="r" * 32,
        workflow="wf",
        definition_hash="h" * 64,
        status=RunStatus.FAILED,
        started_ms=1_000,
        ended_ms=5_000,
        keep_data=True,
        failure=FAILURE,
        dags=(DagState("main", "main", DagStatus.FAILED, 1_000, 4_000),),
        tasks=(
            TaskState("main", "a", TaskStatus.FAILED, 1, "w1", "q", 1_100, 1_900, FAILURE),
            TaskState("main", "b", TaskStatus.CANCELLED, 0, "", "q", 0, 0, None),
        ),
    )
    run = convert.run(info)
    assert (run.id, run.workflow_name, run.definition_hash) == ("r" * 32, "wf", "h" * 64)
    assert run.status == common_pb2.RUN_STATUS_FAILED
    assert run.started_at.ToMilliseconds() == 1_000
    assert run.ended_at.ToMilliseconds() == 5_000
    assert run.keep_data
    assert (run.failure.type, run.failure.message) == ("ValueError", "bad value")
    (dag,) = run.dags
    assert (dag.instance, dag.dag_name, dag.status) == (
        "main",
        "main",
        common_pb2.DAG_STATUS_FAILED,
    )
    assert dag.ended_at.ToMilliseconds() == 4_000
    first, second = run.tasks
    assert (first.task_name, first.status, first.attempt, first.worker_id, first.queue) == (
        "a",
        common_pb2.TASK_STATUS_FAILED,
        1,
        "w1",
        "q",
    )
    assert first.failure.stack_trace == "Traceback ..."
    assert first.started_at.ToMilliseconds() == 1_100
    # Not started, not ended: no times, no failure.
    assert second.status == common_pb2.TASK_STATUS_CANCELLED
    assert not second.HasField("started_at")
    assert not second.HasField("ended_at")
    assert not second.HasField("failure")
    # A run without an end has no end time.
    running = convert.run(RunInfo("r" * 32, "wf", "h", RunStatus.RUNNING, 1, 0, False, None))
    assert not running.HasField("ended_at")
    assert not running.HasField("failure")
    assert not running.dags


def _event(kind: str, status: str = "") -> RunEvent:
    return RunEvent("1-2", "r" * 32, kind, 1_000, "main", "a", 1, "w1", "", "", status, None)


def test_an_event_carries_the_status_its_type_speaks_of() -> None:
    ended = convert.run_event(_event(EventType.RUN_ENDED, RunStatus.SUCCEEDED))
    assert ended.type == scheduler_pb2.RUN_EVENT_TYPE_RUN_ENDED
    assert ended.run_status == common_pb2.RUN_STATUS_SUCCEEDED
    dag = convert.run_event(_event(EventType.DAG_ENDED, DagStatus.STOPPED))
    assert dag.dag_status == common_pb2.DAG_STATUS_STOPPED
    task = convert.run_event(_event(EventType.TASK_ENDED, TaskStatus.SKIPPED))
    assert task.task_status == common_pb2.TASK_STATUS_SKIPPED
    assert (task.id, task.dag_instance, task.task_name, task.attempt, task.worker_id) == (
        "1-2",
        "main",
        "a",
        1,
        "w1",
    )
    assert task.time.ToMilliseconds() == 1_000
    unknown = convert.run_event(_event("from_a_newer_replica"))
    assert unknown.type == scheduler_pb2.RUN_EVENT_TYPE_UNSPECIFIED


def test_a_task_result_in() -> None:
    message = scheduler_pb2.TaskResult(
        lease=scheduler_pb2.LeaseRef(queue="gpu", entry_id="1-0"),
        run_id="r" * 32,
        dag_instance="main",
        task_name="a",
        attempt=3,
        status=common_pb2.TASK_STATUS_SUCCEEDED,
        output=common_pb2.Payload(encoding=ENCODING_BLOB, data=b"blob-id"),
        has_limit=True,
    )
    result = convert.task_result(message)
    assert result == TaskResult(
        lease=LeaseRef("gpu", "1-0"),
        run_id="r" * 32,
        instance="main",
        task="a",
        attempt=3,
        status=TaskStatus.SUCCEEDED,
        output=message.output.SerializeToString(),
        output_in_blob=True,
        failure=None,
        limit=(),  # selects none
    )
    message.has_limit = False
    message.limit.append("b")
    message.status = 99  # type: ignore[assignment]
    message.failure.CopyFrom(common_pb2.Failure(type="E", message="m", stack_trace="s"))
    result = convert.task_result(message)
    assert result.limit is None  # selects all
    assert result.status == "99"  # shown as the number in the refusal
    assert result.failure == Failure("E", "m", "s")


def test_a_lease_out_with_its_inputs_and_code() -> None:
    lease = Lease(
        entry=ENTRY,
        workflow="wf",
        definition_hash="h" * 64,
        timeout_ms=1_500,
        inputs=(
            LeaseInput("prep", "data", _payload(b"pickled")),
            LeaseInput("tampered", "", None),
        ),
        code=TaskCode(_payload(b"code"), b"seal", "/wf.py", "source text"),
    )
    message = convert.task_lease(lease)
    assert (message.lease.queue, message.lease.entry_id) == ("gpu", "1700000000000-3")
    assert (message.run_id, message.dag_name, message.dag_instance, message.task_name) == (
        "r" * 32,
        "sub",
        "sub:2",
        "train",
    )
    assert (message.attempt, message.timeout_ms, message.workflow_name) == (2, 1_500, "wf")
    prep, tampered = message.inputs
    assert (prep.task_name, prep.alias, prep.data.data) == ("prep", "data", b"pickled")
    # Data whose seal did not hold reaches the task as such, and the task fails unloaded.
    assert tampered.data.encoding == ENCODING_UNSEALED
    assert message.code.data == b"code"
    assert (message.code_seal, message.source_path, message.source) == (
        b"seal",
        "/wf.py",
        "source text",
    )
    again = convert.task_lease(Lease(ENTRY, "wf", "h", 0, (), None))
    assert not again.HasField("code")
    assert again.code_seal == b""


def test_work_responses_carry_the_acknowledgement_on_the_lease() -> None:
    lease = Lease(ENTRY, "wf", "h", 0, (), None)
    acknowledged = LeaseRef("gpu", "1-0")
    with_lease = convert.work_response(Outgoing(lease=lease, recorded=acknowledged))
    assert with_lease.WhichOneof("kind") == "lease"
    assert [(r.queue, r.entry_id) for r in with_lease.recorded] == [("gpu", "1-0")]
    alone = convert.work_response(Outgoing(recorded=acknowledged))
    assert alone.WhichOneof("kind") is None
    assert len(alone.recorded) == 1
    cancel = convert.work_response(Outgoing(cancel=LeaseRef("gpu", "2-0")))
    assert (cancel.cancel.queue, cancel.cancel.entry_id) == ("gpu", "2-0")
    assert not cancel.recorded
    welcome = convert.welcome("127.0.0.1:50070", 15_000)
    assert (welcome.welcome.store_address, welcome.welcome.lease_timeout_ms) == (
        "127.0.0.1:50070",
        15_000,
    )


def test_work_messages_in() -> None:
    line = scheduler_pb2.TaskOutput(
        run_id="r" * 32, dag_instance="main", task_name="a", attempt=1, stream="stdout", text="hi"
    )
    expected_line = OutputLine("r" * 32, "main", "a", 1, "stdout", "hi")
    batch = scheduler_pb2.WorkRequest(
        credit=2, output_batch=scheduler_pb2.OutputBatch(lines=[line, line])
    )
    assert convert.work_message(batch) == WorkMessage(2, lines=[expected_line, expected_line])
    assert convert.work_message(scheduler_pb2.WorkRequest(output=line)) == WorkMessage(
        0, lines=[expected_line]
    )
    refs = [scheduler_pb2.LeaseRef(queue="q", entry_id="1-0")]
    heartbeat = scheduler_pb2.WorkRequest(heartbeat=scheduler_pb2.Heartbeat(leases=refs))
    assert convert.work_message(heartbeat) == WorkMessage(heartbeat=[LeaseRef("q", "1-0")])
    release = scheduler_pb2.WorkRequest(release=scheduler_pb2.Release(leases=refs))
    assert convert.work_message(release) == WorkMessage(release=[LeaseRef("q", "1-0")])
    stop = scheduler_pb2.WorkRequest(stop_leases=True)
    assert convert.work_message(stop) == WorkMessage(stop_leases=True)
    assert convert.work_message(scheduler_pb2.WorkRequest(credit=5)) == WorkMessage(5)
    hello = scheduler_pb2.WorkerHello(
        worker_id="w1", hostname="h", pid=7, queues=["a", "b"], concurrency=2
    )
    assert convert.worker_hello(hello) == WorkerHello("w1", "h", 7, ["a", "b"], 2)


def test_values_for_the_store_are_bson_payloads() -> None:
    payloads = convert.bson_payloads({"name": "wf", "log": {"main": {"status": "running"}}})
    assert {name: p.encoding for name, p in payloads.items()} == {
        "name": ENCODING_BSON,
        "log": ENCODING_BSON,
    }
    assert bson.decode(payloads["log"].data) == {"v": {"main": {"status": "running"}}}
