"""The traceback a failing task's result carries, from `run_task` called directly: the user's
frames without ours above them, an error of ours as type and message only, and a trace too
long for the result cut from its start (its end is what a person acts on)."""

from __future__ import annotations

import linecache
from typing import Any

from lightflow._wire.failures import MAX_FAILURE_CHARS
from lightflow._wire.pipe import Result, decode_child, encode_child
from lightflow._workflow import source_entry
from lightflow.tasks import PythonTask
from lightflow.v1 import common_pb2, scheduler_pb2
from lightflow_worker.runner import run_task

LEASE = scheduler_pb2.TaskLease(
    run_id="r" * 32, dag_name="main_dag", dag_instance="main_dag", task_name="t", attempt=1
)


def _run(callback: Any) -> tuple[scheduler_pb2.TaskResult, str]:
    return run_task(LEASE, PythonTask("t", callback), None, None, "host")  # type: ignore[arg-type]


def test_the_users_frames_only_and_the_full_trace_for_the_log() -> None:
    def explode(data: Any, store: Any, signal: Any, context: Any) -> None:
        raise ValueError("no data")

    result, full = _run(explode)
    assert result.status == common_pb2.TASK_STATUS_FAILED
    trace = result.failure.stack_trace
    assert trace.startswith(f'Traceback (most recent call last):\n  File "{__file__}", line ')
    assert 'raise ValueError("no data")\nValueError: no data\n' in trace
    assert "runner.py" not in trace
    assert "lightflow/_task.py" not in trace
    assert "runner.py" in full
    assert "lightflow/_task.py" in full
    assert full.endswith(trace.split("\n", 1)[1])


def test_an_error_of_ours_keeps_its_type_and_message_only() -> None:
    result, full = _run(lambda data, store, signal, context: 5)
    trace = result.failure.stack_trace
    assert result.failure.type == "TaskResultError"
    assert trace == f"lightflow._task.TaskResultError: {result.failure.message}\n"
    assert "returned int" in trace
    assert "lightflow/_task.py" in full


def test_a_trace_too_long_keeps_its_end() -> None:
    def deep(n: int) -> None:
        if n == 0:
            raise KeyError("the first one")
        try:
            deep(n - 1)
        except Exception as err:
            raise RuntimeError(f"level {n} " + "x" * 500) from err

    def explode(data: Any, store: Any, signal: Any, context: Any) -> None:
        deep(400)

    result, full = _run(explode)
    trace = result.failure.stack_trace
    assert len(trace) <= MAX_FAILURE_CHARS + 100
    assert len(full) <= MAX_FAILURE_CHARS + 100
    assert trace.startswith("[lightflow: the first ")
    assert "characters of the traceback cut]\n" in trace
    assert trace.endswith("RuntimeError: level 400 " + "x" * 500 + "\n")
    assert "in explode\n    deep(400)\n" in trace
    assert "KeyError: 'the first one'" not in trace
    assert "RuntimeError: level 1 " not in trace


def test_a_huge_message_keeps_its_start_and_the_frames() -> None:
    def explode(data: Any, store: Any, signal: Any, context: Any) -> None:
        raise ValueError("y" * (2 * MAX_FAILURE_CHARS))

    result, _ = _run(explode)
    trace = result.failure.stack_trace
    assert len(trace) <= MAX_FAILURE_CHARS
    assert trace.startswith("Traceback (most recent call last):\n")
    assert "in explode\n" in trace
    assert trace.endswith(" more characters]\n")
    assert len(result.failure.message) <= MAX_FAILURE_CHARS + 100


def test_a_registered_source_wins_over_the_file_on_disk(tmp_path: Any) -> None:
    path = tmp_path / "flow.py"
    path.write_text("on disk\n")
    linecache.cache[str(path)] = source_entry(str(path), "shipped line 1\nshipped line 2\n")
    linecache.checkcache(str(path))  # as traceback does: the entry stays
    assert linecache.getline(str(path), 2) == "shipped line 2\n"


def test_the_full_trace_crosses_the_pipe_beside_the_result() -> None:
    message = Result(b"\x00result bytes", "Traceback ...\n  File x\n")
    assert decode_child(encode_child(message)) == message
    assert decode_child(encode_child(Result(b"r"))) == Result(b"r", "")
