"""No leader: any replica serves any request, and killing processes loses nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from lightflow._client import Client, Run, RunEvent
from lightflow_cli.stack import LocalStack
from tests.conftest import assert_eventually, dump_logs, output_lines, run_example

WORKFLOWS = Path(__file__).parent / "workflows"


@pytest.mark.parametrize("example", ["sub_dag", "data_store", "data_flow"])
def test_client_worker_and_signals_reach_different_replicas(
    start_stack: Callable[..., LocalStack], example: str
) -> None:
    stack = start_stack(schedulers=3, workers=0)
    a, b, c = stack.scheduler_addresses
    # The worker's stream goes to B; its tasks' signal and store calls prefer C; the
    # client talks to A only.
    stack.start_worker(schedulers=[b, c, a])
    client = Client(a, token=stack.options.token)
    status, _ = run_example(client, example)
    assert status == "succeeded", dump_logs(stack)
    logs = {p.stem: p.read_text() for p in stack.log_dir.glob("scheduler-*.log")}
    by_address = dict(zip(stack.scheduler_addresses, sorted(logs), strict=True))
    assert "worker_connected" in logs[by_address[b]]
    assert "worker_connected" not in logs[by_address[a]]
    assert "worker_connected" not in logs[by_address[c]]
    if example == "sub_dag":  # start_dag and join_dags went to C
        assert "run_started" in logs[by_address[a]]


def _follow(client: Client, run_id: str, events: list[RunEvent]) -> threading.Thread:
    thread = threading.Thread(
        target=lambda: events.extend(client.run(run_id).events()), daemon=True
    )
    thread.start()
    return thread


def test_killing_the_workers_replica_loses_nothing(start_stack: Callable[..., LocalStack]) -> None:
    stack = start_stack(schedulers=3, workers=0, lease_timeout_s=3.0)
    a, b, c = stack.scheduler_addresses
    stack.start_worker(schedulers=[b, c, a])
    client = Client([a, c], token=stack.options.token)
    client.register(WORKFLOWS / "slow_chain.py")
    run = client.start("slow_chain")
    events: list[RunEvent] = []
    follower = _follow(client, run.id, events)
    assert_eventually(lambda: any(e.type == "task_started" for e in events))
    stack.schedulers[1].kill()  # kill -9 the replica holding the worker's stream

    assert run.wait(timeout=60) == "succeeded", dump_logs(stack)
    follower.join(10)
    assert ("main_dag/after_task", "after sees done") in output_lines(events)
    ended = [e for e in events if e.type == "task_ended"]
    assert sorted(e.task_name for e in ended) == ["after_task", "slow_task"]


def test_killing_the_replica_a_start_and_wait_waits_on_loses_nothing(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack(schedulers=3, workers=0)
    a, b, c = stack.scheduler_addresses
    stack.start_worker(schedulers=[c])  # the worker's replica stays up
    client = Client([a, b], token=stack.options.token)
    client.register(WORKFLOWS / "slow_chain.py")
    ended: list[Run] = []
    waiter = threading.Thread(
        target=lambda: ended.append(client.start_and_wait("slow_chain", timeout=60)), daemon=True
    )
    waiter.start()
    run_id = assert_eventually(lambda: [r.id for r in client.list_runs()])[0]
    logs = {p.stem: p.read_text() for p in stack.log_dir.glob("scheduler-*.log")}
    by_address = dict(zip(stack.scheduler_addresses, sorted(logs), strict=True))
    watching = next(i for i, x in enumerate((a, b)) if run_id in logs[by_address[x]])
    stack.schedulers[watching].kill()  # kill -9, while the first task sleeps

    waiter.join(60)
    assert [(r.id, r.wait()) for r in ended] == [(run_id, "succeeded")], dump_logs(stack)
    assert [r.id for r in client.list_runs()] == [run_id]  # started once
    client.close()


def test_a_killed_worker_loses_its_lease_and_the_task_runs_again(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack(schedulers=2, workers=0, lease_timeout_s=2.0)
    first = stack.start_worker(concurrency=1)
    client = Client(stack.scheduler_addresses, token=stack.options.token)
    client.register(WORKFLOWS / "slow_chain.py")
    run = client.start("slow_chain")
    events: list[RunEvent] = []
    follower = _follow(client, run.id, events)
    assert_eventually(lambda: any(e.type == "task_started" for e in events))
    first.kill()
    stack.start_worker(concurrency=1)

    assert run.wait(timeout=60) == "succeeded", dump_logs(stack)
    follower.join(10)
    assert any(e.type == "task_lease_expired" and e.task_name == "slow_task" for e in events)
    slow = next(t for t in client.get_run(run.id).tasks if t.name == "slow_task")
    assert slow.attempt == 2
    assert slow.status == "succeeded"
    # Each task's completion is recorded once.
    ended = sorted(e.task_name for e in events if e.type == "task_ended")
    assert ended == ["after_task", "slow_task"]


def test_a_workflow_registered_anew_on_one_replica_starts_its_new_version_on_another(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    stack = start_stack(schedulers=2)
    a, b = stack.scheduler_addresses
    on_a, on_b = Client(a, token=stack.options.token), Client(b, token=stack.options.token)
    path = tmp_path / "versioned.py"
    source = (
        "from lightflow.models import Dag\n"
        "from lightflow.tasks import PythonTask\n\n\n"
        "def say(data, store, signal, context):\n"
        "    print({text!r})\n\n\n"
        "d = Dag('main')\n"
        "d.define({{PythonTask(name='say', callback=say): None}})\n"
    )
    path.write_text(source.format(text="version 1"))
    on_a.register(path)
    first = list(on_a.start("versioned").events(timeout=60))
    path.write_text(source.format(text="version 2"))
    on_b.register(path)  # replica A still remembers version 1's definition
    second = list(on_a.start("versioned").events(timeout=60))
    assert [line for _, line in output_lines(first)] == ["version 1"], dump_logs(stack)
    assert [line for _, line in output_lines(second)] == ["version 2"], dump_logs(stack)
