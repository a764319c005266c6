"""lfctl as a user runs it: real processes, real output, nothing left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lightflow._client import Client
from lightflow._stackfile import read_stack_file
from lightflow_cli.stack import LocalStack
from tests.conftest import EXAMPLES, assert_eventually

WORKFLOWS = Path(__file__).parent.parent / "integration" / "workflows"
LFCTL = [sys.executable, "-m", "lightflow_cli"]


def processes_with(marker: str) -> list[int]:
    """PIDs of live processes whose environment carries the marker."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture
def marker() -> Iterator[str]:
    value = f"lightflow-test-{uuid.uuid4().hex}"
    yield value
    for pid in processes_with(value):  # never leave a stray process to the next test
        os.kill(pid, signal.SIGKILL)


def lfctl(
    *args: str, marker: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIGHTFLOW_TEST_MARKER": marker}
    env.pop("LIGHTFLOW_ADDRESS", None)
    return subprocess.run(
        [*LFCTL, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def test_run_prints_labelled_task_output_and_the_final_status(marker: str) -> None:
    result = lfctl("run", str(EXAMPLES / "sequential.py"), marker=marker)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    counts = [line for line in lines if "This is task #" in line]
    assert counts == [
        "[main_dag/task_1] This is task #1",
        "[main_dag/task_2] This is task #2",
        "[main_dag/task_3] This is task #3",
    ]
    assert lines[-1].startswith("run ")
    assert "of sequential: succeeded" in lines[-1]
    assert processes_with(marker) == []


def failing_trace() -> str:
    """The traceback of workflows/failing.py as a local `python` run shows it."""
    path = WORKFLOWS / "failing.py"
    lines = path.read_text().splitlines()
    (number,) = [i for i, line in enumerate(lines, 1) if "raise ValueError(" in line]
    return (
        "Traceback (most recent call last):\n"
        f'  File "{path}", line {number}, in explode\n'
        '    raise ValueError("the sensor returned no data")\n'
        "ValueError: the sensor returned no data\n"
    )


def test_run_of_a_failing_workflow_exits_non_zero_with_the_traceback(marker: str) -> None:
    result = lfctl("run", str(WORKFLOWS / "failing.py"), marker=marker)
    assert result.returncode == 1
    assert "of failing: failed" in result.stdout.splitlines()[-1]
    assert (
        "[main_dag/explode_task] task failed: ValueError: the sensor returned no data\n"
        + failing_trace()
    ) in result.stderr
    for engine in ("runner.py", "lightflow_worker", "services/worker", "lightflow/_task.py"):
        assert engine not in result.stderr
    assert "this must not run" not in result.stdout
    assert processes_with(marker) == []


def test_status_details_show_the_users_traceback(
    marker: str, start_stack: Callable[..., LocalStack]
) -> None:
    stack = start_stack()
    client = Client(stack.scheduler_addresses, token=stack.options.token)
    client.register(WORKFLOWS / "failing.py")
    run = client.start("failing")
    assert run.wait(timeout=60) == "failed"
    client.close()
    address = ",".join(stack.scheduler_addresses)
    token = stack.options.token or ""
    shown = lfctl(
        "--address",
        address,
        "--token",
        token,
        "workflow",
        "status",
        run.id,
        "--details",
        marker=marker,
    )
    assert shown.returncode == 0, shown.stderr
    assert "failure: ValueError: the sensor returned no data" in shown.stdout
    assert f"main_dag/explode_task: ValueError\n{failing_trace()}" in shown.stdout
    for engine in ("runner.py", "lightflow_worker", "services/worker", "lightflow/_task.py"):
        assert engine not in shown.stdout


def test_run_of_a_broken_file_is_one_clear_line(marker: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("from lightflow.models import Dag\nd = Dag('x'\n")
    result = lfctl("run", str(broken), marker=marker)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "broken.py" in result.stderr
    assert processes_with(marker) == []


def test_commands_without_a_stack_say_so(marker: str, tmp_path: Path) -> None:
    result = lfctl("workflow", "status", marker=marker, cwd=tmp_path)
    assert result.returncode == 1
    assert "no Lightflow stack found" in result.stderr
    assert "Traceback" not in result.stderr


def test_up_serves_lfctl_and_the_client_then_stops_cleanly(marker: str, tmp_path: Path) -> None:
    assert lfctl("config", "examples", ".", marker=marker, cwd=tmp_path).returncode == 0
    env = {**os.environ, "LIGHTFLOW_TEST_MARKER": marker}
    env.pop("LIGHTFLOW_ADDRESS", None)
    up = subprocess.Popen(
        [*LFCTL, "up"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stack = assert_eventually(lambda: read_stack_file(tmp_path), timeout=60)
        started = lfctl("workflow", "start", "sequential", "--wait", marker=marker, cwd=tmp_path)
        assert started.returncode == 0, started.stderr
        assert "[main_dag/task_3] This is task #3" in started.stdout
        run_id = started.stdout.splitlines()[0]

        client = Client(",".join(stack.scheduler_addresses), token=stack.token)
        run = client.start("sequential")
        assert run.wait(timeout=60) == "succeeded"
        client.close()

        status = lfctl("workflow", "status", run_id, marker=marker, cwd=tmp_path)
        assert status.returncode == 0, status.stderr
        assert "succeeded" in status.stdout.splitlines()[0]
        assert "task_3" in status.stdout

        unknown = lfctl("workflow", "start", "nope", marker=marker, cwd=tmp_path)
        assert unknown.returncode == 1
        assert "workflow 'nope' not found" in unknown.stderr
        assert "Traceback" not in unknown.stderr

        # The dashboard: its sign-in link, and its API shows the runs.
        link = lfctl("dashboard", marker=marker, cwd=tmp_path)
        assert link.returncode == 0, link.stderr
        assert link.stdout.strip() == f"{stack.web_url}login#token={stack.token}"
        request = urllib.request.Request(
            f"{stack.web_url}api/v1/runs", headers={"Authorization": f"Bearer {stack.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            shown = json.load(response)
        assert run_id in [r["id"] for r in shown["runs"]]
    finally:
        up.send_signal(signal.SIGINT)
        out, err = up.communicate(timeout=60)
    assert up.returncode == 0, err
    assert "schedulers: " in out
    assert f"dashboard: {stack.web_url}login#token=" in out
    assert read_stack_file(tmp_path) is None
    assert_eventually(lambda: processes_with(marker) == [], timeout=20)


EXPECTED_LINES = {
    "data_flow": ["[main_dag/print_task_4] print_task_4 The value is: -120"],
    "data_store": [
        "[main_dag/modify_task] The number is: 5",
        "[main_dag/modify_task] The dimension of the image is: (100, 100)",
    ],
    "sub_dag": [
        f"[sub_dag:{i}/print_task] Received an image with dimensions: (100, 100)"
        for i in range(1, 6)
    ],
    "parallel": ["[main_dag/t_join_me] Task t_join_me being run in DAG main_dag for workflow"],
    "simple": ["[main_dag/print_task] The value is: 5"],
    "custom_task": ["[main_dag/show_task] The value is: 42"],
    # 64 MiB handed along two hops, through the store's blobs rather than the schedulers
    "big_data": ["[main_dag/check_task] shape (8388608,) nbytes 67108864 last 16777214.0"],
}


@pytest.mark.parametrize("example", sorted(EXPECTED_LINES))
def test_run_shows_what_each_example_prints(marker: str, example: str) -> None:
    result = lfctl("run", str(EXAMPLES / f"{example}.py"), "--concurrency", "1", marker=marker)
    assert result.returncode == 0, result.stderr
    for expected in EXPECTED_LINES[example]:
        assert any(line.startswith(expected) for line in result.stdout.splitlines()), expected
    assert f"of {example}: succeeded" in result.stdout.splitlines()[-1]
    assert processes_with(marker) == []


def test_run_arguments_reach_the_tasks(marker: str) -> None:
    result = lfctl(
        "run", str(EXAMPLES / "parameters.py"), "name=Ada", "count=3", "loud=yes", marker=marker
    )
    assert result.returncode == 0, result.stderr
    assert "[main_dag/arguments_task] name='Ada' count=3 loud=True" in result.stdout
    assert "[main_dag/greet_task] 3 HELLO ADA!" in result.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((), "'name'"),
        (("name=Ada", "count=many"), "option 'count' expects int, got 'many'"),
        (("name=Ada", "colour=red"), "'colour'"),
        (("name",), "'name' is not KEY=VALUE"),
    ],
)
def test_bad_run_arguments_are_refused_before_the_run(
    marker: str, arguments: tuple[str, ...], message: str
) -> None:
    result = lfctl("run", str(EXAMPLES / "parameters.py"), *arguments, marker=marker)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "arguments_task" not in result.stdout  # nothing ran
    assert processes_with(marker) == []


def test_a_bash_task_streams_its_lines_to_the_callbacks(marker: str) -> None:
    result = lfctl("run", str(EXAMPLES / "bash.py"), marker=marker)
    assert result.returncode == 0, result.stderr
    lines = [line.split("] ", 1)[1] for line in result.stdout.splitlines() if "] " in line]
    assert {"stdout: first", "stderr: second", "return code: 3"} <= set(lines)
    assert "captured stdout: 'first\\n/\\n'" in lines


def test_status_shows_the_tasks_an_abort_left_unrun_as_cancelled(
    marker: str, start_stack: Callable[..., LocalStack]
) -> None:
    stack = start_stack()
    client = Client(stack.scheduler_addresses, token=stack.options.token)
    client.register(EXAMPLES / "abort.py")
    run = client.start("abort")
    assert run.wait(timeout=60) == "aborted"
    client.close()
    address = ",".join(stack.scheduler_addresses)
    shown = lfctl(
        "--address",
        address,
        "--token",
        stack.options.token or "",
        "workflow",
        "status",
        run.id,
        marker=marker,
    )
    assert shown.returncode == 0, shown.stderr
    rows = {
        line.split()[2]: line.split()[3]
        for line in shown.stdout.splitlines()
        if line.startswith("main_dag ")
    }
    assert rows == {"check_task": "aborted", "never_task": "cancelled"}, shown.stdout
