"""The engine under a hostile or careless user: a task that prints without end, code written
into redis directly, a task reaching another run, ids that are not run ids, a DAG that starts
itself. Each is bounded, refused or isolated, and nothing else suffers."""

from __future__ import annotations

import os
import pickle
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
import redis

from lightflow._client import Client, RunEvent
from lightflow._grpc import open_channel
from lightflow._workflow import load_workflow
from lightflow.v1 import common_pb2, scheduler_pb2, scheduler_pb2_grpc
from lightflow_cli.stack import LocalStack
from lightflow_scheduler.graph import build_graph
from lightflow_scheduler.keys import Keys
from tests.conftest import assert_eventually, client_for, dump_logs, output_lines

WORKFLOWS = Path(__file__).parent / "workflows"
MIB = 1024 * 1024


def _redis(stack: LocalStack) -> redis.Redis:
    return redis.Redis.from_url(stack.redis_url, password=getattr(stack, "redis_password", None))


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


class _PeakMemory:
    """Samples the RSS of processes and redis' used_memory while a test runs."""

    def __init__(self, pids: list[int], client: redis.Redis) -> None:
        self.rss = dict.fromkeys(pids, 0)
        self.redis_bytes = 0
        self._client = client
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            for pid in self.rss:
                self.rss[pid] = max(self.rss[pid], _rss_bytes(pid))
            used = int(self._client.info("memory")["used_memory"])
            self.redis_bytes = max(self.redis_bytes, used)

    def __enter__(self) -> _PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def stack(start_stack: Callable[..., LocalStack]) -> LocalStack:
    return start_stack(workers=1, concurrency=4)


def _events(client: Client, run_id: str, timeout: float) -> list[RunEvent]:
    return list(client.run(run_id).events(timeout=timeout))


# -- a task that prints without end ----------------------------------------------------------

# What the chatty task may cost, well above the idle process (about 60-80 MB for the worker)
# and far below what an unbounded queue reached (5.2 GB for the worker, 1 GB for redis).
WORKER_RSS_BOUND = 250 * MIB
REDIS_BOUND = 64 * MIB


def test_a_task_printing_without_end_runs_once_and_the_stack_stays_bounded(
    stack: LocalStack,
) -> None:
    client = client_for(stack)
    client.register(WORKFLOWS / "hostile_chatty.py")
    client.register(WORKFLOWS / "twenty_tasks.py")
    worker = stack.workers[0]
    with _PeakMemory([worker.pid], _redis(stack)) as peak:
        chatty = client.start("hostile_chatty")
        time.sleep(2)  # the task prints at full speed by now
        neighbour = client.start_and_wait("twenty_tasks", timeout=60)
        chatty_events = _events(client, chatty.id, timeout=120)
    assert neighbour.wait() == "succeeded", dump_logs(stack)
    assert chatty_events[-1].status == "succeeded", dump_logs(stack)
    started = [e for e in chatty_events if e.type == "task_started"]
    assert [e.attempt for e in started] == [1], "the chatty task ran more than once"
    assert not [e for e in chatty_events if e.type == "task_lease_expired"]

    lines = [text for _, text in output_lines(chatty_events)]
    printed = int(re.fullmatch(r"chatty printed (\d+) lines", lines[-1]).group(1))  # type: ignore[union-attr]
    markers = [re.search(r"\[lightflow: ([\d,]+) lines .* dropped", line) for line in lines]
    dropped = sum(int(m.group(1).replace(",", "")) for m in markers if m)
    kept = [line for line in lines if line[:8].isdigit()]
    # A watcher following the run live saw what the worker's rate let through (1,000 lines or
    # 1 MiB a second, after a 2 s burst) and the last lines; the rest was counted as dropped.
    assert 0 < len(kept) <= 1_000 * (12 + 4)
    assert dropped > 0
    assert len(kept) + dropped == printed
    # A reader after the run gets the latest lines the run keeps (--max-output-lines; redis
    # trims streams by whole nodes of 100 entries).
    late = [text for _, text in output_lines(_events(client, chatty.id, 30))]
    assert 9_000 <= len(late) <= 10_100
    assert late[-1] == lines[-1]
    worker_mib, redis_mib = peak.rss[worker.pid] / MIB, peak.redis_bytes / MIB
    print(f"peak worker RSS {worker_mib:.0f} MiB, redis {redis_mib:.0f} MiB")
    assert peak.rss[worker.pid] < WORKER_RSS_BOUND, peak.rss
    assert peak.redis_bytes < REDIS_BOUND, peak.redis_bytes


def test_a_line_without_end_is_cut(stack: LocalStack, tmp_path: Path) -> None:
    workflow = tmp_path / "long_line.py"
    workflow.write_text(
        "from lightflow.models import Dag\n"
        "from lightflow.tasks import PythonTask\n"
        "def shout(data, store, signal, context):\n"
        "    print('y' * 10_000_000)\n"
        "    print('after the long line')\n"
        "d = Dag('main_dag')\n"
        "d.define({PythonTask(name='shout_task', callback=shout): None})\n"
    )
    client = client_for(stack)
    client.register(workflow)
    run = client.start_and_wait("long_line", timeout=60)
    assert run.wait() == "succeeded"
    lines = [text for _, text in output_lines(_events(client, run.id, 30))]
    assert lines[-1] == "after the long line"
    assert lines[0].startswith("y" * 8192)
    assert lines[0].endswith("more characters]")
    assert len(lines[0]) < 8192 + 100


# -- code written into redis -----------------------------------------------------------------


def test_a_definition_written_into_redis_directly_runs_nothing(
    stack: LocalStack, tmp_path: Path
) -> None:
    proof = tmp_path / "injected-code-ran"
    evil = tmp_path / "sequential.py"
    evil.write_text(
        "from pathlib import Path\n"
        "from lightflow.models import Dag\n"
        "from lightflow.tasks import PythonTask\n"
        "def evil(data, store, signal, context):\n"
        f"    Path({str(proof)!r}).write_text('ran')\n"
        "d = Dag('main_dag')\n"
        "d.define({PythonTask(name='task_1', callback=evil): None})\n"
    )
    client = client_for(stack)
    client.register(Path("examples/sequential.py"))
    assert client.start_and_wait("sequential", timeout=60).wait() == "succeeded"

    # What an attacker holding only redis does: the definition and its graph under a new
    # hash, and the workflow's name pointed at it (the shape register_workflow writes).
    definition = load_workflow(evil).to_proto()
    graph = build_graph(definition)
    keys = Keys("lf")
    raw = _redis(stack)
    raw.set(keys.definition(graph.definition_hash), definition.SerializeToString())
    raw.hset(keys.graph(graph.definition_hash), mapping=graph.redis_fields())
    summary = raw.hget(keys.workflows, "sequential")
    assert summary is not None
    raw.hset(
        keys.workflows,
        "sequential",
        summary.decode().replace(
            summary.decode().split('"hash": "')[1].split('"')[0], graph.definition_hash
        ),
    )

    run = client.start_and_wait("sequential", timeout=60)
    assert run.wait() == "failed"
    failure = run.info().tasks[0].failure
    assert failure is not None
    assert failure.type == "TaskCodeRejected"
    assert "seal" in failure.message
    assert not proof.exists(), "code written into redis ran on a worker"


class _Evil:
    """A pickle that runs a command when loaded."""

    def __init__(self, proof: Path) -> None:
        self.proof = proof

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.proof}",)


def test_task_data_written_into_redis_directly_is_not_loaded(
    stack: LocalStack, tmp_path: Path
) -> None:
    proof, gate = tmp_path / "injected-data-ran", tmp_path / "gate"
    client = client_for(stack)
    client.register(WORKFLOWS / "tampered_data.py")
    run = client.start("tampered_data", {"gate": str(gate)})
    assert_eventually(
        lambda: {t.name: t.status for t in run.info().tasks}["source_task"] == "succeeded"
    )
    evil = common_pb2.Payload(encoding="python/cloudpickle", data=pickle.dumps(_Evil(proof)))
    _redis(stack).hset(
        Keys("lf").run_data(run.id), "main_dag/source_task", evil.SerializeToString()
    )
    gate.touch()
    assert run.wait(timeout=60) == "failed"
    [join] = [t for t in run.info().tasks if t.name == "join_task"]
    assert join.failure is not None
    assert "carries no valid seal" in join.failure.message
    assert not proof.exists(), "data written into redis was unpickled on a worker"


# -- runs isolated from each other -----------------------------------------------------------


def test_a_task_of_one_run_cannot_reach_another_run(stack: LocalStack) -> None:
    client = client_for(stack)
    client.register(WORKFLOWS / "victim.py")
    client.register(WORKFLOWS / "hostile_neighbour.py")
    victim = client.start("victim")

    def secret_kept() -> bool:
        tasks = {t.name: t.status for t in victim.info().tasks}
        return tasks["secret_task"] == "succeeded" and tasks["wait_task"] == "running"

    assert_eventually(secret_kept, timeout=30)
    attacker = client.start_and_wait("hostile_neighbour", {"victim": victim.id}, timeout=60)
    assert attacker.wait() == "succeeded", dump_logs(stack)
    said = dict(text.split(": ", 1) for _, text in output_lines(_events(client, attacker.id, 30)))
    assert said == {
        "secrets in environment": "[]",
        "get": "PERMISSION_DENIED",
        "get meta": "PERMISSION_DENIED",
        "set": "PERMISSION_DENIED",
        "delete document": "PERMISSION_DENIED",
        "stop": "PERMISSION_DENIED",
        "put blob": "PERMISSION_DENIED",
        "delete blobs": "PERMISSION_DENIED",
    }
    assert victim.status() == "running"
    victim.stop()
    assert victim.wait(timeout=60) == "stopped"


def test_a_forged_run_credential_opens_nothing(stack: LocalStack) -> None:
    channel = open_channel(stack.scheduler_addresses[0], "lfrun1." + "a" * 32 + ".forged")
    stub = scheduler_pb2_grpc.SignalServiceStub(channel)
    with pytest.raises(grpc.RpcError) as err:
        stub.IsStopped(scheduler_pb2.IsStoppedRequest(run_id="a" * 32), timeout=10)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


# -- ids and limits --------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [":events", ":tasks", ":dags", ":data", "x" * 10_000])
def test_ids_that_are_not_run_ids_name_no_run(stack: LocalStack, suffix: str) -> None:
    client = client_for(stack)
    client.register(Path("examples/sequential.py"))
    real = client.start_and_wait("sequential", timeout=60).id
    channel = open_channel(stack.scheduler_addresses[0], stack.options.token)
    scheduler = scheduler_pb2_grpc.SchedulerServiceStub(channel)
    signal = scheduler_pb2_grpc.SignalServiceStub(channel)
    calls = [
        lambda run_id: scheduler.GetRun(scheduler_pb2.GetRunRequest(run_id=run_id), timeout=10),
        lambda run_id: signal.IsStopped(scheduler_pb2.IsStoppedRequest(run_id=run_id), timeout=10),
        lambda run_id: scheduler.StopRun(scheduler_pb2.StopRunRequest(run_id=run_id), timeout=10),
    ]
    for call in calls:
        with pytest.raises(grpc.RpcError) as err:
            call(real + suffix)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        assert "not found" in (err.value.details() or "")


def test_a_dag_that_starts_itself_stops_at_the_runs_limit(
    start_stack: Callable[..., LocalStack], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIGHTFLOW_MAX_DAG_INSTANCES", "25")
    stack = start_stack()
    client = client_for(stack)
    client.register(WORKFLOWS / "self_starting.py")
    run = client.start_and_wait("self_starting", timeout=120)
    assert run.wait() == "failed"
    state = run.info()
    assert len(state.dags) == 26  # main_dag and the 25 instances it may start
    failures = [t.failure for t in state.tasks if t.failure is not None]
    assert len(failures) == 1
    assert "limit" in failures[0].message
    assert "--max-dag-instances" in failures[0].message


# -- a task process that breaks the pipe's protocol ------------------------------------------


@pytest.mark.parametrize(
    ("raw", "why"), [("b'Z'", "unknown message kind"), ("b'O1' + b'x' * 9_000_000", "length")]
)
def test_a_task_writing_garbage_to_its_pipe_fails_and_the_worker_goes_on(
    stack: LocalStack, tmp_path: Path, raw: str, why: str
) -> None:
    workflow = tmp_path / "garbage.py"
    workflow.write_text(
        "import gc\n"
        "from lightflow.models import Dag\n"
        "from lightflow.tasks import PythonTask\n"
        "from lightflow_worker.runner import ParentLink\n"
        "def garbage(data, store, signal, context):\n"
        "    [link] = [o for o in gc.get_objects() if isinstance(o, ParentLink)]\n"
        f"    link._conn.send_bytes({raw})\n"
        "    import time; time.sleep(30)\n"
        "d = Dag('main_dag')\n"
        "d.define({PythonTask(name='garbage_task', callback=garbage): None})\n"
    )
    client = client_for(stack)
    client.register(workflow)
    run = client.start_and_wait("garbage", timeout=60)
    assert run.wait() == "failed"
    [task] = run.info().tasks
    assert task.failure is not None
    assert task.failure.type == "TaskProcessMisbehaved", task.failure
    assert why in task.failure.message
    # The worker serves the next run.
    client.register(Path("examples/sequential.py"))
    assert client.start_and_wait("sequential", timeout=60).wait() == "succeeded"
    assert stack.workers[0].alive()
