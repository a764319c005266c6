"""A failing task's traceback reads as a local `python` run of the workflow file shows it: the
file's real path, line numbers and source lines, and none of our engine's frames above the
user's code; also on a worker without the file (its text travels with the definition), in
the events, GetRun and the client's Failure. The full traceback is in the worker's log."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from lightflow._client import Client, Failure, RunEvent
from lightflow_cli.stack import LocalStack
from tests.conftest import assert_eventually, client_for, dump_logs

WORKFLOWS = Path(__file__).parent / "workflows"
# What none of the user's tracebacks may show: our runner and the SDK calling the task.
ENGINE_MARKS = (
    "lightflow_worker",
    "services/worker",
    "runner.py",
    "run_task",
    "lightflow/_task.py",
    "lightflow/_bash.py",
)


@pytest.fixture
def stack(start_stack: Callable[..., LocalStack]) -> LocalStack:
    return start_stack()


def run_without_the_file(
    client: Client, name: str, tmp_path: Path
) -> tuple[Path, list[str], list[RunEvent], str]:
    """Registers a copy of workflows/<name>.py, removes the copy (a worker without the file),
    runs it; returns the copy's path, its lines, the run's events and its id."""
    path = tmp_path / "flows" / f"{name}.py"
    path.parent.mkdir(exist_ok=True)
    shutil.copy(WORKFLOWS / f"{name}.py", path)
    lines = path.read_text().splitlines()
    client.register(path)
    path.unlink()
    run = client.start(name)
    return path, lines, list(run.events(timeout=60)), run.id


def frame(path: Path, lines: list[str], text: str, function: str) -> str:
    """The two lines a local traceback shows for the frame at the line holding `text`."""
    (number,) = [i for i, line in enumerate(lines, 1) if text in line]
    return f'  File "{path}", line {number}, in {function}\n    {lines[number - 1].strip()}\n'


def assert_users_only(trace: str) -> None:
    assert trace.startswith("Traceback (most recent call last):\n"), trace
    for mark in ENGINE_MARKS:
        assert mark not in trace, trace
    assert "<dynamic-code>" not in trace


def task_failure(events: list[RunEvent], task: str) -> Failure:
    (failure,) = [
        e.failure for e in events if e.type == "task_ended" and e.task_name == task and e.failure
    ]
    return failure


def test_a_failing_task_shows_its_file_lines_and_source_without_the_file(
    stack: LocalStack, tmp_path: Path
) -> None:
    client = client_for(stack)
    path, lines, events, run_id = run_without_the_file(client, "failing", tmp_path)
    assert events[-1].status == "failed", dump_logs(stack)
    failure = task_failure(events, "explode_task")
    assert_users_only(failure.stack_trace)
    explode = frame(path, lines, 'raise ValueError("the sensor returned no data")', "explode")
    assert failure.stack_trace == (
        f"Traceback (most recent call last):\n{explode}ValueError: the sensor returned no data\n"
    )
    # the same on the run's end, GetRun's run and task, and the client's Failure
    assert events[-1].failure == failure
    info = client.get_run(run_id)
    assert info.failure == failure
    (task,) = [t for t in info.tasks if t.name == "explode_task"]
    assert task.failure == failure

    # the full traceback, our frames included, is in the worker's log
    def logged() -> bool:
        log = "".join(p.read_text(errors="replace") for p in stack.log_dir.glob("worker*.log"))
        assert "task_failed" in log
        assert "runner.py" in log
        assert 'raise ValueError("the sensor returned no data")' in log
        return True

    assert_eventually(logged, timeout=10)


def test_a_chained_error_and_a_failing_clean_up_read_as_python_shows_them(
    stack: LocalStack, tmp_path: Path
) -> None:
    path, lines, events, _ = run_without_the_file(client_for(stack), "traceback_chain", tmp_path)
    assert events[-1].status == "failed", dump_logs(stack)
    failure = task_failure(events, "measure_task")
    assert (failure.type, failure.message) == ("OSError", "the sensor could not be released")
    trace = failure.stack_trace
    assert_users_only(trace)
    expected = [
        "Traceback (most recent call last):\n",
        frame(path, lines, 'read_sensor("no data")', "measure"),
        frame(path, lines, "return int(text)", "read_sensor"),
        "ValueError: invalid literal for int() with base 10: 'no data'\n",
        "\nThe above exception was the direct cause of the following exception:\n\n",
        "Traceback (most recent call last):\n",
        frame(path, lines, "raise RuntimeError(", "measure"),
        "RuntimeError: the sensor could not be read\n",
        "\nDuring handling of the above exception, another exception occurred:\n\n",
        "Traceback (most recent call last):\n",
        frame(path, lines, "raise OSError(", "clean_up"),
        "OSError: the sensor could not be released\n",
    ]
    at = 0
    for part in expected:
        found = trace.find(part, at)
        assert found >= 0, f"{part!r} not after position {at} in\n{trace}"
        at = found + len(part)


def test_a_failing_callback_init_shows_its_frame(stack: LocalStack, tmp_path: Path) -> None:
    path, lines, events, _ = run_without_the_file(client_for(stack), "traceback_init", tmp_path)
    assert events[-1].status == "failed", dump_logs(stack)
    failure = task_failure(events, "work_task")
    assert_users_only(failure.stack_trace)
    prepare = frame(path, lines, 'data["threshold"] = settings["threshold"]', "prepare")
    assert f"Traceback (most recent call last):\n{prepare}" in failure.stack_trace
    assert failure.stack_trace.endswith("KeyError: 'threshold'\n")
    assert not [e for e in events if e.type == "task_output"]


def test_a_failing_bash_task_callback_shows_its_frame(stack: LocalStack, tmp_path: Path) -> None:
    path, lines, events, _ = run_without_the_file(client_for(stack), "traceback_bash", tmp_path)
    assert events[-1].status == "failed", dump_logs(stack)
    failure = task_failure(events, "bash_task")
    trace = failure.stack_trace
    assert_users_only(trace)
    check = frame(
        path, lines, 'raise ValueError("the command reported: " + line.rstrip())', "check_line"
    )
    assert trace == (
        f"Traceback (most recent call last):\n{check}ValueError: the command reported: error 42\n"
    )
