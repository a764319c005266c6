"""The seed's example workflows, unchanged, on real schedulers, a real worker and store."""

from __future__ import annotations

from collections.abc import Callable

from lightflow_cli.stack import LocalStack
from tests.conftest import client_for, dump_logs, output_lines, run_example


def test_sequential_counts_in_order(start_stack: Callable[..., LocalStack]) -> None:
    stack = start_stack()
    status, events = run_example(client_for(stack), "sequential")
    assert status == "succeeded", dump_logs(stack)
    counts = [line for _, line in output_lines(events) if line.startswith("This is task #")]
    assert counts == ["This is task #1", "This is task #2", "This is task #3"]
    labels = [label for label, line in output_lines(events) if line.startswith("This is")]
    assert labels == ["main_dag/task_1", "main_dag/task_2", "main_dag/task_3"]


def test_parallel_lanes_overlap_and_join_runs_once_after_them(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack(concurrency=3)
    status, events = run_example(client_for(stack), "parallel")
    assert status == "succeeded", dump_logs(stack)
    spans: dict[str, list[float]] = {}
    for event in events:
        if event.type in ("task_started", "task_ended") and event.time is not None:
            spans.setdefault(event.task_name, []).append(event.time.timestamp())
    lanes = [f"lane{i}_print_task" for i in (1, 2, 3)]
    # Every lane started before any lane ended: their time spans overlap.
    assert max(spans[lane][0] for lane in lanes) <= min(spans[lane][1] for lane in lanes)
    joins = [e for e in events if e.task_name == "t_join_me" and e.type == "task_started"]
    assert len(joins) == 1
    assert spans["t_join_me"][0] >= max(spans[lane][1] for lane in lanes)


def test_data_flow_delivers_aliased_datasets(start_stack: Callable[..., LocalStack]) -> None:
    stack = start_stack()
    status, events = run_example(client_for(stack), "data_flow")
    assert status == "succeeded", dump_logs(stack)
    printed = dict(output_lines(events))
    assert printed["main_dag/print_task_1"] == "print_task_1 The value is: 5"
    assert printed["main_dag/print_task_2"] == "print_task_2 The value is: 25"
    assert printed["main_dag/print_task_3"] == "print_task_3 The value is: 125"
    assert printed["main_dag/print_task_4"] == "print_task_4 The value is: -120"


def test_sub_dags_finish_on_a_single_slot(start_stack: Callable[..., LocalStack]) -> None:
    # The task waiting in join_dags must not starve the sub-DAGs it waits for.
    stack = start_stack(concurrency=1)
    status, events = run_example(client_for(stack), "sub_dag")
    assert status == "succeeded", dump_logs(stack)
    received = sorted(
        label
        for label, line in output_lines(events)
        if line == "Received an image with dimensions: (100, 100)"
    )
    assert received == [f"sub_dag:{i}/print_task" for i in range(1, 6)]


def test_data_store_round_trips_values(start_stack: Callable[..., LocalStack]) -> None:
    stack = start_stack()
    status, events = run_example(client_for(stack), "data_store")
    assert status == "succeeded", dump_logs(stack)
    printed = [line for label, line in output_lines(events) if label == "main_dag/modify_task"]
    assert printed == ["The number is: 5", "The dimension of the image is: (100, 100)"]


def test_simple_prints_the_value_the_first_task_set(start_stack: Callable[..., LocalStack]) -> None:
    stack = start_stack()
    status, events = run_example(client_for(stack), "simple")
    assert status == "succeeded", dump_logs(stack)
    assert "The value is: 5" in [line for _, line in output_lines(events)]
