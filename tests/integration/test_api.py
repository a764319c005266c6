"""The original Lightflow's workflow API on the engine: flow control, stops, aborts,
callbacks, queues, task data and the store's meta section (the examples/ that show them)."""

from __future__ import annotations

from collections.abc import Callable

from lightflow import Client, RunEvent, RunInfo
from lightflow._store import StoreClient
from lightflow.testing import LocalLightflow
from lightflow_cli.stack import LocalStack
from tests.conftest import (
    EXAMPLES,
    assert_eventually,
    client_for,
    dump_logs,
    output_lines,
    run_example,
)


def stack_examples(name: str) -> str:
    return str(EXAMPLES / f"{name}.py")


def _run(stack: LocalStack, name: str) -> tuple[str, list[RunEvent], RunInfo]:
    client = client_for(stack)
    status, events = run_example(client, name)
    info = client.get_run(client.list_runs()[0].id)
    return status, events, info


def _statuses(info: RunInfo) -> dict[str, str]:
    return {f"{t.dag_instance}/{t.name}": t.status for t in info.tasks}


def _printed(events: list[RunEvent]) -> list[str]:
    return [line for _, line in output_lines(events)]


# These two run on lightflow.testing's session stack: one stack for both, as a user's suite
# would run its own workflows.
def test_flow_control_limits_skips_and_forces(lightflow_stack: LocalLightflow) -> None:
    result = lightflow_stack.run_workflow(EXAMPLES / "flow_control.py")
    assert result.status == "succeeded", lightflow_stack.logs
    assert result.tasks == {
        "main_dag/choose_task": "succeeded",
        "main_dag/left_task": "succeeded",
        "main_dag/right_task": "skipped",
        "main_dag/right_after_task": "skipped",
        "main_dag/barrier_task": "skipped",
        "main_dag/after_barrier_task": "succeeded",
        "main_dag/always_task": "succeeded",
    }
    assert result.lines("main_dag/right_task") == []


def test_stop_task_skips_or_keeps_successors(lightflow_stack: LocalLightflow) -> None:
    result = lightflow_stack.run_workflow(EXAMPLES / "stop_task.py")
    assert result.status == "succeeded", lightflow_stack.logs
    assert result.tasks == {
        "main_dag/skip_task": "stopped",
        "main_dag/skipped_task": "skipped",
        "main_dag/continue_task": "stopped",
        "main_dag/next_task": "succeeded",
    }
    assert "next_task runs, partial = True" in result.lines("main_dag/next_task")


def test_abort_workflow_ends_the_run_aborted_with_the_message(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack()
    status, events, info = _run(stack, "abort")
    assert status == "aborted", dump_logs(stack)
    assert info.failure is not None
    assert info.failure.type == "AbortWorkflow"
    assert info.failure.message == "input file not found"
    assert "this never runs" not in _printed(events)
    # the task after the abort never ran, and says so
    assert _statuses(info) == {"main_dag/check_task": "aborted", "main_dag/never_task": "cancelled"}


def test_callbacks_run_around_the_task(start_stack: Callable[..., LocalStack]) -> None:
    stack = start_stack()
    status, events, _ = _run(stack, "callbacks")
    assert status == "succeeded", dump_logs(stack)
    assert _printed(events) == [
        "init of work_task",
        "work of work_task",
        "finally of work_task with Success",
    ]


def test_a_stopped_sub_dag_ends_stopped_and_the_run_succeeds(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack()
    status, events, info = _run(stack, "stop_dag")
    assert status == "succeeded", dump_logs(stack)
    assert info.dags == {"main_dag": "succeeded", "worker_dag:1": "stopped"}
    assert _statuses(info)["worker_dag:1/never_task"] == "cancelled"
    printed = _printed(events)
    assert "noticed the stop" in printed
    assert "stopped worker_dag:1" in printed
    assert "this never runs" not in printed


def test_stop_workflow_lets_the_task_finish_and_starts_nothing(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack()
    status, events, info = _run(stack, "stop_workflow")
    assert status == "stopped", dump_logs(stack)
    assert _printed(events) == ["stopping the workflow", "still finishing my own work"]
    assert _statuses(info)["main_dag/never_task"] == "cancelled"


def test_a_task_waits_visibly_until_a_worker_serves_its_queue(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack(queues=("task",))
    client = client_for(stack)
    client.register(stack_examples("queues"))
    run = client.start("queues")

    def gpu_queued() -> bool:
        return _statuses(client.get_run(run.id))["main_dag/gpu_task"] == "queued"

    assert_eventually(gpu_queued)
    assert client.get_run(run.id).status == "running"
    stack.start_worker(queues=("gpu", "io"))
    assert run.wait(timeout=60) == "succeeded", dump_logs(stack)
    workers = {t.name: t.worker_id for t in client.get_run(run.id).tasks}
    assert workers["gpu_task"] == workers["io_task"] != workers["cpu_task"]


def test_several_datasets_by_index_alias_and_iteration(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack()
    status, events, _ = _run(stack, "multi_data")
    assert status == "succeeded", dump_logs(stack)
    printed = _printed(events)
    assert "datasets: 2" in printed
    assert "by alias: 2 1" in printed
    assert "by index: [1, 2]" in printed
    assert "all values: [1, 2]" in printed
    assert "new default: 2" in printed
    assert "flattened keys: ['first_task', 'second_task']" in printed


def test_a_task_reads_the_provenance_of_its_run_in_meta(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack()
    status, events, _ = _run(stack, "store_meta")
    assert status == "succeeded", dump_logs(stack)
    assert _printed(events)[1:] == [
        "workflow: store_meta",
        "first_task ran on queue task with status succeeded",
        "first_task took seconds: True",
        "report_task is running and has no end yet: True",
        "missing key gives the default: fallback",
    ]


def test_keep_data_keeps_the_document_with_the_full_provenance(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack()
    client: Client = client_for(stack)
    client.register(stack_examples("data_store"))
    run = client.start("data_store", keep_data=True)
    assert run.wait(timeout=60) == "succeeded"
    assert stack.store is not None
    with StoreClient(stack.store.address, stack.options.token) as store:
        assert store.get(run.id, "number") == 50
        assert "file_a.spec" in store.get(run.id, "filenames")

        def complete() -> bool:
            return bool(store.get(run.id, "status", section="meta") == "succeeded")

        assert_eventually(complete)
        dag = store.get(run.id, "log.main_dag", section="meta")
        assert dag["status"] == "succeeded"
        assert dag["duration"] >= 0
        assert set(dag["tasks"]) == {
            "store_task",
            "modify_task",
            "add_filename_task",
            "add_more_filename_task",
        }
