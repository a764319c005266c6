"""Workers: queues, slots and long waits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lightflow_cli.stack import LocalStack
from tests.conftest import client_for, dump_logs, output_lines, run_example

WORKFLOWS = Path(__file__).parent / "workflows"


def test_a_worker_on_two_queues_takes_no_more_than_its_slots(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack(workers=0)
    stack.start_worker(queues=("alpha", "beta"), concurrency=1)
    client = client_for(stack)
    status, events = run_example(client, "two_queues", WORKFLOWS)
    assert status == "succeeded", dump_logs(stack)
    assert sorted(line for _, line in output_lines(events)) == ["ran ta", "ran tb", "ran tc"]
    # One slot: a task starts only after the one before it ended, and no lease was lost.
    running = 0
    for event in events:
        if event.type == "task_started":
            running += 1
            assert running == 1
        elif event.type == "task_ended":
            running -= 1
    assert not [e for e in events if e.type == "task_lease_expired"]
    assert all(t.attempt == 1 for t in client.get_run(client.list_runs()[0].id).tasks)


def test_a_join_longer_than_a_blocking_read_completes(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack(concurrency=1)
    status, events = run_example(client_for(stack), "long_join", WORKFLOWS)
    assert status == "succeeded", dump_logs(stack)
    assert ("main_dag/parent", "joined slow_dag:1") in output_lines(events)
