"""lfctl's config, tables and live views as a user sees them: plain text when stdout is not a
terminal, a live board on a (pseudo-)terminal."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lightflow._stackfile import StackInfo, read_stack_file
from tests.conftest import EXAMPLES, assert_eventually
from tests.e2e.test_cli import LFCTL, lfctl, marker, processes_with

__all__ = ["marker"]  # a fixture, used by name


def test_config_default_list_and_precedence(marker: str, tmp_path: Path) -> None:
    wrote = lfctl("config", "default", ".", marker=marker, cwd=tmp_path)
    assert wrote.returncode == 0, wrote.stderr
    config = tmp_path / "lightflow.cfg"
    config.write_text(config.read_text().replace("schedulers = 2", "schedulers = 3"))
    again = lfctl("config", "default", ".", marker=marker, cwd=tmp_path)
    assert again.returncode == 1
    assert "exists already" in again.stderr

    env = {**os.environ, "LIGHTFLOW_TEST_MARKER": marker, "LIGHTFLOW_WORKER_QUEUES": "a,b"}
    env.pop("LIGHTFLOW_ADDRESS", None)
    shown = subprocess.run(
        [*LFCTL, "config", "list"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == f"config file: {config}"
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert rows["stack.schedulers"][1:] == ["3", "file", str(config)]
    assert rows["worker.queues"][1:] == ["a,", "b", "env", "LIGHTFLOW_WORKER_QUEUES"]
    assert rows["tls.ca"][1:] == ["default"]
    assert rows["workflows"][1] == str(tmp_path / "examples")

    explicit = tmp_path / "other.cfg"
    explicit.write_text('token = "s3cret"\n[stack]\nworkers = 0\n')
    other = lfctl("-c", str(explicit), "config", "list", marker=marker, cwd=tmp_path)
    assert other.returncode == 0, other.stderr
    assert "s3cret" not in other.stdout
    assert "****" in other.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[stack\n", "cannot read config file"),
        ("colour = 'red'\n", "unknown setting 'colour'"),
        ("[stack]\nschedulers = 'many'\n", "invalid 'stack.schedulers'"),
        ("[stack]\nschedulers = 0\n", "stack.schedulers"),
    ],
)
def test_a_bad_config_is_one_line(marker: str, tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "lightflow.cfg").write_text(text)
    result = lfctl("workflow", "list", marker=marker, cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_missing_config_file_is_one_line(marker: str, tmp_path: Path) -> None:
    result = lfctl("-c", "nope.cfg", "config", "list", marker=marker, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: config file nope.cfg does not exist"


@pytest.fixture
def stack(marker: str, tmp_path: Path) -> Iterator[StackInfo]:
    """`lfctl up` in tmp_path with the examples copied there."""
    assert lfctl("config", "examples", ".", marker=marker, cwd=tmp_path).returncode == 0
    env = {**os.environ, "LIGHTFLOW_TEST_MARKER": marker}
    env.pop("LIGHTFLOW_ADDRESS", None)
    up = subprocess.Popen(
        [*LFCTL, "up", "--schedulers", "2", "--workers", "1", "--concurrency", "2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield assert_eventually(lambda: read_stack_file(tmp_path), timeout=60)
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(60)
        assert_eventually(lambda: processes_with(marker) == [], timeout=20)


def test_workflow_verbs_tables_and_plain_views(
    marker: str, tmp_path: Path, stack: StackInfo
) -> None:
    listed = lfctl("workflow", "list", marker=marker, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].split() == ["name", "description", "file"]
    assert any(line.startswith("sequential ") for line in listed.stdout.splitlines())

    monitor = subprocess.Popen(
        [*LFCTL, "monitor", "--duration", "12", "--interval", "0.2"],
        cwd=tmp_path,
        env={**os.environ, "LIGHTFLOW_TEST_MARKER": marker},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert monitor.stderr is not None
    assert monitor.stderr.readline().startswith("monitoring runs")
    started = lfctl("workflow", "start", "sequential", "--wait", marker=marker, cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    run_id = started.stdout.splitlines()[0]
    assert started.stdout.splitlines()[-1].startswith(f"run {run_id} of sequential: succeeded in ")

    registered = lfctl("workflow", "list", "--registered", marker=marker, cwd=tmp_path)
    assert registered.returncode == 0, registered.stderr
    assert registered.stdout.splitlines()[0].split() == ["name", "dags", "registered", "definition"]
    assert any(line.startswith("sequential ") for line in registered.stdout.splitlines())

    runs = lfctl("workflow", "status", "--status", "succeeded", marker=marker, cwd=tmp_path)
    assert runs.returncode == 0, runs.stderr
    header, row = runs.stdout.splitlines()[:2]
    assert header.split() == ["run", "workflow", "status", "started", "duration"]
    assert row.split()[:3] == [run_id, "sequential", "succeeded"]

    details = lfctl("workflow", "status", run_id, "--details", marker=marker, cwd=tmp_path)
    assert details.returncode == 0, details.stderr
    lines = details.stdout.splitlines()
    assert lines[0].startswith(f"run {run_id} of sequential: succeeded (started ")
    assert lines[1].split()[:3] == ["dag", "task", "status"]
    task_rows = [line.split() for line in lines[2:]]
    assert [r[2] for r in task_rows] == ["task_1", "task_2", "task_3"]
    assert all(r[3] == "succeeded" for r in task_rows)

    watched = lfctl("workflow", "watch", run_id, marker=marker, cwd=tmp_path)
    assert watched.returncode == 0, watched.stderr
    assert "[main_dag/task_2] This is task #2" in watched.stdout
    assert watched.stdout.splitlines()[-1].startswith(f"run {run_id} of sequential: succeeded")

    out, err = monitor.communicate(timeout=60)
    assert monitor.returncode == 0, err
    events = [line for line in out.splitlines() if f"  {run_id}  sequential  " in line]
    assert any(line.endswith("run_ended succeeded") for line in events), out
    assert any("task_output main_dag/task_3 This is task #3" in line for line in events)

    once = lfctl("monitor", "--once", marker=marker, cwd=tmp_path)
    assert once.returncode == 0, once.stderr
    assert once.stdout.splitlines()[0].split()[:3] == ["run", "workflow", "status"]
    assert run_id in once.stdout

    workers = lfctl("worker", "status", marker=marker, cwd=tmp_path)
    assert workers.returncode == 0, workers.stderr
    assert workers.stdout.splitlines()[0].split()[:3] == ["worker", "queues", "running"]

    unknown = lfctl("workflow", "status", "no-such-run", marker=marker, cwd=tmp_path)
    assert unknown.returncode == 1
    assert "no-such-run" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    bad_status = lfctl("workflow", "status", "--status", "happy", marker=marker, cwd=tmp_path)
    assert bad_status.returncode == 2
    assert "Traceback" not in bad_status.stderr


def test_a_stack_that_is_gone_is_one_line(marker: str, tmp_path: Path) -> None:
    result = lfctl(
        "--address", "127.0.0.1:1", "workflow", "status", marker=marker, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 1
    assert "no scheduler replica answers at 127.0.0.1:1" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _run_in_terminal(args: list[str], cwd: Path, marker: str, timeout: float = 120) -> str:
    """Runs lfctl with a pseudo-terminal as stdout; returns everything it wrote."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "LIGHTFLOW_TEST_MARKER": marker, "TERM": "xterm", "COLUMNS": "120"}
    process = subprocess.Popen(
        [*LFCTL, *args], cwd=cwd, env=env, stdout=terminal, stderr=terminal, close_fds=True
    )
    os.close(terminal)
    chunks = []
    while True:
        ready, _, _ = select.select([controller], [], [], timeout)
        if not ready:
            process.kill()
            raise AssertionError("lfctl wrote nothing for too long")
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the process ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    assert process.wait(30) == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


def test_run_on_a_terminal_draws_the_tasks_live(marker: str, tmp_path: Path) -> None:
    out = _run_in_terminal(["run", str(EXAMPLES / "sequential.py")], tmp_path, marker)
    assert "\x1b[" in out  # drawn in place
    for task in ("main_dag/task_1", "main_dag/task_2", "main_dag/task_3"):
        assert task in out
    assert "[main_dag/task_3] This is task #3" in out
    assert "of sequential: succeeded in " in out
    assert processes_with(marker) == []
    assert sys.stdout is not None
