"""The live board of `lfctl run` / `lfctl workflow watch`: tasks that had not started when
the run ended never will, and show `cancelled`, as GetRun says."""

from __future__ import annotations

from lightflow._client import RunEvent, RunInfo, TaskInfo
from lightflow_cli.views import RunBoard


def _event(type_: str, *, task: str = "", status: str = "") -> RunEvent:
    return RunEvent(
        id="1-0",
        time=None,
        type=type_,
        dag_instance="main_dag",
        task_name=task,
        attempt=1 if task else 0,
        worker_id="",
        status=status,
        text="",
        stream="",
        failure=None,
    )


def _rows(board: RunBoard) -> dict[str, str]:
    return {row.task: row.status for row in board._rows.values()}


def test_tasks_not_started_when_the_run_ends_show_cancelled() -> None:
    board = RunBoard("r", "abort")
    tasks = [
        TaskInfo("main_dag", name, "waiting", 0, "", "task")
        for name in ("check_task", "never_task", "queued_task")
    ]
    board.seed(RunInfo("r", "abort", "running", None, None, None, {"main_dag": "running"}, tasks))
    board.apply(_event("task_queued", task="queued_task"))
    board.apply(_event("task_started", task="check_task"))
    board.apply(_event("task_ended", task="check_task", status="aborted"))
    assert _rows(board) == {
        "check_task": "aborted",
        "never_task": "waiting",
        "queued_task": "queued",
    }
    board.apply(_event("run_ended", status="aborted"))
    assert board.status == "aborted"
    assert _rows(board) == {
        "check_task": "aborted",
        "never_task": "cancelled",
        "queued_task": "cancelled",
    }
