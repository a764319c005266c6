"""Loading workflow files, serializing them, and restoring tasks where the file is absent."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import deque
from pathlib import Path

import cloudpickle
import pytest

from lightflow._dag import DagDefinitionError
from lightflow._wire.encodings import ENCODING_CLOUDPICKLE as TASK_ENCODING
from lightflow._workflow import (
    MAX_SOURCE_BYTES,
    TaskDecodeError,
    WorkflowDefinitionError,
    WorkflowFile,
    WorkflowNotFoundError,
    decode_task,
    encode_task,
    find_workflow,
    list_workflows,
    load_workflow,
)
from lightflow.models import Action, Dag, MultiTaskData, TaskContext, TaskData
from lightflow.tasks import PythonTask
from lightflow.v1 import common_pb2

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_NAMES = sorted(
    [
        "abort",
        "bash",
        "big_data",
        "callbacks",
        "custom_task",
        "data_flow",
        "data_store",
        "flow_control",
        "multi_data",
        "parallel",
        "parameters",
        "queues",
        "sequential",
        "simple",
        "stop_dag",
        "stop_task",
        "stop_workflow",
        "store_meta",
        "sub_dag",
        "watch_folder",
    ]
)


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return path


def edges(workflow: WorkflowFile, dag_name: str) -> list[tuple[str, str, str]]:
    proto = workflow.to_proto()
    (dag,) = [d for d in proto.dags if d.name == dag_name]
    return [(e.parent, e.child, e.alias) for e in dag.edges]


def run_dag_locally(dag: Dag, workflow_name: str) -> dict[str, MultiTaskData]:
    """Run a DAG's tasks in topological order, in this process, wiring data like the engine."""
    predecessors: dict[str, list[tuple[str, str | None]]] = {t.name: [] for t in dag.tasks}
    for parent, child, alias in dag.edges:
        predecessors[child.name].append((parent.name, alias))
    remaining = {name: len(p) for name, p in predecessors.items()}
    ready = deque(t for t in dag.tasks if remaining[t.name] == 0)
    outputs: dict[str, MultiTaskData] = {}
    while ready:
        task = ready.popleft()
        if predecessors[task.name]:
            data = MultiTaskData()
            for parent_name, alias in predecessors[task.name]:
                dataset = outputs[parent_name].default_dataset.copy()
                data.add_dataset(parent_name, dataset, aliases=[alias])
        else:
            data = MultiTaskData(dataset=TaskData(), aliases=[task.name])
        context = TaskContext(task.name, dag.name, workflow_name, "run-1", "localhost")
        result = task.run(data, None, None, context)
        outputs[task.name] = result.data if isinstance(result, Action) else data
        for parent, child, _ in dag.edges:
            if parent is task:
                remaining[child.name] -= 1
                if remaining[child.name] == 0:
                    ready.append(child)
    assert len(outputs) == len(dag.tasks)
    return outputs


# --- the examples ----------------------------------------------------------------------


def test_every_example_is_listed() -> None:
    assert [p.stem for p in list_workflows([EXAMPLES])] == EXAMPLE_NAMES


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_example_loads_and_serializes(name: str) -> None:
    workflow = load_workflow(EXAMPLES / f"{name}.py")
    assert workflow.name == name
    assert workflow.path == (EXAMPLES / f"{name}.py").resolve()
    proto = workflow.to_proto()
    assert proto.name == name
    assert proto.source_path == str(workflow.path)
    assert len(proto.options) == {"parameters": 3, "watch_folder": 2}.get(name, 0)
    for dag in proto.dags:
        for task in dag.tasks:
            assert task.code.encoding == TASK_ENCODING
            assert decode_task(task.code).name == task.name


def test_sequential() -> None:
    workflow = load_workflow(EXAMPLES / "sequential.py")
    assert workflow.description == ""
    (dag,) = workflow.dags
    assert (dag.name, dag.autostart, dag.queue) == ("main_dag", True, "dag")
    assert [t.name for t in dag.tasks] == ["task_1", "task_2", "task_3"]
    assert edges(workflow, "main_dag") == [("task_1", "task_2", ""), ("task_2", "task_3", "")]


def test_parallel() -> None:
    workflow = load_workflow(EXAMPLES / "parallel.py")
    (dag,) = workflow.dags
    lanes = ["lane1_print_task", "lane2_print_task", "lane3_print_task"]
    assert [t.name for t in dag.tasks] == ["branch_task", *lanes, "t_join_me"]
    assert edges(workflow, "main_dag") == [
        *[("branch_task", lane, "") for lane in lanes],
        *[(lane, "t_join_me", "") for lane in lanes],
    ]


def test_data_flow_aliases() -> None:
    workflow = load_workflow(EXAMPLES / "data_flow.py")
    assert edges(workflow, "main_dag") == [
        ("put_task", "print_task_1", ""),
        ("put_task", "square_task", ""),
        ("put_task", "multiply_task", ""),
        ("put_task", "subtract_task", "first"),
        ("square_task", "print_task_2", ""),
        ("square_task", "multiply_task", ""),
        ("multiply_task", "print_task_3", ""),
        ("multiply_task", "subtract_task", "second"),
        ("subtract_task", "print_task_4", ""),
    ]


def test_data_flow_computes_like_the_original(capsys: pytest.CaptureFixture[str]) -> None:
    (dag,) = load_workflow(EXAMPLES / "data_flow.py").dags
    outputs = run_dag_locally(dag, "data_flow")
    assert outputs["square_task"]["value"] == 25
    assert outputs["multiply_task"]["value"] == 125
    assert outputs["subtract_task"]["value"] == 5 - 125
    assert "print_task_4 The value is: -120" in capsys.readouterr().out


def test_sequential_counts_to_three(capsys: pytest.CaptureFixture[str]) -> None:
    (dag,) = load_workflow(EXAMPLES / "sequential.py").dags
    outputs = run_dag_locally(dag, "sequential")
    assert outputs["task_3"]["value"] == 3
    out = capsys.readouterr().out
    assert "Task task_1 being run in DAG main_dag for workflow sequential (run-1)" in out
    assert "This is task #3" in out


def test_simple(capsys: pytest.CaptureFixture[str]) -> None:
    workflow = load_workflow(EXAMPLES / "simple.py")
    assert workflow.description
    assert "\n" not in workflow.description
    assert workflow.to_proto().description == workflow.description
    (dag,) = workflow.dags
    run_dag_locally(dag, "simple")
    assert "The value is: 5" in capsys.readouterr().out


def test_sub_dag_has_two_dags_one_not_autostarted() -> None:
    workflow = load_workflow(EXAMPLES / "sub_dag.py")
    proto = workflow.to_proto()
    assert [(d.name, d.autostart) for d in proto.dags] == [("main_dag", True), ("sub_dag", False)]
    assert edges(workflow, "main_dag") == [("init_task", "call_dag_task", "")]
    assert [t.name for t in proto.dags[1].tasks] == ["print_task"]
    assert proto.dags[1].edges == []
    assert workflow.dag("sub_dag").autostart is False
    with pytest.raises(WorkflowDefinitionError, match="no DAG 'nope'; its DAGs: 'main_dag'"):
        workflow.dag("nope")


def test_data_store_tasks() -> None:
    workflow = load_workflow(EXAMPLES / "data_store.py")
    assert edges(workflow, "main_dag") == [
        ("store_task", "modify_task", ""),
        ("modify_task", "add_filename_task", ""),
        ("modify_task", "add_more_filename_task", ""),
    ]


def test_task_options_reach_the_proto(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "options.py",
        '''
        """Options."""
        from lightflow.models import Dag
        from lightflow.tasks import PythonTask

        def cb(data, store, signal, context):
            pass

        a = PythonTask('a', cb, queue='gpu', force_run=True, propagate_skip=False)
        d = Dag('main', autostart=False, queue='dags')
        d.define({a: None})
        ''',
    )
    proto = load_workflow(path).to_proto()
    assert proto.description == "Options."
    (dag,) = proto.dags
    assert (dag.name, dag.autostart, dag.queue) == ("main", False, "dags")
    (task,) = dag.tasks
    assert (task.name, task.queue, task.force_run) == ("a", "gpu", True)
    assert task.stop_skip_propagation  # propagate_skip=False


def test_serialization_is_stable_across_loads() -> None:
    first = load_workflow(EXAMPLES / "data_flow.py").to_proto().SerializeToString()
    second = load_workflow(EXAMPLES / "data_flow.py").to_proto().SerializeToString()
    assert first == second


def test_the_module_is_not_registered_under_its_bare_stem() -> None:
    workflow = load_workflow(EXAMPLES / "sequential.py")
    assert "sequential" not in sys.modules
    assert workflow.module.__name__ != "sequential"
    assert sys.modules[workflow.module.__name__] is workflow.module


# --- pickling by value -----------------------------------------------------------------

_RUN_IN_FRESH_PROCESS = """
import sys
from lightflow._workflow import decode_task
from lightflow.models import MultiTaskData, TaskContext, TaskData
from lightflow.v1 import common_pb2

assert not any('examples' in p or 'lf_user' in p for p in sys.path), sys.path
payload = common_pb2.Payload.FromString(sys.stdin.buffer.read())
task = decode_task(payload)
data = MultiTaskData(dataset=TaskData({'value': 3}), aliases=['start'])
context = TaskContext(task.name, 'main_dag', 'wf', 'run-9', 'worker-host')
task.run(data, None, None, context)
print('RESULT', task.name, type(task).__name__, data['value'])
"""


def run_fresh(payload: common_pb2.Payload, cwd: Path) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", _RUN_IN_FRESH_PROCESS],
        input=payload.SerializeToString(),
        capture_output=True,
        cwd=cwd,
        check=False,
        timeout=60,
    )
    stdout: bytes = completed.stdout
    assert completed.returncode == 0, completed.stderr.decode()
    return stdout.decode()


def test_example_task_runs_in_a_fresh_process_without_the_file(tmp_path: Path) -> None:
    proto = load_workflow(EXAMPLES / "simple.py").to_proto()
    (put_task,) = [t for t in proto.dags[0].tasks if t.name == "put_task"]
    out = run_fresh(put_task.code, tmp_path)
    assert "RESULT put_task PythonTask 5" in out


def test_helpers_globals_and_task_classes_travel_by_value(tmp_path: Path) -> None:
    folder = tmp_path / "lf_user"
    folder.mkdir()
    path = write(
        folder,
        "by_value.py",
        """
        from lightflow.models import BaseTask, Dag
        from lightflow.tasks import PythonTask

        FACTOR = 7

        def helper(value):
            return value * FACTOR

        def multiply(data, store, signal, context):
            data['value'] = helper(data['value'])
            print('ran', context.task_name, 'on', context.worker_hostname)

        class AddOne(BaseTask):
            def run(self, data, store, signal, context):
                data['value'] += 1

        mult = PythonTask('mult', multiply)
        add = AddOne('add')
        d = Dag('main_dag')
        d.define({mult: add})
        """,
    )
    tasks = {t.name: t for t in load_workflow(path).to_proto().dags[0].tasks}
    out = run_fresh(tasks["mult"].code, tmp_path)
    assert "ran mult on worker-host" in out
    assert "RESULT mult PythonTask 21" in out
    assert "RESULT add AddOne 4" in run_fresh(tasks["add"].code, tmp_path)


_FAIL_IN_FRESH_PROCESS = """
import linecache, sys, traceback
from lightflow._workflow import decode_task, source_entry
from lightflow.v1 import common_pb2, workflow_pb2

definition = workflow_pb2.WorkflowDefinition.FromString(sys.stdin.buffer.read())
linecache.cache[definition.source_path] = source_entry(definition.source_path, definition.source)
task = decode_task(definition.dags[0].tasks[0].code)
try:
    task.run(None, None, None, None)
except Exception as err:
    print(''.join(traceback.format_exception(err)))
"""


def test_the_code_names_its_file_and_the_definition_carries_its_text(tmp_path: Path) -> None:
    folder = tmp_path / "lf_user"
    folder.mkdir()
    path = write(
        folder,
        "failing.py",
        """
        # -*- coding: latin-1 -*-
        from lightflow.models import Dag
        from lightflow.tasks import PythonTask

        def inner():
            raise ValueError('caf\xe9 closed')

        def explode(data, store, signal, context):
            (lambda: inner())()

        d = Dag('main_dag')
        d.define({PythonTask('t', explode): None})
        """,
    )
    path.write_bytes(path.read_text().encode("latin-1"))
    proto = load_workflow(path).to_proto()
    assert proto.source == path.read_bytes().decode("latin-1")
    assert proto.source_path == str(path)
    path.unlink()  # the process that runs the task has no file
    completed = subprocess.run(
        [sys.executable, "-c", _FAIL_IN_FRESH_PROCESS],
        input=proto.SerializeToString(),
        capture_output=True,
        cwd=tmp_path,
        check=True,
        timeout=60,
    )
    trace = completed.stdout.decode()
    lines = proto.source.splitlines()
    for text, function in [
        ("(lambda: inner())()", "explode"),
        ("(lambda: inner())()", "<lambda>"),
        ("raise ValueError('caf\xe9 closed')", "inner"),
    ]:
        number = next(i for i, line in enumerate(lines, 1) if text in line)
        assert f'  File "{path}", line {number}, in {function}\n    {text}\n' in trace, trace


def test_a_file_too_large_to_ship_still_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "large.py",
        """
        from lightflow.models import Dag
        from lightflow.tasks import PythonTask

        d = Dag('main_dag')
        d.define({PythonTask('t', print): None})
        """,
    )
    path.write_text(path.read_text() + "#" * MAX_SOURCE_BYTES + "\n")
    proto = load_workflow(path).to_proto()
    assert proto.source == ""
    assert proto.source_path == str(path)


def test_encode_decode_round_trip() -> None:
    task = PythonTask("t", print, queue="q")
    restored = decode_task(encode_task(task))
    assert isinstance(restored, PythonTask)
    assert (restored.name, restored.queue) == ("t", "q")


def test_decode_task_refuses_bad_payloads() -> None:
    with pytest.raises(TaskDecodeError, match="encoding 'application/bson'"):
        decode_task(common_pb2.Payload(encoding="application/bson", data=b""))
    with pytest.raises(TaskDecodeError, match="cannot unpickle"):
        decode_task(common_pb2.Payload(encoding=TASK_ENCODING, data=b"not a pickle"))
    with pytest.raises(TaskDecodeError, match="holds a int, not a task"):
        decode_task(common_pb2.Payload(encoding=TASK_ENCODING, data=cloudpickle.dumps(3)))


def test_unpicklable_task_names_the_task(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "locked.py",
        """
        import threading
        from lightflow.models import Dag
        from lightflow.tasks import PythonTask

        LOCK = threading.Lock()

        def cb(data, store, signal, context):
            with LOCK:
                pass

        d = Dag('main_dag')
        d.define({PythonTask('locked_task', cb): None})
        """,
    )
    workflow = load_workflow(path)
    with pytest.raises(WorkflowDefinitionError, match="task 'locked_task' of DAG 'main_dag'"):
        workflow.to_proto()


# --- errors while loading --------------------------------------------------------------


def test_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.py", "from lightflow.models import Dag\nd = Dag('x'\n")
    with pytest.raises(WorkflowDefinitionError) as info:
        load_workflow(path)
    assert str(path.resolve()) in str(info.value)
    assert "syntax error" in str(info.value)
    assert isinstance(info.value.__cause__, SyntaxError)


def test_import_error_names_the_file_and_keeps_the_cause(tmp_path: Path) -> None:
    path = write(tmp_path, "needs.py", "import module_that_does_not_exist_anywhere\n")
    with pytest.raises(WorkflowDefinitionError) as info:
        load_workflow(path)
    message = str(info.value)
    assert str(path.resolve()) in message
    assert "ModuleNotFoundError" in message
    assert "module_that_does_not_exist_anywhere" in message
    assert isinstance(info.value.__cause__, ModuleNotFoundError)
    assert not [key for key in sys.modules if key.startswith("_lightflow_workflow_needs_")]
    assert message.endswith(
        "; install module_that_does_not_exist_anywhere here and on every worker that runs"
        " the workflow's tasks"
    )


@pytest.mark.parametrize("example", ["sub_dag", "data_store", "big_data"])
def test_an_example_without_numpy_says_how_to_get_it(
    example: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)  # `import numpy` fails as if absent
    with pytest.raises(WorkflowDefinitionError) as info:
        load_workflow(EXAMPLES / f"{example}.py")
    message = str(info.value)
    assert "\n" not in message
    assert message.endswith(
        "; this example needs numpy: pip install numpy, or install Lightflow with its examples"
        " extra (pip install '.[examples]' in a checkout)"
    )


def test_exception_and_exit_at_import_time(tmp_path: Path) -> None:
    path = write(tmp_path, "raises.py", "raise ValueError('bad config')\n")
    with pytest.raises(WorkflowDefinitionError, match="ValueError: bad config"):
        load_workflow(path)
    path = write(tmp_path, "exits.py", "import sys\nsys.exit(3)\n")
    with pytest.raises(WorkflowDefinitionError, match="SystemExit"):
        load_workflow(path)


def test_no_dag(tmp_path: Path) -> None:
    path = write(tmp_path, "nothing.py", "X = 1\n")
    with pytest.raises(WorkflowDefinitionError, match=r"workflow 'nothing' .* defines no DAG"):
        load_workflow(path)


def test_duplicate_dag_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "twins.py",
        """
        from lightflow.models import Dag
        from lightflow.tasks import PythonTask

        def cb(data, store, signal, context):
            pass

        first = Dag('same')
        first.define({PythonTask('a', cb): None})
        second = Dag('same')
        second.define({PythonTask('b', cb): None})
        """,
    )
    with pytest.raises(WorkflowDefinitionError, match=r"workflow 'twins' .* two DAGs named 'same'"):
        load_workflow(path)


def test_one_dag_under_two_names_is_one_dag(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "alias.py",
        """
        from lightflow.models import Dag
        from lightflow.tasks import PythonTask

        d = Dag('main_dag')
        d.define({PythonTask('a', print): None})
        also_d = d
        """,
    )
    assert [dag.name for dag in load_workflow(path).dags] == ["main_dag"]


def test_invalid_dag_is_reported_with_the_workflow(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "cyclic.py",
        """
        from lightflow.models import Dag
        from lightflow.tasks import PythonTask

        a = PythonTask('a', print)
        b = PythonTask('b', print)
        d = Dag('main_dag')
        d.define({a: b, b: a})
        """,
    )
    with pytest.raises(WorkflowDefinitionError) as info:
        load_workflow(path)
    assert "workflow 'cyclic'" in str(info.value)
    assert "DAG 'main_dag' has a cycle: 'a' -> 'b' -> 'a'" in str(info.value)
    assert isinstance(info.value.__cause__, DagDefinitionError)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WorkflowNotFoundError, match="does not exist"):
        load_workflow(tmp_path / "absent.py")


# --- finding workflows -----------------------------------------------------------------


def test_find_and_list_workflows(tmp_path: Path) -> None:
    one = tmp_path / "one"
    two = tmp_path / "two"
    one.mkdir()
    two.mkdir()
    for path in (one / "b.py", one / "_private.py", two / "a.py", two / "b.py", two / "c.txt"):
        path.write_text("")
    missing = tmp_path / "missing"
    assert list_workflows([one, two, missing]) == [one / "b.py", two / "a.py", two / "b.py"]
    assert find_workflow("b", [one, two]) == (one / "b.py").resolve()
    assert find_workflow("a", [str(one), str(two)]) == (two / "a.py").resolve()


@pytest.mark.parametrize("name", ["nope", "_private", "../one/b", ""])
def test_unknown_workflow_lists_folders_and_available(tmp_path: Path, name: str) -> None:
    one = tmp_path / "one"
    one.mkdir()
    (one / "b.py").write_text("")
    (one / "_private.py").write_text("")
    with pytest.raises(WorkflowNotFoundError) as info:
        find_workflow(name, [one])
    message = str(info.value)
    assert repr(name) in message
    assert str(one) in message
    assert "available workflows: b" in message
