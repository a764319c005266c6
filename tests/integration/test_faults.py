"""Nothing lost: processes killed by PID and servers restarted while runs are in flight.

Each test does the damage for real and checks what a user would: every run ends as it
should, every task's completion is recorded exactly once."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from lightflow import Client, RunEvent
from lightflow._grpc import open_channel
from lightflow.v1 import scheduler_pb2, scheduler_pb2_grpc
from lightflow_cli.stack import LocalStack
from tests.conftest import assert_eventually, dump_logs, output_lines

WORKFLOWS = Path(__file__).parent / "workflows"


def _client(stack: LocalStack) -> Client:
    return Client(stack.scheduler_addresses, token=stack.options.token)


def _follow(client: Client, run_id: str) -> tuple[list[RunEvent], threading.Thread]:
    events: list[RunEvent] = []
    thread = threading.Thread(
        target=lambda: events.extend(client.run(run_id).events()), daemon=True
    )
    thread.start()
    return events, thread


def _completions(events: list[RunEvent]) -> Counter[tuple[str, str]]:
    """How often each task's end was recorded (skips and cancellations count too)."""
    return Counter(
        (e.dag_instance, e.task_name)
        for e in events
        if e.type == "task_ended" and e.status != "failed"
    )


def test_killing_each_scheduler_replica_in_turn_loses_no_run_and_no_task(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack(schedulers=3, workers=2, concurrency=4, lease_timeout_s=3.0)
    client = _client(stack)
    client.register(WORKFLOWS / "fault_mix.py")
    runs = [client.start("fault_mix") for _ in range(20)]
    followers = [_follow(client, run.id) for run in runs]

    kills = []
    for index in range(3):
        time.sleep(1.0)
        killed_at = time.monotonic()
        stack.schedulers[index].kill()
        time.sleep(0.5)
        stack.restart_scheduler(index)
        kills.append(killed_at)

    for run in runs:
        assert run.wait(timeout=180) == "succeeded", dump_logs(stack)
    for events, thread in followers:
        thread.join(30)
        completions = _completions(events)
        assert len(completions) == 50
        assert set(completions.values()) == {1}, completions.most_common(3)
    for run in runs:
        info = client.get_run(run.id)
        assert {t.status for t in info.tasks} == {"succeeded"}
        assert len(info.tasks) == 50


def test_a_late_result_of_a_superseded_attempt_changes_nothing(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack(workers=0, lease_timeout_s=1.5)
    hung = stack.start_worker(concurrency=1)
    client = _client(stack)
    client.register(WORKFLOWS / "slow_chain.py")
    run = client.start("slow_chain")
    events, follower = _follow(client, run.id)
    assert_eventually(lambda: any(e.type == "task_started" for e in events))
    # The worker hangs: no heartbeats, its lease expires, another worker runs attempt 2.
    os.kill(hung.pid, signal.SIGSTOP)
    try:
        stack.start_worker(concurrency=1)
        assert_eventually(
            lambda: any(e.type == "task_started" and e.attempt == 2 for e in events), timeout=30
        )
    finally:
        # It wakes up and delivers attempt 1's result late.
        os.kill(hung.pid, signal.SIGCONT)
    assert run.wait(timeout=60) == "succeeded", dump_logs(stack)
    follower.join(10)
    ended = [e for e in events if e.type == "task_ended" and e.task_name == "slow_task"]
    assert [(e.attempt, e.status) for e in ended] == [(2, "succeeded")]
    slow = next(t for t in client.get_run(run.id).tasks if t.name == "slow_task")
    assert slow.attempt == 2

    def stale_result_logged() -> bool:
        logs = "".join(p.read_text() for p in stack.log_dir.glob("scheduler-*.log"))
        return "stale_result_ignored" in logs

    assert_eventually(stale_result_logged, timeout=30)


def test_a_worker_stopped_gracefully_finishes_its_task_and_takes_no_new_one(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack(workers=0)
    leaving = stack.start_worker(concurrency=2)
    client = _client(stack)
    client.register(WORKFLOWS / "slow_chain.py")
    run = client.start("slow_chain")
    events, follower = _follow(client, run.id)
    assert_eventually(lambda: any(e.type == "task_started" for e in events))
    leaving.process.send_signal(signal.SIGTERM)
    stack.start_worker(concurrency=1)
    assert leaving.process.wait(timeout=60) == 0
    assert run.wait(timeout=60) == "succeeded", dump_logs(stack)
    follower.join(10)
    started = {e.task_name: e.worker_id for e in events if e.type == "task_started"}
    tasks = {t.name: t for t in client.get_run(run.id).tasks}
    assert tasks["slow_task"].attempt == 1  # finished by the leaving worker, not re-run
    assert started["slow_task"] != started["after_task"]  # the successor went elsewhere
    assert ("main_dag/after_task", "after sees done") in output_lines(events)


@pytest.mark.parametrize("stop", ["sigterm", "kill-9"])
def test_a_store_restart_mid_run_loses_no_write_and_applies_none_twice(
    start_stack: Callable[..., LocalStack], tmp_path: Path, stop: str
) -> None:
    # SIGTERM: a restart, as an operator or orchestrator does it (calls in flight finish,
    # calls not started are cancelled and retried). kill -9: a push the store applied but
    # never answered is retried with the same request id, and the store knows it applied it.
    stack = start_stack(store_dir=tmp_path / "store")
    client = _client(stack)
    client.register(WORKFLOWS / "pushes.py")
    run = client.start("pushes", keep_data=True)
    events, follower = _follow(client, run.id)
    assert_eventually(lambda: any(e.type == "task_started" for e in events))
    time.sleep(1.0)
    assert stack.store is not None
    if stop == "sigterm":
        stack.store.stop()
        time.sleep(1.0)
    else:
        stack.store.kill()
    stack.restart_store()
    assert run.wait(timeout=120) == "succeeded", dump_logs(stack)
    follower.join(10)
    assert ("main_dag/push_task", "pushed 300") in output_lines(events)
    from lightflow._store import StoreClient

    with StoreClient(stack.store.address, stack.options.token) as store:
        assert store.get(run.id, "numbers") == list(range(300))


def test_a_redis_restart_with_append_only_persistence_loses_no_run(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack(schedulers=2, redis_appendonly=True)
    client = _client(stack)
    client.register(WORKFLOWS / "sleepy_chain.py")
    run = client.start("sleepy_chain")
    time.sleep(1.2)
    assert stack.redis is not None
    stack.redis.stop()  # SIGTERM: redis writes its append-only file and exits
    time.sleep(1.0)
    stack.restart_redis()
    assert run.wait(timeout=120) == "succeeded", dump_logs(stack)
    counts = [
        line for label, line in output_lines(list(client.run(run.id).events())) if "count" in line
    ]
    assert counts == [f"count {i}" for i in range(1, 6)]


def test_a_client_that_disconnects_while_watching_changes_nothing(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack()
    client = _client(stack)
    client.register(WORKFLOWS / "sleepy_chain.py")
    run = client.start("sleepy_chain")
    channel = open_channel(stack.scheduler_addresses[0], stack.options.token)
    stub = scheduler_pb2_grpc.SchedulerServiceStub(channel)
    watch = stub.WatchRun(scheduler_pb2.WatchRunRequest(run_id=run.id))
    next(watch)
    watch.cancel()
    channel.close()
    assert run.wait(timeout=60) == "succeeded", dump_logs(stack)
    assert all(t.attempt == 1 for t in client.get_run(run.id).tasks)


def test_a_failed_attempt_is_retried_with_backoff(start_stack: Callable[..., LocalStack]) -> None:
    stack = start_stack()
    client = _client(stack)
    client.register(WORKFLOWS / "flaky.py")
    run = client.start("flaky")
    events = list(run.events())
    assert events[-1].status == "succeeded", dump_logs(stack)
    retrying = [e for e in events if e.type == "task_retrying"]
    assert [e.attempt for e in retrying] == [1, 2]
    assert "retry 1 of 3" in retrying[0].text
    failed = [e for e in events if e.type == "task_ended" and e.status == "failed"]
    assert failed[0].failure is not None
    assert failed[0].failure.type == "ConnectionError"
    flaky = next(t for t in client.get_run(run.id).tasks if t.name == "flaky_task")
    assert (flaky.status, flaky.attempt) == ("succeeded", 3)
    assert ("main_dag/after_task", "after sees 3") in output_lines(events)


def test_a_task_past_its_timeout_is_killed_and_fails_after_its_retries(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack()
    client = _client(stack)
    client.register(WORKFLOWS / "hangs.py")
    run = client.start("hangs")
    events = list(run.events())
    assert events[-1].status == "failed", dump_logs(stack)
    failures = [e.failure for e in events if e.type == "task_ended" and e.failure is not None]
    assert len(failures) == 2  # the first attempt and its one retry
    assert all(f is not None and f.type == "TaskTimeout" for f in failures)
    assert "ran longer than its timeout of 1 s" in (failures[-1].message if failures[-1] else "")
    # The worker is still there for the next run.
    client.register(WORKFLOWS / "slow_chain.py")
    assert client.start("slow_chain").wait(timeout=60) == "succeeded"


def test_a_run_past_its_deadline_ends_failed(start_stack: Callable[..., LocalStack]) -> None:
    stack = start_stack()
    channel = open_channel(stack.scheduler_addresses[0], stack.options.token)
    stub = scheduler_pb2_grpc.SchedulerServiceStub(channel)
    client = _client(stack)
    client.register(WORKFLOWS / "sleepy_chain.py")
    response = stub.StartRun(
        scheduler_pb2.StartRunRequest(workflow_name="sleepy_chain", deadline_s=1.0), timeout=10
    )
    run = client.run(response.run_id)
    assert run.wait(timeout=60) == "failed", dump_logs(stack)
    info = client.get_run(run.id)
    assert info.failure is not None
    assert info.failure.type == "RunDeadlineExceeded"
    statuses = Counter(t.status for t in info.tasks)
    assert statuses["succeeded"] < 5  # it stopped before the end
    with pytest.raises(grpc.RpcError) as refused:
        stub.StartRun(
            scheduler_pb2.StartRunRequest(workflow_name="sleepy_chain", deadline_s=-1), timeout=10
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_retried_start_starts_nothing_twice(start_stack: Callable[..., LocalStack]) -> None:
    # A client whose replica died after starting a run, but before answering, tries again
    # elsewhere with the same request id; so does a task's start_dag.
    stack = start_stack(schedulers=2)
    client = _client(stack)
    client.register(WORKFLOWS / "sleepy_chain.py")
    first, second = (
        scheduler_pb2_grpc.SchedulerServiceStub(open_channel(address, stack.options.token))
        for address in stack.scheduler_addresses
    )
    request = scheduler_pb2.StartRunRequest(workflow_name="sleepy_chain", request_id="r-1")
    run_id = first.StartRun(request, timeout=10).run_id
    assert second.StartRun(request, timeout=10).run_id == run_id
    signal = scheduler_pb2_grpc.SignalServiceStub(
        open_channel(stack.scheduler_addresses[1], stack.options.token)
    )
    start_dag = scheduler_pb2.StartDagRequest(run_id=run_id, dag_name="main_dag", request_id="d")
    instance = signal.StartDag(start_dag, timeout=10).dag_instance
    assert signal.StartDag(start_dag, timeout=10).dag_instance == instance == "main_dag:1"
    assert client.run(run_id).wait(timeout=60) == "succeeded"
    assert len(client.list_runs()) == 1
