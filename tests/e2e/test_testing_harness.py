"""lightflow.testing as a user's test suite meets it: the `lightflow_stack` fixture comes
from the pytest11 entry point (nothing here imports the plugin), and runs workflow files and
single tasks on a real embedded stack."""

from __future__ import annotations

from pathlib import Path

from lightflow.models import StopTask
from lightflow.tasks import PythonTask
from lightflow.testing import LocalLightflow
from tests.conftest import EXAMPLES

READS_THE_STORE = '''"""Reads a threshold from the store, counts what passes it."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def count(data, store, signal, context):
    values = [1, 5, 9, 12]
    data['passed'] = [v for v in values if v > store.get('threshold')]
    store.set('report.passed', len(data['passed']))


def show(data, store, signal, context):
    print('passed:', data['passed'])


d = Dag('main')
d.define({PythonTask(name='count', callback=count): PythonTask(name='show', callback=show)})
'''


def double(data, store, signal, context):  # a task defined in a test file
    data["doubled"] = data["value"] * 2
    store.set("last", data["doubled"])
    print("doubled", data["value"])


def refuse(data, store, signal, context):
    if data["value"] < 0:
        raise StopTask("negative input, nothing to do")


def test_a_workflow_file_ends_with_its_outputs_lines_and_statuses(
    lightflow_stack: LocalLightflow,
) -> None:
    result = lightflow_stack.run_workflow(EXAMPLES / "simple.py")
    assert result.status == "succeeded"
    assert result.tasks == {"main_dag/put_task": "succeeded", "main_dag/print_task": "succeeded"}
    assert result.outputs["main_dag/put_task"]["value"] == 5
    assert result.lines("main_dag/print_task") == ["The value is: 5"]
    assert result.store == {}  # the harness's own records are not the workflow's


def test_a_workflow_starts_with_the_store_contents_given(
    lightflow_stack: LocalLightflow, tmp_path: Path
) -> None:
    path = tmp_path / "threshold.py"
    path.write_text(READS_THE_STORE)
    result = lightflow_stack.run_workflow(path, store={"threshold": 4})
    assert result.status == "succeeded", result.failure
    assert result.lines("main/show") == ["passed: [5, 9, 12]"]
    assert result.store == {"threshold": 4, "report": {"passed": 3}}
    assert list(result.tasks) == ["main/count", "main/show"]  # the seeding task is not shown


def test_a_workflow_with_arguments_and_a_failure(lightflow_stack: LocalLightflow) -> None:
    result = lightflow_stack.run_workflow(EXAMPLES / "parameters.py", {"name": "Ada", "count": 2})
    assert result.status == "succeeded"
    assert result.lines("main_dag/greet_task") == ["1 Hello Ada", "2 Hello Ada"]
    failed = lightflow_stack.run_workflow(EXAMPLES / "abort.py")
    assert failed.status == "aborted"
    assert failed.failure is not None


def test_a_single_task_runs_with_the_input_and_store_given(
    lightflow_stack: LocalLightflow,
) -> None:
    task = PythonTask(name="double", callback=double)
    result = lightflow_stack.run_task(task, {"value": 21}, store={"seen": True})
    assert result.status == "succeeded", result.failure
    assert result.tasks == {"test/double": "succeeded"}
    assert result.outputs["test/double"]["doubled"] == 42
    assert result.lines("test/double") == ["doubled 21"]
    assert result.store == {"seen": True, "last": 42}


def test_a_single_tasks_stop_and_exception_come_back(lightflow_stack: LocalLightflow) -> None:
    stopped = lightflow_stack.run_task(PythonTask(name="refuse", callback=refuse), {"value": -1})
    assert stopped.tasks == {"test/refuse": "stopped"}
    assert stopped.outputs == {}
    failing = lightflow_stack.run_task(PythonTask(name="double", callback=double), {})
    assert failing.status == "failed"
    assert failing.tasks == {"test/double": "failed"}
    assert failing.failure is not None
    assert failing.failure.type == "KeyError"
    assert 'data["value"]' in failing.failure.stack_trace.replace("'", '"')
