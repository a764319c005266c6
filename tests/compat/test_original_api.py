"""Code written for the original Lightflow imports unchanged: its module paths resolve to our
own classes (one hierarchy, not a second), and the contracts its own unit tests check hold
(BashTask called directly with autospec mocks, exceptions built with `message=`)."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any
from unittest.mock import Mock, call, create_autospec

import pytest

import lightflow
import lightflow.models
import lightflow.tasks
from lightflow._errors import LightflowError

# (module, name) -> the object of our public surface it must be
ORIGINAL_NAMES: dict[tuple[str, str], object] = {
    ("lightflow.models.action", "Action"): lightflow.models.Action,
    ("lightflow.models.dag", "Dag"): lightflow.models.Dag,
    ("lightflow.models.datastore", "DataStoreDocument"): lightflow.models.DataStoreDocument,
    ("lightflow.models.datastore", "DataStoreDocumentSection"): (
        lightflow.models.DataStoreDocumentSection
    ),
    ("lightflow.models.exceptions", "AbortWorkflow"): lightflow.models.AbortWorkflow,
    ("lightflow.models.exceptions", "StopTask"): lightflow.models.StopTask,
    ("lightflow.models.exceptions", "LightflowException"): lightflow.LightflowError,
    ("lightflow.models.parameters", "Option"): lightflow.models.Option,
    ("lightflow.models.parameters", "Parameters"): lightflow.models.Parameters,
    ("lightflow.models.task", "BaseTask"): lightflow.models.BaseTask,
    ("lightflow.models.task", "TaskStatus"): lightflow.models.TaskStatus,
    ("lightflow.models.task_context", "TaskContext"): lightflow.models.TaskContext,
    ("lightflow.models.task_data", "MultiTaskData"): lightflow.models.MultiTaskData,
    ("lightflow.models.task_data", "TaskData"): lightflow.models.TaskData,
    ("lightflow.models.task_parameters", "TaskParameters"): lightflow.models.TaskParameters,
    ("lightflow.models.task_signal", "TaskSignal"): lightflow.models.TaskSignal,
    ("lightflow.tasks.bash_task", "BashTask"): lightflow.tasks.BashTask,
    ("lightflow.tasks.python_task", "PythonTask"): lightflow.tasks.PythonTask,
}


@pytest.mark.parametrize(("module", "name"), sorted(ORIGINAL_NAMES))
def test_the_original_module_paths_are_our_classes(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is ORIGINAL_NAMES[module, name]


def test_the_compatibility_modules_stay_out_of_the_top_level_surface() -> None:
    assert not {"queue", "logger", "LightflowException"} & set(lightflow.__all__)


def test_the_original_exceptions_share_our_root() -> None:
    from lightflow.models import exceptions

    for name in exceptions.__all__:
        assert issubclass(getattr(exceptions, name), exceptions.LightflowException), name
    error = exceptions.LightflowException(message="the-message")
    assert str(error) == "the-message"
    assert "the-message" in repr(error)
    assert error.message == "the-message"
    stop = exceptions.StopTask("enough", skip_successors=False)
    assert (stop.message, stop.skip_successors) == ("enough", False)
    with pytest.raises(exceptions.LightflowException):
        raise exceptions.AbortWorkflow(message="abort")


def test_the_queue_names_of_the_original() -> None:
    from lightflow.queue import DefaultJobQueueName, JobType

    assert JobType.Task == DefaultJobQueueName.Task == "task"
    assert lightflow.models.BaseTask("t", queue=JobType.Task).queue == "task"


def test_get_logger_writes_info_to_the_task_output(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lightflow.logger import get_logger

    # as in a task process: no logging configured by anyone
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    logger = get_logger("an_extension.some_task")
    assert get_logger("an_extension.some_task") is logger
    logger.info("Copy %s to %s", "a", "b")
    logger.debug("not shown")
    assert capsys.readouterr().err == "INFO an_extension.some_task: Copy a to b\n"


# --- BashTask run directly, as the original's unit tests do ------------------------------


@pytest.fixture
def mocks() -> tuple[Any, Any, Any, Any]:
    """data, store, signal, context: autospec mocks of the original's classes, as in the
    original's conftest.py."""
    from lightflow.models.datastore import DataStoreDocument
    from lightflow.models.task_context import TaskContext
    from lightflow.models.task_data import MultiTaskData
    from lightflow.models.task_signal import TaskSignal

    return (
        create_autospec(MultiTaskData, instance=True),
        create_autospec(DataStoreDocument, instance=True),
        create_autospec(TaskSignal, instance=True),
        create_autospec(TaskContext, instance=True),
    )


def test_bash_task_lines_reach_the_callbacks_with_their_newline(mocks: Any) -> None:
    from lightflow.tasks.bash_task import BashTask

    stdout, stderr = Mock(), Mock()
    task = BashTask(
        "task", "echo line1; echo line2", callback_stdout=stdout, callback_stderr=stderr
    )
    task.run(*mocks)
    assert stdout.call_args_list == [call("line1\n", *mocks), call("line2\n", *mocks)]
    assert not stderr.called


def test_bash_task_stderr_and_captured_files(mocks: Any, tmp_path: Path) -> None:
    from lightflow.tasks.bash_task import BashTask

    ended: dict[str, Any] = {}

    def end(code: int, out: Any, err: Any, *rest: Any) -> None:
        ended.update(code=code, out=out.read(), err=err.read(), rest=rest)

    stderr = Mock()
    BashTask("task", "echo ok; no-such-command-here", callback_stderr=stderr).run(*mocks)
    assert "command not found" in stderr.call_args[0][0]
    assert stderr.call_args[0][1:] == tuple(mocks)
    task = BashTask(
        "task",
        "echo ok; no-such-command-here",
        capture_stdout=True,
        capture_stderr=True,
        callback_end=end,
    )
    task.run(*mocks)
    assert ended["code"] > 0
    assert ended["out"] == b"ok\n"
    assert b"command not found" in ended["err"]
    assert ended["rest"] == tuple(mocks)


@pytest.mark.parametrize("raised", ["StopTask", "AbortWorkflow"])
def test_bash_task_ends_the_command_when_a_callback_stops_or_aborts(
    raised: str, mocks: Any
) -> None:
    # The original checked this with a mocked Popen; ours stops the command's whole process
    # group, so it is checked on real processes: bash and the sleep it started are gone.
    from lightflow.models import exceptions
    from lightflow.tasks.bash_task import BashTask

    error = getattr(exceptions, raised)
    pids: list[int] = []

    def started(pid: int, *rest: Any) -> None:
        pids.append(pid)
        raise error()

    task = BashTask("task", "sleep 60 & wait", callback_process=started)
    with pytest.raises(error):
        task.run(*mocks)
    assert live_members_of_group(pids[0]) == []


def live_members_of_group(pgid: int) -> list[int]:
    """PIDs of the processes of a process group that still run (not zombies)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def test_every_error_of_the_package_is_a_lightflow_exception() -> None:
    from lightflow.models.exceptions import LightflowException

    assert LightflowException is LightflowError
    assert issubclass(lightflow.ClientError, LightflowException)
