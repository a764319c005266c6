"""Bad input, case by case (issue "Nothing lost", invariant 6): each answer is a gRPC status
or a task failure with a message naming the thing at fault, never a traceback across the
wire, never a crashed service, never a wedged run; and the stack still runs a workflow after
every case.

Most cases share one stack (module scope) for speed; an autouse fixture proves after each case
that every service process is alive, answers its health check, and that `sequential` still
runs. `test_errors.py` holds the first cases (unknown workflow, cyclic raw definitions, the
scheduler's token); this file extends it, it does not repeat it.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import redis
from grpc_health.v1 import health_pb2, health_pb2_grpc

from lightflow._client import Client, ClientError, RunEvent
from lightflow._grpc import open_channel
from lightflow._store import StoreClient
from lightflow._workflow import WorkflowDefinitionError
from lightflow.v1 import (
    blob_pb2,
    blob_pb2_grpc,
    common_pb2,
    scheduler_pb2,
    scheduler_pb2_grpc,
    store_pb2,
    store_pb2_grpc,
    workflow_pb2,
)
from lightflow_cli.stack import LocalStack, StackOptions
from lightflow_scheduler.keys import Keys
from tests.conftest import EXAMPLES, assert_eventually, client_for, dump_logs, output_lines
from tests.e2e.test_cli import LFCTL, processes_with

WORKFLOWS = Path(__file__).parent / "workflows"
CALL_TIMEOUT = 10.0
KEYS = Keys()


# -- the shared stack and the health check after each case --------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    log_dir = tmp_path_factory.mktemp("bad-input-logs")
    local = LocalStack(StackOptions(log_dir=log_dir)).start()
    try:
        client_for(local).register(EXAMPLES / "sequential.py")
        yield local
    finally:
        local.stop()


def assert_healthy(stack: LocalStack) -> None:
    """Every process alive and SERVING, and a `sequential` run succeeds."""
    processes = [stack.store, *stack.schedulers, *stack.workers]
    for process in processes:
        assert process is not None
        assert process.alive(), f"{process.name} died\n{dump_logs(stack)}"
        channel = grpc.insecure_channel(process.address)
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=CALL_TIMEOUT
            )
        finally:
            channel.close()
        assert answer.status == health_pb2.HealthCheckResponse.SERVING, process.name
    client = client_for(stack)
    try:
        run = client.start("sequential")
        assert run.wait(timeout=60) == "succeeded", dump_logs(stack)
    finally:
        client.close()


# The case after which the shared stack stopped being healthy: the cases after it fail at
# once instead of each waiting for a stack that cannot answer.
_BROKEN_BY: list[str] = []


@pytest.fixture(autouse=True)
def _healthy_after_each_case(request: pytest.FixtureRequest) -> Iterator[None]:
    shared = "stack" in request.fixturenames
    if shared and _BROKEN_BY:
        pytest.fail(f"the shared stack is unhealthy since {_BROKEN_BY[0]}")
    yield
    if shared:
        try:
            assert_healthy(request.getfixturevalue("stack"))
        except BaseException:
            _BROKEN_BY.append(request.node.nodeid)
            raise


@pytest.fixture
def client(stack: LocalStack) -> Iterator[Client]:
    with client_for(stack) as value:
        yield value


def channel_to(address: str, stack: LocalStack) -> grpc.Channel:
    return open_channel(address, stack.options.token)


def scheduler_stub(stack: LocalStack) -> scheduler_pb2_grpc.SchedulerServiceStub:
    return scheduler_pb2_grpc.SchedulerServiceStub(channel_to(stack.scheduler_addresses[0], stack))


def signal_stub(stack: LocalStack) -> scheduler_pb2_grpc.SignalServiceStub:
    return scheduler_pb2_grpc.SignalServiceStub(channel_to(stack.scheduler_addresses[-1], stack))


def store_stub(stack: LocalStack) -> store_pb2_grpc.StoreServiceStub:
    assert stack.store is not None
    return store_pb2_grpc.StoreServiceStub(channel_to(stack.store.address, stack))


def rpc_error(call: Callable[[], Any]) -> grpc.RpcError:
    """The status a call ends with; fails the test when it succeeds."""

    def call_to_the_end() -> None:
        result = call()
        if isinstance(result, grpc.Call):  # a server stream fails while it is read
            list(result)

    with pytest.raises(grpc.RpcError) as caught:
        call_to_the_end()
    return caught.value


def run_to_end(client: Client, name: str, timeout: float = 60) -> tuple[str, list[RunEvent]]:
    client.register(WORKFLOWS / f"{name}.py")
    events = list(client.start(name).events(timeout=timeout))
    return events[-1].status, events


def task_failure(events: list[RunEvent], task: str) -> Any:
    ended = [e for e in events if e.type == "task_ended" and e.task_name == task]
    assert ended, f"task {task} never ended"
    assert ended[-1].status == "failed", ended[-1]
    assert ended[-1].failure is not None
    return ended[-1].failure


# -- malformed protobuf requests ------------------------------------------------------------


def _methods(module: Any, service: str) -> list[tuple[str, str, str]]:
    """(service, method, kind) of every method, read from the descriptor; kind is how the
    method streams: uu, us (server stream), su (client stream), ss."""
    descriptor = module.DESCRIPTOR.services_by_name[service]
    return [
        (
            descriptor.full_name,
            m.name,
            ("s" if m.client_streaming else "u") + ("s" if m.server_streaming else "u"),
        )
        for m in descriptor.methods
    ]


SCHEDULER_METHODS = [
    *_methods(scheduler_pb2, "SchedulerService"),
    *_methods(scheduler_pb2, "SignalService"),
    *_methods(scheduler_pb2, "WorkService"),
    ("grpc.health.v1.Health", "Check", "uu"),
]
STORE_METHODS = [*_methods(store_pb2, "StoreService"), *_methods(blob_pb2, "BlobService")]
GARBAGE = b"\xff\xff\xff\xff\x0f\x80garbage"


def raw_call(channel: grpc.Channel, method: str, kind: str, payload: bytes) -> Any:
    if kind == "uu":
        return channel.unary_unary(method)(payload, timeout=CALL_TIMEOUT)
    if kind == "us":
        return list(channel.unary_stream(method)(payload, timeout=CALL_TIMEOUT))
    if kind == "su":
        return channel.stream_unary(method)(iter([payload]), timeout=CALL_TIMEOUT)
    return list(channel.stream_stream(method)(iter([payload]), timeout=CALL_TIMEOUT))


@pytest.mark.parametrize(
    ("service", "method", "kind"),
    SCHEDULER_METHODS + STORE_METHODS,
    ids=[f"{s.rsplit('.', 1)[-1]}.{m}" for s, m, _ in SCHEDULER_METHODS + STORE_METHODS],
)
def test_garbage_bytes_are_refused_by_every_method(
    stack: LocalStack, service: str, method: str, kind: str
) -> None:
    assert stack.store is not None
    address = stack.store.address if "Store" in service or "Blob" in service else ""
    channel = channel_to(address or stack.scheduler_addresses[0], stack)
    err = rpc_error(lambda: raw_call(channel, f"/{service}/{method}", kind, GARBAGE))
    assert err.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.INTERNAL)
    assert "deserializ" in (err.details() or "").lower()
    assert "Traceback" not in (err.details() or "")


def test_garbage_bytes_to_a_workers_health_service_are_refused(stack: LocalStack) -> None:
    channel = grpc.insecure_channel(stack.workers[0].address)
    err = rpc_error(lambda: raw_call(channel, "/grpc.health.v1.Health/Check", "uu", GARBAGE))
    assert err.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.INTERNAL)
    assert "deserializ" in (err.details() or "").lower()


# -- unknown ids ----------------------------------------------------------------------------

UNKNOWN_RUN_CALLS: list[tuple[str, Callable[[LocalStack], Any]]] = [
    ("GetRun", lambda s: scheduler_stub(s).GetRun(scheduler_pb2.GetRunRequest(run_id="no-run"))),
    (
        "StopRun",
        lambda s: scheduler_stub(s).StopRun(scheduler_pb2.StopRunRequest(run_id="no-run")),
    ),
    (
        "WatchRun",
        lambda s: scheduler_stub(s).WatchRun(
            scheduler_pb2.WatchRunRequest(run_id="no-run"), timeout=CALL_TIMEOUT
        ),
    ),
    (
        "StartDag",
        lambda s: signal_stub(s).StartDag(
            scheduler_pb2.StartDagRequest(run_id="no-run", dag_name="main_dag")
        ),
    ),
    (
        "JoinDags",
        lambda s: signal_stub(s).JoinDags(
            scheduler_pb2.JoinDagsRequest(run_id="no-run", wait_ms=100)
        ),
    ),
    (
        "StopDag",
        lambda s: signal_stub(s).StopDag(
            scheduler_pb2.StopDagRequest(run_id="no-run", dag_instance="main_dag")
        ),
    ),
    (
        "IsStopped",
        lambda s: signal_stub(s).IsStopped(scheduler_pb2.IsStoppedRequest(run_id="no-run")),
    ),
]


@pytest.mark.parametrize(
    "call", [c for _, c in UNKNOWN_RUN_CALLS], ids=[n for n, _ in UNKNOWN_RUN_CALLS]
)
def test_an_unknown_run_id_is_not_found_everywhere(
    stack: LocalStack, call: Callable[[LocalStack], Any]
) -> None:
    err = rpc_error(lambda: call(stack))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert "run 'no-run' not found" in (err.details() or "")


def test_store_get_of_an_unknown_run_is_not_found(stack: LocalStack) -> None:
    err = rpc_error(
        lambda: store_stub(stack).Get(
            store_pb2.GetRequest(run_id="no-run", key="a"), timeout=CALL_TIMEOUT
        )
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert "run 'no-run' has no store document" in (err.details() or "")


def test_an_empty_run_id_or_workflow_name_is_invalid(stack: LocalStack) -> None:
    err = rpc_error(
        lambda: store_stub(stack).Get(store_pb2.GetRequest(run_id="", key="a"), timeout=10)
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "run id is empty" in (err.details() or "")
    err = rpc_error(
        lambda: scheduler_stub(stack).StartRun(scheduler_pb2.StartRunRequest(), timeout=10)
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "workflow_name is empty" in (err.details() or "")


@pytest.fixture
def live_run(client: Client) -> Iterator[str]:
    """A run that stays running for a few seconds (its first task sleeps)."""
    client.register(WORKFLOWS / "bad_start_dag_data.py")
    run = client.start("bad_start_dag_data")
    yield run.id
    run.wait(timeout=60)


def test_unknown_dag_instances_of_a_live_run_are_not_found(
    stack: LocalStack, live_run: str
) -> None:
    signals = signal_stub(stack)
    err = rpc_error(
        lambda: signals.JoinDags(
            scheduler_pb2.JoinDagsRequest(run_id=live_run, dag_instances=["ghost:7"], wait_ms=100),
            timeout=CALL_TIMEOUT,
        )
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert "ghost:7" in (err.details() or "")
    err = rpc_error(
        lambda: signals.StopDag(
            scheduler_pb2.StopDagRequest(run_id=live_run, dag_instance="ghost:7"),
            timeout=CALL_TIMEOUT,
        )
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert "DAG instance 'ghost:7' not found" in (err.details() or "")


def test_start_dag_rpc_of_an_unknown_dag_names_the_dags_there_are(
    stack: LocalStack, live_run: str
) -> None:
    err = rpc_error(
        lambda: signal_stub(stack).StartDag(
            scheduler_pb2.StartDagRequest(run_id=live_run, dag_name="ghost_dag"),
            timeout=CALL_TIMEOUT,
        )
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND
    details = err.details() or ""
    assert "no DAG named 'ghost_dag'" in details
    assert "main_dag" in details
    assert "sub_dag" in details


def test_is_stopped_of_an_unknown_dag_instance_is_not_found(
    stack: LocalStack, live_run: str
) -> None:
    err = rpc_error(
        lambda: signal_stub(stack).IsStopped(
            scheduler_pb2.IsStoppedRequest(run_id=live_run, dag_instance="ghost:7"),
            timeout=CALL_TIMEOUT,
        )
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert "ghost:7" in (err.details() or "")


def test_watch_run_with_a_malformed_event_id_is_invalid(stack: LocalStack, live_run: str) -> None:
    err = rpc_error(
        lambda: scheduler_stub(stack).WatchRun(
            scheduler_pb2.WatchRunRequest(run_id=live_run, after_event_id="not-an-id"),
            timeout=CALL_TIMEOUT,
        )
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "after_event_id" in (err.details() or "")


def test_watch_run_after_the_final_event_of_an_ended_run_ends_at_once(
    stack: LocalStack, client: Client
) -> None:
    run = client.start("sequential")
    events = list(run.events(timeout=60))
    assert events[-1].type == "run_ended"
    answer = scheduler_stub(stack).WatchRun(
        scheduler_pb2.WatchRunRequest(run_id=run.id, after_event_id=events[-1].id), timeout=5
    )
    assert list(answer) == []


def test_a_watch_run_that_starts_its_run_takes_no_run_id(stack: LocalStack, client: Client) -> None:
    before = len(client.list_runs())
    start = scheduler_pb2.StartRunRequest(workflow_name="sequential", request_id="r1")
    for request in (
        scheduler_pb2.WatchRunRequest(run_id="some-run", start=start),
        scheduler_pb2.WatchRunRequest(after_event_id="1-0", start=start),
    ):
        err = rpc_error(lambda r=request: scheduler_stub(stack).WatchRun(r, timeout=CALL_TIMEOUT))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "takes no run_id or after_event_id" in (err.details() or "")
    err = rpc_error(
        lambda: scheduler_stub(stack).WatchRun(
            scheduler_pb2.WatchRunRequest(start=scheduler_pb2.StartRunRequest()),
            timeout=CALL_TIMEOUT,
        )
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "workflow_name is empty" in (err.details() or "")
    assert len(client.list_runs()) == before  # nothing started


def test_blobs_unknown_or_outside_the_run_folder_are_refused(stack: LocalStack) -> None:
    assert stack.store is not None
    blobs = blob_pb2_grpc.BlobServiceStub(channel_to(stack.store.address, stack))
    err = rpc_error(
        lambda: blobs.GetBlob(
            blob_pb2.GetBlobRequest(run_id="no-run", blob_id="0" * 32), timeout=CALL_TIMEOUT
        )
    )
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert "no blob" in (err.details() or "")
    assert "no-run" in (err.details() or "")
    err = rpc_error(
        lambda: blobs.GetBlob(
            blob_pb2.GetBlobRequest(run_id="../..", blob_id="x"), timeout=CALL_TIMEOUT
        )
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "invalid run id '../..'" in (err.details() or "")
    err = rpc_error(
        lambda: blobs.PutBlob(iter([blob_pb2.PutBlobRequest(chunk=b"x")]), timeout=CALL_TIMEOUT)
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "must name the run" in (err.details() or "")


# -- malformed workflows --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad_cycle", "has a cycle: 'first_task' -> 'second_task' -> 'third_task'"),
        ("bad_empty_dag", "DAG 'empty_dag' has no task"),
        ("bad_no_dag", "defines no DAG"),
        ("bad_duplicate_tasks", "two different tasks named 'twin_task'"),
        ("bad_import", "failed to import: RuntimeError: the sensor configuration is missing"),
    ],
)
def test_workflow_files_the_sdk_refuses_name_the_file_and_the_fault(
    client: Client, name: str, message: str
) -> None:
    with pytest.raises(WorkflowDefinitionError) as caught:
        client.register(WORKFLOWS / f"{name}.py")
    assert message in str(caught.value)
    assert f"{name}.py" in str(caught.value)
    assert name not in [w.name for w in client.list_workflows()]


def test_a_workflow_file_with_a_syntax_error_names_the_file_and_line(
    client: Client, tmp_path: Path
) -> None:
    broken = tmp_path / "bad_syntax.py"
    broken.write_text("from lightflow.models import Dag\n\nd = Dag('main_dag'\n")
    with pytest.raises(WorkflowDefinitionError) as caught:
        client.register(broken)
    message = str(caught.value)
    assert str(broken) in message
    assert "syntax error" in message
    assert "line 3" in message


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad_task_name", "invalid task name 'load/convert'"),
        ("bad_dag_name", "invalid DAG name 'main:dag'"),
    ],
)
def test_reserved_characters_in_names_are_refused_by_the_scheduler(
    client: Client, name: str, message: str
) -> None:
    with pytest.raises(ClientError) as caught:
        client.register(WORKFLOWS / f"{name}.py")
    assert caught.value.code == "INVALID_ARGUMENT"
    assert message in str(caught.value)
    assert f"workflow '{name}'" in str(caught.value)


def _dag(name: str, tasks: list[str], edges: list[tuple[str, str]]) -> workflow_pb2.DagDefinition:
    return workflow_pb2.DagDefinition(
        name=name,
        autostart=True,
        tasks=[workflow_pb2.TaskDefinition(name=t, queue="task") for t in tasks],
        edges=[workflow_pb2.Edge(parent=p, child=c) for p, c in edges],
    )


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (
            workflow_pb2.WorkflowDefinition(name="raw_loop", dags=[_dag("m", ["a"], [("a", "a")])]),
            "task 'a' depends on itself",
        ),
        (
            workflow_pb2.WorkflowDefinition(
                name="raw_twice", dags=[_dag("m", ["a", "b"], [("a", "b"), ("a", "b")])]
            ),
            "edge 'a' -> 'b' is defined twice",
        ),
        (
            workflow_pb2.WorkflowDefinition(
                name="raw_dags", dags=[_dag("m", ["a"], []), _dag("m", ["b"], [])]
            ),
            "workflow 'raw_dags' has two DAGs named 'm'",
        ),
        (workflow_pb2.WorkflowDefinition(dags=[_dag("m", ["a"], [])]), "the workflow has no name"),
        (
            workflow_pb2.WorkflowDefinition(name="raw_empty_task", dags=[_dag("m", [""], [])]),
            "invalid task name ''",
        ),
        (
            workflow_pb2.WorkflowDefinition(name="raw_pipe", dags=[_dag("a|b", ["t"], [])]),
            "invalid DAG name 'a|b'",
        ),
    ],
    ids=["self-loop", "edge-twice", "two-dags", "no-name", "empty-task-name", "pipe-in-dag"],
)
def test_raw_definitions_the_scheduler_refuses(
    stack: LocalStack, definition: workflow_pb2.WorkflowDefinition, message: str
) -> None:
    err = rpc_error(
        lambda: scheduler_stub(stack).RegisterWorkflow(
            scheduler_pb2.RegisterWorkflowRequest(definition=definition), timeout=CALL_TIMEOUT
        )
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (err.details() or "")


def test_a_raw_definition_with_an_unknown_option_type_is_refused_at_registration(
    stack: LocalStack,
) -> None:
    definition = workflow_pb2.WorkflowDefinition(
        name="raw_option",
        dags=[_dag("m", ["a"], [])],
        options=[workflow_pb2.OptionDefinition(name="n", type="complex")],
    )
    err = rpc_error(
        lambda: scheduler_stub(stack).RegisterWorkflow(
            scheduler_pb2.RegisterWorkflowRequest(definition=definition), timeout=CALL_TIMEOUT
        )
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "option 'n' has the unknown type 'complex'" in (err.details() or "")


def test_task_code_that_does_not_unpickle_fails_the_task_not_the_worker(
    stack: LocalStack, client: Client
) -> None:
    definition = workflow_pb2.WorkflowDefinition(
        name="raw_junk_code",
        dags=[
            workflow_pb2.DagDefinition(
                name="main_dag",
                autostart=True,
                tasks=[
                    workflow_pb2.TaskDefinition(
                        name="junk_task",
                        queue="task",
                        code=common_pb2.Payload(encoding="python/cloudpickle", data=b"junk"),
                    )
                ],
            )
        ],
    )
    scheduler_stub(stack).RegisterWorkflow(
        scheduler_pb2.RegisterWorkflowRequest(definition=definition), timeout=CALL_TIMEOUT
    )
    events = list(client.start("raw_junk_code").events(timeout=60))
    assert events[-1].status == "failed"
    failure = task_failure(events, "junk_task")
    assert failure.type == "TaskDecodeError"
    assert "cannot unpickle the task" in failure.message


# -- run arguments --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"name": "Ada", "count": "x"}, "option 'count' expects int, got 'x'"),
        ({"name": "Ada", "loud": "maybe"}, "option 'loud' expects bool, got 'maybe'"),
        ({"count": "3"}, "required option 'name' not given"),
        ({"name": "Ada", "colour": "red"}, "unknown argument 'colour'"),
    ],
)
@pytest.mark.parametrize("start", ["start", "start_and_wait"])
def test_wrong_run_arguments_are_refused_naming_the_option(
    client: Client, args: dict[str, str], message: str, start: str
) -> None:
    client.register(EXAMPLES / "parameters.py")
    before = len(client.list_runs())
    with pytest.raises(ClientError) as caught:
        getattr(client, start)("parameters", args=args)
    assert caught.value.code == "INVALID_ARGUMENT"
    assert message in str(caught.value)
    assert "workflow 'parameters'" in str(caught.value)
    assert len(client.list_runs()) == before  # nothing started


def test_a_start_run_with_ten_thousand_arguments_gets_a_clear_refusal(client: Client) -> None:
    client.register(EXAMPLES / "parameters.py")
    args = {f"argument_{i}": "value" for i in range(10_000)}
    args["name"] = "Ada"
    with pytest.raises(ClientError) as caught:
        client.start("parameters", args=args)
    assert caught.value.code == "INVALID_ARGUMENT"
    assert "unknown arguments 'argument_" in str(caught.value)
    assert len(str(caught.value)) < 16 * 1024  # within gRPC's limit for a status message


# -- oversize and malformed store requests --------------------------------------------------


@pytest.fixture
def document(stack: LocalStack) -> Iterator[str]:
    run_id = f"bad-input-{uuid.uuid4().hex}"
    stub = store_stub(stack)
    stub.CreateDocument(store_pb2.CreateDocumentRequest(run_id=run_id), timeout=CALL_TIMEOUT)
    yield run_id
    stub.DeleteDocument(store_pb2.DeleteDocumentRequest(run_id=run_id), timeout=60)


def _set(stack: LocalStack, run_id: str, key: str, data: bytes = b"x") -> Any:
    request = store_pb2.SetRequest(
        run_id=run_id,
        key=key,
        value=common_pb2.Payload(encoding="application/octet-stream", data=data),
    )
    return store_stub(stack).Set(request, timeout=60)


def test_a_100_mib_store_value_is_kept_and_read_back(stack: LocalStack, document: str) -> None:
    big = b"\x01" * (100 * 1024 * 1024)
    # In one message it is more than the store takes (65 MiB), refused from its length.
    err = rpc_error(lambda: _set(stack, document, "big", big))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # The SDK sends such a value ahead on the blob stream (lightflow/uploaded).
    with StoreClient(stack.store.address, stack.options.token) as store:
        store.set(document, "big", big)
        assert store.get(document, "big") == big


def test_a_long_invalid_store_key_is_refused_with_a_readable_message(
    stack: LocalStack, document: str
) -> None:
    err = rpc_error(lambda: _set(stack, document, "$" + "k" * 100_000))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "invalid key '$k" in (err.details() or "")
    assert len(err.details() or "") < 16 * 1024


def test_a_deeply_nested_store_key_is_refused(stack: LocalStack, document: str) -> None:
    err = rpc_error(lambda: _set(stack, document, ".".join(["k"] * 5000)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "key" in (err.details() or "")
    assert len(err.details() or "") < 2000


def test_a_huge_store_key_is_refused(stack: LocalStack, document: str) -> None:
    err = rpc_error(lambda: _set(stack, document, "k" * (20 * 1024 * 1024)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "key" in (err.details() or "")
    assert len(err.details() or "") < 2000


def test_an_invalid_store_key_from_a_task_fails_the_task_naming_the_key(client: Client) -> None:
    status, events = run_to_end(client, "bad_store_key")
    assert status == "failed"
    failure = task_failure(events, "bad_key_task")
    assert "invalid key 'sensor..reading'" in failure.message
    assert "empty segment" in failure.message


# -- bad task code --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "task", "kind", "message"),
    [
        ("bad_unpicklable", "lock_task", "TaskDataError", "cannot pickle '_thread.lock' object"),
        ("bad_generator", "generator_task", "TaskDataError", "cannot pickle 'generator' object"),
        (
            "bad_signature",
            "two_args_task",
            "TypeError",
            "two_args() takes 2 positional arguments but 4 were given",
        ),
        ("bad_return", "wrong_return_task", "", "'wrong_return_task' returned"),
    ],
)
def test_a_broken_task_fails_its_run_with_a_clear_message(
    client: Client, name: str, task: str, kind: str, message: str
) -> None:
    status, events = run_to_end(client, name)
    assert status == "failed"
    failure = task_failure(events, task)
    if kind:
        assert failure.type == kind
    assert message in failure.message
    assert events[-1].failure is not None
    assert message in events[-1].failure.message
    assert ("main_dag/never_task", "this must not run") not in output_lines(events)


def test_a_task_that_kills_its_process_fails_naming_task_and_exit_code(
    stack: LocalStack, client: Client
) -> None:
    workers = [w.pid for w in stack.workers]
    status, events = run_to_end(client, "bad_exit")
    assert status == "failed"
    failure = task_failure(events, "exit_task")
    assert failure.type == "TaskProcessDied"
    assert "task 'exit_task'" in failure.message
    assert "code 3" in failure.message
    assert ("main_dag/exit_task", "about to exit") in output_lines(events)
    assert ("main_dag/never_task", "this must not run") not in output_lines(events)
    # The same worker serves the next run (checked by the health check after this case).
    assert [w.pid for w in stack.workers] == workers
    assert all(w.alive() for w in stack.workers)


def test_a_task_printing_five_megabytes_is_cut_to_its_rate_and_says_so(client: Client) -> None:
    status, events = run_to_end(client, "bad_chatty", timeout=150)
    assert status == "succeeded"
    lines = [text for where, text in output_lines(events) if where == "main_dag/chatty_task"]
    # Its first lines (a burst of two seconds' worth at 1,000 lines a second), a marker with
    # the count of the lines dropped, and the last lines it printed.
    assert lines[0].startswith("00000000 x")
    [marker] = [line for line in lines if line.startswith("[lightflow: ")]
    dropped = int(marker.split()[1].replace(",", ""))
    assert "dropped" in marker
    # The lines dropped after the last one let through (at most 20) come after the marker.
    assert re.search(r"its last \d+ lines follow", marker)
    assert len(lines) - 1 + dropped == 50_001
    assert lines[-2].startswith("00049999 x")
    assert lines[-1] == "chatty done"
    assert ("main_dag/after_task", "after ran") in output_lines(events)


def test_a_task_that_never_returns_is_killed_by_its_timeout(client: Client) -> None:
    status, events = run_to_end(client, "bad_timeout", timeout=60)
    assert status == "failed"
    failure = task_failure(events, "forever_task")
    assert failure.type == "TaskTimeout"
    assert "forever_task" in failure.message
    assert ("main_dag/never_task", "this must not run") not in output_lines(events)


def test_a_stopped_run_whose_task_never_returns_ends_stopped(
    start_stack: Callable[..., LocalStack],
) -> None:
    # Its own stack, with a short stop grace: past it the worker ends the task.
    own = start_stack(concurrency=2, stop_grace_s=1.0, lease_timeout_s=3.0)
    client = client_for(own)
    try:
        client.register(EXAMPLES / "sequential.py")
        client.register(WORKFLOWS / "bad_forever.py")
        run = client.start("bad_forever")
        assert_eventually(
            lambda: {t.name: t.status for t in run.info().tasks}["forever_task"] == "running"
        )
        assert run.stop() in ("stopping", "stopped")
        # What a person sees meanwhile: the run stopping, its task visibly still running.
        info = run.info()
        assert info.status in ("stopping", "stopped")
        assert run.wait(timeout=10) == "stopped"
        tasks = {t.name: t.status for t in run.info().tasks}
        assert tasks["never_task"] == "cancelled"
        assert_healthy(own)
    finally:
        client.close()
        for worker in own.workers:  # the task process dies with its worker
            worker.kill()


def test_start_dag_with_undecodable_data_fails_with_a_clear_message(
    stack: LocalStack, client: Client, live_run: str
) -> None:
    instance = (
        signal_stub(stack)
        .StartDag(
            scheduler_pb2.StartDagRequest(
                run_id=live_run,
                dag_name="sub_dag",
                data=common_pb2.Payload(encoding="python/cloudpickle-frames", data=b"\xff\0junk"),
            ),
            timeout=CALL_TIMEOUT,
        )
        .dag_instance
    )
    assert instance == "sub_dag:1"
    events = list(client.run(live_run).events(timeout=60))
    failure = task_failure(events, "consume_task")
    assert failure.type == "TaskDataError"
    assert "task data (python/cloudpickle-frames, 6 bytes) cannot be decoded" in failure.message


# -- the token on every service -------------------------------------------------------------

TOKEN_CALLS: list[tuple[str, Callable[[LocalStack, str | None], Any]]] = [
    (
        "SignalService.IsStopped",
        lambda s, token: scheduler_pb2_grpc.SignalServiceStub(
            open_channel(s.scheduler_addresses[0], token)
        ).IsStopped(scheduler_pb2.IsStoppedRequest(run_id="x"), timeout=CALL_TIMEOUT),
    ),
    (
        "SchedulerService.WatchRun",
        lambda s, token: scheduler_pb2_grpc.SchedulerServiceStub(
            open_channel(s.scheduler_addresses[0], token)
        ).WatchRun(scheduler_pb2.WatchRunRequest(run_id="x"), timeout=CALL_TIMEOUT),
    ),
    (
        "WorkService.Work",
        lambda s, token: scheduler_pb2_grpc.WorkServiceStub(
            open_channel(s.scheduler_addresses[0], token)
        ).Work(
            iter([scheduler_pb2.WorkRequest(hello=_hello("intruder", ["task"]))]),
            timeout=CALL_TIMEOUT,
        ),
    ),
    (
        "StoreService.Get",
        lambda s, token: store_pb2_grpc.StoreServiceStub(open_channel(s.store.address, token)).Get(
            store_pb2.GetRequest(run_id="x", key="a"), timeout=CALL_TIMEOUT
        ),
    ),
    (
        "BlobService.GetBlob",
        lambda s, token: blob_pb2_grpc.BlobServiceStub(
            open_channel(s.store.address, token)
        ).GetBlob(blob_pb2.GetBlobRequest(run_id="x", blob_id="y"), timeout=CALL_TIMEOUT),
    ),
]


@pytest.mark.parametrize("token", [None, "wrong-token"], ids=["no-token", "wrong-token"])
@pytest.mark.parametrize("call", [c for _, c in TOKEN_CALLS], ids=[n for n, _ in TOKEN_CALLS])
def test_every_service_refuses_a_missing_or_wrong_token(
    stack: LocalStack, call: Callable[[LocalStack, str | None], Any], token: str | None
) -> None:
    err = rpc_error(lambda: call(stack, token))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "token" in (err.details() or "")


# -- raw work streams -----------------------------------------------------------------------


def _hello(worker_id: str, queues: list[str]) -> scheduler_pb2.WorkerHello:
    return scheduler_pb2.WorkerHello(worker_id=worker_id, queues=queues, concurrency=1)


@pytest.mark.parametrize(
    ("first", "message"),
    [
        (scheduler_pb2.WorkRequest(hello=_hello("raw-worker", [])), "needs a worker_id and queues"),
        (scheduler_pb2.WorkRequest(hello=_hello("", ["task"])), "needs a worker_id and queues"),
        (scheduler_pb2.WorkRequest(credit=3), "a work stream starts with hello"),
        (None, "a work stream starts with hello"),
    ],
    ids=["no-queues", "no-worker-id", "credit-first", "empty-stream"],
)
def test_a_work_stream_that_does_not_start_with_a_valid_hello_is_refused(
    stack: LocalStack, first: scheduler_pb2.WorkRequest | None, message: str
) -> None:
    work = scheduler_pb2_grpc.WorkServiceStub(channel_to(stack.scheduler_addresses[0], stack))
    err = rpc_error(lambda: work.Work(iter([first] if first else []), timeout=CALL_TIMEOUT))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (err.details() or "")


class RawWorker:
    """A hand-driven work stream: a hello, then whatever the test sends. It never grants
    credit, so no task is ever leased to it."""

    def __init__(self, stack: LocalStack, queues: list[str]) -> None:
        self.worker_id = f"raw-{uuid.uuid4().hex[:8]}"
        self._outbox: queue.Queue[scheduler_pb2.WorkRequest | None] = queue.Queue()
        self._outbox.put(scheduler_pb2.WorkRequest(hello=_hello(self.worker_id, queues)))
        work = scheduler_pb2_grpc.WorkServiceStub(channel_to(stack.scheduler_addresses[0], stack))
        self.call = work.Work(self._requests(), timeout=60)
        welcome = next(self.call)
        assert welcome.WhichOneof("kind") == "welcome"

    def _requests(self) -> Iterator[scheduler_pb2.WorkRequest]:
        while (item := self._outbox.get()) is not None:
            yield item

    def send(self, **kind: Any) -> None:
        self._outbox.put(scheduler_pb2.WorkRequest(**kind))

    def next(self) -> Any:
        """The next response, or how the stream ended: ("ended", code, details)."""
        try:
            return next(self.call)
        except StopIteration:
            return ("ended", grpc.StatusCode.OK, "")
        except grpc.RpcError as err:
            return ("ended", err.code(), err.details())

    def close(self) -> None:
        self._outbox.put(None)
        self.call.cancel()


@pytest.fixture
def raw_worker(stack: LocalStack) -> Iterator[Callable[[list[str]], RawWorker]]:
    opened: list[RawWorker] = []

    def open_one(queues: list[str]) -> RawWorker:
        opened.append(RawWorker(stack, queues))
        return opened[-1]

    yield open_one
    for worker in opened:
        worker.close()


@pytest.fixture
def redis_client(stack: LocalStack) -> Iterator[redis.Redis]:
    client = stack.redis_client()
    yield client
    client.close()


def _ghost_result(entry_id: str = "0-1", **fields: Any) -> scheduler_pb2.TaskResult:
    values: dict[str, Any] = {
        "lease": scheduler_pb2.LeaseRef(queue="raw_queue", entry_id=entry_id),
        "run_id": "ghost-run",
        "dag_instance": "main_dag",
        "task_name": "ghost_task",
        "attempt": 1,
        "status": common_pb2.TASK_STATUS_SUCCEEDED,
    }
    values.update(fields)
    return scheduler_pb2.TaskResult(**values)


def test_a_result_for_an_unknown_run_is_acknowledged_and_changes_nothing(
    raw_worker: Callable[[list[str]], RawWorker], redis_client: redis.Redis
) -> None:
    worker = raw_worker(["raw_queue"])
    worker.send(result=_ghost_result())
    answer = worker.next()
    assert not isinstance(answer, tuple), answer
    assert [ref.entry_id for ref in answer.recorded] == ["0-1"]
    assert redis_client.keys(KEYS.run("ghost-run") + "*") == []


def test_output_for_an_unknown_run_leaves_nothing_behind(
    raw_worker: Callable[[list[str]], RawWorker], redis_client: redis.Redis
) -> None:
    worker = raw_worker(["raw_queue"])
    worker.send(output=scheduler_pb2.TaskOutput(run_id="ghost-output", text="boo"))
    worker.send(result=_ghost_result())  # answered after the output was handled
    assert not isinstance(worker.next(), tuple)
    assert redis_client.keys(KEYS.run("ghost-output") + "*") == []


def test_a_forged_result_naming_a_queued_entry_loses_nothing(
    stack: LocalStack,
    client: Client,
    raw_worker: Callable[[list[str]], RawWorker],
    redis_client: redis.Redis,
    tmp_path: Path,
) -> None:
    queue_name = f"orphan_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "orphan.py").write_text(
        "from lightflow.models import Dag\n"
        "from lightflow.tasks import PythonTask\n\n\n"
        "def hello(data, store, signal, context):\n"
        "    print('orphan ran')\n\n\n"
        "d = Dag('main_dag')\n"
        f"orphan_task = PythonTask(name='orphan_task', callback=hello, queue={queue_name!r})\n"
        "d.define({orphan_task: None})\n"
    )
    client.register(folder / "orphan.py")
    run = client.start("orphan")
    entries = assert_eventually(lambda: redis_client.xrange(KEYS.queue(queue_name)))
    entry_id = entries[0][0].decode()
    worker = raw_worker(["raw_queue"])
    worker.send(
        result=_ghost_result(
            entry_id, lease=scheduler_pb2.LeaseRef(queue=queue_name, entry_id=entry_id)
        )
    )
    assert not isinstance(worker.next(), tuple)
    stack.start_worker(queues=(queue_name,), concurrency=1)
    assert run.wait(timeout=10) == "succeeded"


def test_a_result_with_a_wrong_attempt_keeps_the_running_tasks_lease(
    stack: LocalStack,
    client: Client,
    raw_worker: Callable[[list[str]], RawWorker],
    redis_client: redis.Redis,
) -> None:
    client.register(WORKFLOWS / "slow_chain.py")
    run = client.start("slow_chain")
    assert_eventually(
        lambda: {t.name: t.status for t in run.info().tasks}["slow_task"] == "running"
    )
    # The entry the task was handed out from: its lease, pending in the consumer group.
    entry_id = redis_client.hget(KEYS.run_tasks(run.id), "main_dag/slow_task|e").decode()
    worker = raw_worker(["raw_queue"])
    worker.send(
        result=scheduler_pb2.TaskResult(
            lease=scheduler_pb2.LeaseRef(queue="task", entry_id=entry_id),
            run_id=run.id,
            dag_instance="main_dag",
            task_name="slow_task",
            attempt=7,
            status=common_pb2.TASK_STATUS_FAILED,
            failure=common_pb2.Failure(type="Forged", message="forged"),
        )
    )
    assert not isinstance(worker.next(), tuple)
    still_pending = redis_client.xpending_range(
        KEYS.queue("task"), "workers", entry_id, entry_id, 1
    )
    try:
        assert [p["message_id"].decode() for p in still_pending] == [entry_id]
    finally:
        assert run.wait(timeout=30) == "succeeded"  # the forged failure changed no status


@pytest.mark.parametrize(
    "bad",
    [
        {"heartbeat": scheduler_pb2.Heartbeat(leases=[scheduler_pb2.LeaseRef(queue="nope")])},
        {"result": _ghost_result("not-an-entry-id")},
        {"result": _ghost_result(status=common_pb2.TASK_STATUS_UNSPECIFIED)},
    ],
    ids=["heartbeat-unknown-queue", "malformed-entry-id", "result-without-status"],
)
def test_a_bad_message_on_a_work_stream_is_refused_or_ignored_never_silent(
    raw_worker: Callable[[list[str]], RawWorker], bad: dict[str, Any]
) -> None:
    worker = raw_worker(["raw_queue"])
    worker.send(**bad)
    worker.send(result=_ghost_result("0-2"))
    answer = worker.next()
    if isinstance(answer, tuple):  # the stream ended: then with a status that says why
        _, code, details = answer
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (code, details)
        assert details
    else:  # or the bad message was ignored and the stream goes on
        assert [ref.entry_id for ref in answer.recorded] == ["0-2"]


# -- lfctl ----------------------------------------------------------------------------------


def lfctl(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    marker = f"lightflow-test-{uuid.uuid4().hex}"
    env = {**os.environ, "LIGHTFLOW_TEST_MARKER": marker}
    env.pop("LIGHTFLOW_ADDRESS", None)
    env.pop("LIGHTFLOW_CONFIG", None)
    try:
        return subprocess.run(
            [*LFCTL, *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=120,
            check=False,
        )
    finally:
        assert_eventually(lambda: processes_with(marker) == [], timeout=20)


def test_lfctl_run_with_an_argument_of_the_wrong_type_names_the_option() -> None:
    result = lfctl("run", str(EXAMPLES / "parameters.py"), "name=Ada", "count=x")
    assert result.returncode == 1
    assert "option 'count' expects int, got 'x'" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_lfctl_run_with_an_argument_that_is_not_key_value_names_it() -> None:
    result = lfctl("run", str(EXAMPLES / "parameters.py"), "name=Ada", "noequals")
    assert result.returncode == 2
    assert "'noequals' is not KEY=VALUE" in result.stderr
    assert "Traceback" not in result.stderr


def test_lfctl_run_of_a_file_with_a_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "bad_syntax.py"
    broken.write_text("from lightflow.models import Dag\n\nd = Dag('main_dag'\n")
    result = lfctl("run", str(broken))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert str(broken) in result.stderr
    assert "line 3" in result.stderr


def test_lfctl_run_of_a_file_whose_import_raises_names_the_error() -> None:
    result = lfctl("run", str(WORKFLOWS / "bad_import.py"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "bad_import.py" in result.stderr
    assert "RuntimeError: the sensor configuration is missing" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('workflows = ["./x"\n[stack\n', "line 2"),
        ('workflows = ["./examples"]\n[stack]\nschedulers = "many"\n', "schedulers"),
    ],
    ids=["broken-toml", "wrong-type"],
)
def test_lfctl_with_an_invalid_config_file_says_so_in_one_line(
    tmp_path: Path, content: str, message: str
) -> None:
    config = tmp_path / "bad.cfg"
    config.write_text(content)
    result = lfctl("-c", str(config), "workflow", "list", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "bad.cfg" in lines[0]
    assert message in lines[0]
