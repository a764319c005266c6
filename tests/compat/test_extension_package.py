"""An extension package written for the original Lightflow, installed from PyPI next to ours
(lightflow-filesystem: tasks subclassing BaseTask with TaskParameters, `lightflow.queue`,
`lightflow.logger`), runs its tasks with `lfctl run`, and its inotify trigger task watches a
folder on a real stack until the run is stopped."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lightflow_cli.stack import LocalStack
from tests.conftest import assert_eventually, client_for, dump_logs

WORKFLOWS = Path(__file__).parent / "workflows"
LFCTL = [sys.executable, "-m", "lightflow_cli"]


def test_the_package_installs_next_to_ours() -> None:
    import lightflow_filesystem

    from lightflow.models import BaseTask

    assert issubclass(lightflow_filesystem.NotifyTriggerTask, BaseTask)
    task = lightflow_filesystem.MakeDirTask("mkdir_task", paths=["/tmp/x"])
    assert task.queue == "task"


def test_its_tasks_run_with_lfctl_run(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for name in ("a.txt", "b.txt", "c.log"):
        (tmp_path / "in" / name).write_text(name)
    result = subprocess.run(
        [*LFCTL, "run", str(WORKFLOWS / "filesystem_tasks.py"), f"root={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[main_dag/glob_task] found a.txt, b.txt" in result.stdout
    # what the package's tasks log through lightflow.logger shows with their output
    assert f"INFO lightflow_filesystem.move_task: Move {tmp_path}/in/a.txt" in result.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.txt", "b.txt"]
    assert sorted(p.name for p in (tmp_path / "backup").iterdir()) == ["a.txt", "b.txt"]
    assert [p.name for p in (tmp_path / "in").iterdir()] == ["c.log"]


def test_its_inotify_trigger_starts_dags_until_the_run_is_stopped(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    stack = start_stack(concurrency=3)
    client = client_for(stack)
    client.register(WORKFLOWS / "filesystem_watch.py")
    run = client.start("filesystem_watch", {"root": str(tmp_path)})
    inbox = tmp_path / "in"

    def printed() -> list[str]:
        lines = []
        try:
            for event in run.events(timeout=0.5):
                if event.type == "task_output":
                    lines.append(event.text)
        except TimeoutError:
            pass
        return lines

    def started() -> list[str]:
        return [line for line in printed() if line.startswith("starting files_dag")]

    assert_eventually(inbox.is_dir, timeout=60)
    # The trigger watches from some moment after the folder exists; until a DAG shows it
    # does, hand over a pair of files every second (each pair is one batch of two).
    written: list[str] = []
    deadline = time.monotonic() + 60
    while len(started()) < 2:
        assert time.monotonic() < deadline, dump_logs(stack)
        assert run.status() == "running", printed()
        for _ in range(2):
            name = f"file{len(written)}.txt"
            (inbox / name).write_text(name)
            written.append(name)
        time.sleep(1)
    assert run.status() == "running"
    client.run(run.id).stop()
    assert run.wait(timeout=60) == "stopped", dump_logs(stack)

    info = client.get_run(run.id)
    tasks = {(t.dag_instance, t.name): t for t in info.tasks}
    # the trigger saw the stop and returned; it was not ended by the stop grace
    assert tasks[("watch_dag", "notify_task")].status == "succeeded"
    files_dags = sorted({t.dag_instance for t in info.tasks if t.dag_instance != "watch_dag"})
    assert len(files_dags) == len(started()) >= 2
    for instance in files_dags:
        assert tasks[(instance, "copy_task")].status == "succeeded"
        assert tasks[(instance, "move_task")].status == "succeeded"
    moved = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(moved) == 2 * len(files_dags)
    assert moved == sorted(p.name for p in (tmp_path / "backup").iterdir())
    assert set(moved) <= set(written)
    client.close()
