"""The user-facing model: Dag.define forms and validation, tasks, actions, exports."""

from __future__ import annotations

import pickle
from typing import Any

import cloudpickle
import pytest

import lightflow.models
import lightflow.tasks
from lightflow._dag import DagDefinitionError
from lightflow._errors import LightflowError
from lightflow._task import TaskResultError
from lightflow.models import (
    AbortWorkflow,
    Action,
    BaseTask,
    Dag,
    MultiTaskData,
    StopTask,
    TaskContext,
    TaskData,
    TaskStatus,
)
from lightflow.tasks import BashTask, PythonTask


def noop(data: Any, store: Any, signal: Any, context: TaskContext) -> None:
    return None


def make(*names: str) -> list[PythonTask]:
    return [PythonTask(name, noop) for name in names]


def edge_names(dag: Dag) -> list[tuple[str, str, str | None]]:
    return [(e.parent.name, e.child.name, e.alias) for e in dag.edges]


CONTEXT = TaskContext("t", "main_dag", "wf", "run-1", "host")


# --- exports ---------------------------------------------------------------------------


def test_models_exports_are_pinned() -> None:
    assert sorted(lightflow.models.__all__) == [
        "AbortWorkflow",
        "Action",
        "BaseTask",
        "Dag",
        "DataStoreDocument",
        "DataStoreDocumentSection",
        "MultiTaskData",
        "Option",
        "Parameters",
        "Schedule",
        "StopTask",
        "TaskContext",
        "TaskData",
        "TaskParameters",
        "TaskSignal",
        "TaskStatus",
    ]
    for name in lightflow.models.__all__:
        assert getattr(lightflow.models, name) is not None


def test_tasks_exports_are_pinned() -> None:
    assert lightflow.tasks.__all__ == ["BashTask", "PythonTask"]
    assert lightflow.tasks.PythonTask is PythonTask
    assert lightflow.tasks.BashTask is BashTask


# --- Dag.define ------------------------------------------------------------------------


def test_define_with_a_single_task_value() -> None:
    t1, t2, t3 = make("task_1", "task_2", "task_3")
    dag = Dag("main_dag")
    dag.define({t1: t2, t2: t3})
    dag.validate()
    assert [t.name for t in dag.tasks] == ["task_1", "task_2", "task_3"]
    assert edge_names(dag) == [("task_1", "task_2", None), ("task_2", "task_3", None)]


def test_define_with_a_list_fans_out() -> None:
    branch, a, b, join = make("branch", "a", "b", "join")
    dag = Dag("main_dag")
    dag.define({branch: [a, b], a: join, b: join})
    dag.validate()
    assert [t.name for t in dag.tasks] == ["branch", "a", "b", "join"]
    assert edge_names(dag) == [
        ("branch", "a", None),
        ("branch", "b", None),
        ("a", "join", None),
        ("b", "join", None),
    ]


def test_define_with_a_dict_sets_aliases_and_empty_alias_means_none() -> None:
    put, left, right, other = make("put", "left", "right", "other")
    dag = Dag("main_dag")
    dag.define({put: {left: "first", right: None, other: ""}})
    dag.validate()
    assert edge_names(dag) == [
        ("put", "left", "first"),
        ("put", "right", None),
        ("put", "other", None),
    ]


def test_define_with_none_adds_a_lone_task() -> None:
    (only,) = make("print_task")
    dag = Dag("sub_dag", autostart=False)
    dag.define({only: None})
    dag.validate()
    assert dag.tasks == [only]
    assert dag.edges == []
    assert dag.autostart is False
    assert dag.queue == "dag"
    assert dag.name == "sub_dag"


def test_define_replaces_the_previous_definition() -> None:
    a, b, c = make("a", "b", "c")
    dag = Dag("main_dag")
    dag.define({a: b})
    dag.define({c: None})
    assert dag.tasks == [c]
    assert dag.edges == []


def test_repeated_edge_is_kept_once() -> None:
    a, b = make("a", "b")
    dag = Dag("main_dag")
    dag.define({a: [b, b]})
    dag.validate()
    assert edge_names(dag) == [("a", "b", None)]


def test_edges_unpack_as_triples() -> None:
    a, b = make("a", "b")
    dag = Dag("main_dag")
    dag.define({a: {b: "x"}})
    ((parent, child, alias),) = dag.edges
    assert (parent, child, alias) == (a, b, "x")


# --- Dag.validate ----------------------------------------------------------------------


def test_cycle_is_refused_and_named() -> None:
    a, b, c, d = make("a", "b", "c", "d")
    dag = Dag("loopy")
    dag.define({d: a, a: b, b: c, c: a})
    with pytest.raises(DagDefinitionError, match="'loopy' has a cycle: 'a' -> 'b' -> 'c' -> 'a'"):
        dag.validate()


def test_self_loop_is_a_cycle() -> None:
    (a,) = make("a")
    dag = Dag("selfish")
    dag.define({a: a})
    with pytest.raises(DagDefinitionError, match="'selfish' has a cycle: 'a' -> 'a'"):
        dag.validate()


def test_long_chain_validates_without_recursion_error() -> None:
    tasks = make(*(f"t{i}" for i in range(5000)))
    dag = Dag("long")
    dag.define({tasks[i]: tasks[i + 1] for i in range(len(tasks) - 1)})
    dag.validate()


def test_empty_dag_is_refused() -> None:
    dag = Dag("empty_dag")
    with pytest.raises(DagDefinitionError, match="'empty_dag' has no task"):
        dag.validate()
    dag.define({})
    with pytest.raises(DagDefinitionError, match="'empty_dag' has no task"):
        dag.validate()


def test_two_tasks_with_the_same_name_are_refused() -> None:
    first = PythonTask("twin", noop)
    second = PythonTask("twin", noop)
    dag = Dag("main_dag")
    dag.define({first: second})
    with pytest.raises(DagDefinitionError, match="'main_dag' has two different tasks named 'twin'"):
        dag.validate()


def test_the_same_task_object_twice_is_fine() -> None:
    a, b = make("a", "b")
    dag = Dag("main_dag")
    dag.define({a: b, b: None})
    dag.validate()
    assert dag.tasks == [a, b]


@pytest.mark.parametrize(
    ("schema_of", "fragment"),
    [
        (lambda a: {"a": a}, "the key 'a' is not a task"),
        (lambda a: {a: "b"}, "the successor of 'a' 'b' is not a task"),
        (lambda a: {a: [noop]}, "is not a task"),
        (lambda a: {a: {42: None}}, "the successor of 'a' 42 is not a task"),
    ],
)
def test_entries_that_are_not_tasks_are_refused(schema_of: Any, fragment: str) -> None:
    (a,) = make("a")
    dag = Dag("main_dag")
    dag.define(schema_of(a))
    with pytest.raises(DagDefinitionError) as info:
        dag.validate()
    assert "DAG 'main_dag'" in str(info.value)
    assert fragment in str(info.value)


def test_dag_definition_error_is_a_lightflow_error() -> None:
    assert issubclass(DagDefinitionError, LightflowError)


def test_dag_pickles() -> None:
    a, b = make("a", "b")
    dag = Dag("main_dag")
    dag.define({a: b})
    copy = cloudpickle.loads(cloudpickle.dumps(dag))
    assert edge_names(copy) == [("a", "b", None)]


# --- tasks and actions -----------------------------------------------------------------


def test_python_task_defaults() -> None:
    task = PythonTask("t", noop)
    assert task.name == "t"
    assert task.queue == "task"
    assert task.force_run is False
    assert task.propagate_skip is True
    assert task.callback_init is None
    assert task.callback_finally is None
    assert task.callback is noop


def test_python_task_options() -> None:
    def init(data: Any, store: Any, signal: Any, context: TaskContext) -> None:
        return None

    def finally_(status: TaskStatus, data: Any, store: Any, signal: Any, ctx: Any) -> None:
        return None

    task = PythonTask(
        "t",
        noop,
        queue="gpu",
        callback_init=init,
        callback_finally=finally_,
        force_run=True,
        propagate_skip=False,
    )
    assert (task.queue, task.force_run, task.propagate_skip) == ("gpu", True, False)
    assert task.callback_init is init
    assert task.callback_finally is finally_


def test_python_task_run_calls_the_callback_and_returns_its_result() -> None:
    seen: list[Any] = []

    def callback(data: Any, store: Any, signal: Any, context: TaskContext) -> Action:
        seen.append((data, store, signal, context))
        data["value"] = 1
        return Action(data, limit=["b"])

    data = MultiTaskData(dataset=TaskData())
    result = PythonTask("t", callback).run(data, "store", "signal", CONTEXT)
    assert seen == [(data, "store", "signal", CONTEXT)]
    assert isinstance(result, Action)
    assert result.data["value"] == 1
    assert result.limit == ["b"]


def test_python_task_run_returns_none_for_none() -> None:
    assert PythonTask("t", noop).run(MultiTaskData(), None, None, CONTEXT) is None


def test_python_task_refuses_other_results() -> None:
    def returns_a_number(data: Any, store: Any, signal: Any, context: TaskContext) -> Any:
        return 42

    task = PythonTask("t", returns_a_number)
    with pytest.raises(TaskResultError, match="task 't' returned int"):
        task.run(MultiTaskData(), None, None, CONTEXT)


def test_base_task_run_must_be_implemented() -> None:
    with pytest.raises(NotImplementedError):
        BaseTask("t").run(MultiTaskData(), None, None, CONTEXT)


def test_custom_task_subclass() -> None:
    class Double(BaseTask):
        def run(self, data: Any, store: Any, signal: Any, context: TaskContext) -> None:
            data["value"] *= 2

    data = MultiTaskData(dataset=TaskData({"value": 4}))
    Double("double", queue="q").run(data, None, None, CONTEXT)
    assert data["value"] == 8


def test_action_limit_names_accepts_tasks_and_names() -> None:
    a, b = make("a", "b")
    assert Action("data").limit is None
    assert Action("data").limit_names is None
    action = Action("data", limit=[a, "b"])
    assert action.limit_names == ["a", "b"]
    assert action.limit == [a, "b"]
    assert Action("data", limit=[]).limit_names == []
    copy = action.copy()
    assert copy is not action
    assert copy.data == "data"
    assert b.name == "b"


def test_stop_task_and_abort_workflow() -> None:
    stop = StopTask("enough")
    assert isinstance(stop, LightflowError)
    assert (stop.message, stop.skip_successors) == ("enough", True)
    assert StopTask(skip_successors=False).skip_successors is False
    abort = AbortWorkflow("boom")
    assert isinstance(abort, LightflowError)
    assert abort.message == "boom"
    assert str(abort) == "boom"


def test_stop_task_survives_pickling() -> None:
    # exceptions cross process boundaries in the worker's pool
    copy = pickle.loads(pickle.dumps(StopTask("halt", skip_successors=False)))
    assert (copy.message, copy.skip_successors) == ("halt", False)
    abort = pickle.loads(pickle.dumps(AbortWorkflow("boom")))
    assert abort.message == "boom"


def test_task_status_has_the_original_names() -> None:
    assert [s.name for s in TaskStatus] == ["Success", "Stopped", "Aborted", "Error"]


def test_task_context_to_dict() -> None:
    context = TaskContext(
        task_name="task_1",
        dag_name="main_dag",
        workflow_name="sequential",
        workflow_id="abc",
        worker_hostname="box",
    )
    assert context.to_dict() == {
        "task_name": "task_1",
        "dag_name": "main_dag",
        "workflow_name": "sequential",
        "workflow_id": "abc",
        "worker_hostname": "box",
    }
    assert "{task_name} in {dag_name}".format(**context.to_dict()) == "task_1 in main_dag"
    with pytest.raises(AttributeError):
        context.task_name = "other"  # type: ignore[misc]


def test_tasks_pickle_with_cloudpickle() -> None:
    task = PythonTask("t", lambda data, store, signal, context: None, queue="q")
    copy = cloudpickle.loads(cloudpickle.dumps(task))
    assert (copy.name, copy.queue) == ("t", "q")
    assert copy.run(MultiTaskData(), None, None, CONTEXT) is None
