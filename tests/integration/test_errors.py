"""Bad input gets a clear message, and nothing is lost or wedged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from lightflow._client import ClientError
from lightflow._grpc import open_channel
from lightflow.v1 import scheduler_pb2, scheduler_pb2_grpc, workflow_pb2
from lightflow_cli.stack import LocalStack
from tests.conftest import client_for, dump_logs, output_lines, run_example

WORKFLOWS = Path(__file__).parent / "workflows"


@pytest.fixture
def stack(start_stack: Callable[..., LocalStack]) -> LocalStack:
    return start_stack()


def _stub(stack: LocalStack, token: str | None = "") -> scheduler_pb2_grpc.SchedulerServiceStub:
    channel = open_channel(
        stack.scheduler_addresses[0], stack.options.token if token == "" else token
    )
    return scheduler_pb2_grpc.SchedulerServiceStub(channel)


def test_a_failing_task_fails_the_run_and_its_successor_never_runs(stack: LocalStack) -> None:
    client = client_for(stack)
    status, events = run_example(client, "failing", WORKFLOWS)
    assert status == "failed", dump_logs(stack)
    assert ("main_dag/never_task", "this must not run") not in output_lines(events)
    failure = events[-1].failure
    assert failure is not None
    assert failure.type == "ValueError"
    assert failure.message == "the sensor returned no data"
    assert "explode" in failure.stack_trace
    info = client.get_run(client.list_runs()[0].id)
    assert info.status == "failed"
    assert info.dags == {"main_dag": "failed"}


def test_an_unknown_dag_in_start_dag_is_an_error_in_the_task(stack: LocalStack) -> None:
    status, events = run_example(client_for(stack), "unknown_sub_dag", WORKFLOWS)
    assert status == "failed"
    failure = events[-1].failure
    assert failure is not None
    assert "no DAG named 'no_such_dag'" in failure.message
    assert "main_dag" in failure.message


def test_an_unknown_workflow_is_not_found(stack: LocalStack) -> None:
    client = client_for(stack)
    client.register(WORKFLOWS / "failing.py")
    with pytest.raises(ClientError, match="workflow 'nope' is not registered") as caught:
        client.start("nope")
    assert caught.value.code == "NOT_FOUND"
    assert "failing" in str(caught.value)


def test_an_unknown_run_is_not_found(stack: LocalStack) -> None:
    with pytest.raises(ClientError, match="run 'no-such-run' not found"):
        client_for(stack).get_run("no-such-run")


def _definition(edges: list[tuple[str, str]], tasks: list[str]) -> workflow_pb2.WorkflowDefinition:
    dag = workflow_pb2.DagDefinition(name="main_dag", autostart=True)
    for name in tasks:
        dag.tasks.append(workflow_pb2.TaskDefinition(name=name, queue="task"))
    for parent, child in edges:
        dag.edges.append(workflow_pb2.Edge(parent=parent, child=child))
    return workflow_pb2.WorkflowDefinition(name="broken", dags=[dag])


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (_definition([("a", "b"), ("b", "a")], ["a", "b"]), "has a cycle: a -> b -> a"),
        (_definition([("a", "ghost")], ["a"]), "edge uses unknown task 'ghost'"),
        (_definition([], []), "DAG 'main_dag' has no task"),
        (_definition([], ["a", "a"]), "has two tasks named 'a'"),
        (workflow_pb2.WorkflowDefinition(name="broken"), "workflow 'broken' defines no DAG"),
    ],
)
def test_malformed_definitions_are_refused_by_the_scheduler(
    stack: LocalStack, definition: workflow_pb2.WorkflowDefinition, message: str
) -> None:
    stub = _stub(stack)
    with pytest.raises(grpc.RpcError) as caught:
        stub.RegisterWorkflow(
            scheduler_pb2.RegisterWorkflowRequest(definition=definition), timeout=10
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (caught.value.details() or "")
    # Nothing was registered, and the scheduler still serves.
    listed = stub.ListWorkflows(scheduler_pb2.ListWorkflowsRequest(), timeout=10)
    assert "broken" not in [w.name for w in listed.workflows]


def test_calls_without_the_token_are_refused(stack: LocalStack) -> None:
    stub = _stub(stack, token=None)
    with pytest.raises(grpc.RpcError) as caught:
        stub.ListWorkflows(scheduler_pb2.ListWorkflowsRequest(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    wrong = _stub(stack, token="wrong")
    with pytest.raises(grpc.RpcError) as caught:
        wrong.ListWorkflows(scheduler_pb2.ListWorkflowsRequest(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_stopping_a_run_ends_it_stopped(stack: LocalStack) -> None:
    client = client_for(stack)
    client.register(WORKFLOWS / "slow_chain.py")
    run = client.start("slow_chain")
    assert run.stop() in ("stopping", "stopped")
    assert run.wait(timeout=30) == "stopped"
    statuses = {t.name: t.status for t in client.get_run(run.id).tasks}
    assert statuses["after_task"] == "cancelled"
