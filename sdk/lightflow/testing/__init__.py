"""Test workflows in your own test suite, on a real engine.

`LocalLightflow` starts one real embedded stack (redis, the store on its embedded document
store, schedulers and a worker, each a process: what `lfctl run` starts) and runs a workflow
file, or a single task, on it with the input data and store contents you give; it returns the
run's final status, each task's status and output data, the lines they printed and the store
document they left. With pytest, installing Lightflow is enough: the `lightflow_stack` fixture
(lightflow.testing.plugin, registered through the `pytest11` entry point) gives one stack per
test session.

    def test_put_hands_five_on(lightflow_stack):
        result = lightflow_stack.run_workflow("workflows/simple.py")
        assert result.status == "succeeded"
        assert result.outputs["main_dag/put_task"]["value"] == 5
        assert result.lines("main_dag/print_task") == ["The value is: 5"]

How outputs are seen: the tasks are registered wrapped, each handing what it passes on to its
successors to the run's store as well (under a key of its own, taken out of `store` again);
with `store=...`, a first task of each autostart DAG writes those contents before the others
run. Both leave the workflow's own graph and semantics as they are.
"""

from __future__ import annotations

import copy
import os
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import cloudpickle

from lightflow._client import Client, Failure
from lightflow._dag import Dag, DagEdge
from lightflow._store import StoreClient, StoreError
from lightflow._task import BaseTask
from lightflow._workflow import WorkflowFile, load_workflow
from lightflow.models import Action, MultiTaskData
from lightflow.tasks import PythonTask
from lightflow.v1 import scheduler_pb2, workflow_pb2
from lightflow_cli.stack import LocalStack, StackOptions  # what `lfctl run` starts

__all__ = ["LocalLightflow", "RunResult"]

# The store key the wrapped tasks record their outputs under (taken out of RunResult.store).
_RECORDED = "_lightflow_testing"
_SEED_TASK = "_lightflow_testing_seed"
_INPUT_TASK = "_lightflow_testing_input"
_CALLBACKS = ("callback", "callback_init", "callback_finally")


@dataclass(frozen=True)
class RunResult:
    """A run's end as a test checks it. Tasks are named "<dag instance>/<task>"."""

    run_id: str
    #: succeeded, failed, aborted or stopped.
    status: str
    #: The run's first failure (a task's exception, with its traceback), or None.
    failure: Failure | None
    #: Each task's final status: succeeded, failed, skipped, stopped, cancelled, ...
    tasks: dict[str, str]
    #: What each task that returned handed its successors (a MultiTaskData: `["key"]`
    #: reads its default dataset).
    outputs: dict[str, MultiTaskData]
    #: The data section of the run's store document when it ended.
    store: dict[str, Any]
    #: Every line the tasks printed, in order, as (task, line).
    printed: list[tuple[str, str]] = field(default_factory=list)

    def lines(self, task: str) -> list[str]:
        """What the task "<dag instance>/<task>" printed, line by line."""
        return [line for name, line in self.printed if name == task]


class _Recorded:
    """A task's `run`, which also records what the task hands on in the run's store."""

    def __init__(self, task: BaseTask) -> None:
        self.task = task
        self.run = type(task).run

    def __call__(self, data: Any, store: Any, signal: Any, context: Any) -> Any:
        returned = self.run(self.task, data, store, signal, context)
        action = Action(data) if returned is None else returned
        if isinstance(action, Action):
            where = f"{_segment(context.dag_instance)}.{_segment(context.task_name)}"
            store.set(f"{_RECORDED}.outputs.{where}", action.data)
        return returned


class _Seed:
    """Writes the given store contents before a DAG's first tasks run: the first of the
    run's seeding tasks writes, the others wait until it has."""

    def __init__(self, contents: Mapping[str, Any], data: Mapping[str, Any] | None = None):
        self.contents = dict(contents)
        self.data = dict(data or {})

    def __call__(self, data: Any, store: Any, signal: Any, context: Any) -> None:
        for key, value in self.data.items():
            data[key] = value
        if not self.contents:
            return
        if store.increment(f"{_RECORDED}.seeding") == 1:
            for key, value in self.contents.items():
                store.set(key, value)
            store.set(f"{_RECORDED}.seeded", True)
            return
        deadline = time.monotonic() + 60
        while not store.get(f"{_RECORDED}.seeded", False) and time.monotonic() < deadline:
            time.sleep(0.02)


def _segment(name: str) -> str:
    """A name as one segment of a dotted store key."""
    return name.replace(".", "\uff0e")


def _users_modules(task: BaseTask) -> list[ModuleType]:
    """The modules of a task's class and callbacks that are the user's (a test file, say),
    not installed: a worker cannot import those, so they go by value, as a workflow file's."""
    installed = tuple(
        path
        for key in ("stdlib", "platstdlib", "purelib", "platlib")
        if (path := sysconfig.get_paths().get(key))
    )
    found = []
    for part in (type(task), *(getattr(task, n, None) for n in _CALLBACKS)):
        module = sys.modules.get(getattr(part, "__module__", "") or "")
        where = getattr(module, "__file__", None) if module is not None else None
        if module is None or where is None or module.__name__.split(".")[0] == "lightflow":
            continue
        if not os.path.abspath(where).startswith(installed) and module not in found:
            found.append(module)
    return found


@contextmanager
def _by_value(modules: list[ModuleType]) -> Iterator[None]:
    for module in modules:
        cloudpickle.register_pickle_by_value(module)
    try:
        yield
    finally:
        for module in modules:
            cloudpickle.unregister_pickle_by_value(module)


def _wrap(dag: Dag) -> None:
    for task in dag.tasks:
        task.run = _Recorded(task)  # type: ignore[method-assign]


def _seed(dag: Dag, contents: Mapping[str, Any]) -> None:
    """Puts a seeding task before the DAG's first tasks."""
    roots = [t for t in dag.tasks if not any(e.child is t for e in dag.edges)]
    seed = PythonTask(name=_SEED_TASK, callback=_Seed(contents))
    dag._tasks.insert(0, seed)
    for root in roots:
        dag._add_edge(DagEdge(seed, root, None))


class LocalLightflow:
    """One real embedded stack, started on `start()` (or `with`), stopped on `stop()`.

    `workers` worker processes with `concurrency` slots each serve `queues`; the stack's
    logs go to `log_dir` (a temporary folder when None; `logs` says where)."""

    def __init__(
        self,
        *,
        workers: int = 1,
        concurrency: int = 4,
        queues: tuple[str, ...] = ("task",),
        log_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self._options = (workers, concurrency, tuple(queues))
        self._log_dir = Path(log_dir) if log_dir is not None else None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._stack: Any = None
        self._client: Client | None = None
        self._store: StoreClient | None = None

    def start(self) -> LocalLightflow:
        if self._log_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="lightflow-testing-")
            self._log_dir = Path(self._tmp.name)
        workers, concurrency, queues = self._options
        options = StackOptions(
            workers=workers,
            concurrency=concurrency,
            queues=queues,
            log_dir=self._log_dir,
            redis_appendonly=False,
        )
        self._stack = LocalStack(options).start()
        self._client = Client(self._stack.scheduler_addresses, token=options.token)
        self._store = StoreClient(self._stack.store.address, options.token)
        return self

    def stop(self) -> None:
        for closing in (self._client, self._store):
            if closing is not None:
                closing.close()
        if self._stack is not None:
            self._stack.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
        self._client = self._store = self._stack = None

    def __enter__(self) -> LocalLightflow:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def client(self) -> Client:
        """A Client of the stack, for what the helpers do not cover."""
        if self._client is None:
            raise RuntimeError("the stack is not started: call start() first")
        return self._client

    @property
    def logs(self) -> Path | None:
        """The folder of the stack's logs (one file per process)."""
        return self._log_dir

    def run_workflow(
        self,
        path: str | os.PathLike[str],
        args: Mapping[str, object] | None = None,
        *,
        store: Mapping[str, Any] | None = None,
        timeout: float = 120.0,
    ) -> RunResult:
        """Registers the workflow file (as `Client.register` does, its tasks wrapped to
        record their outputs), runs it with `args` and the store holding `store` when its
        first tasks start, and returns how it ended. TimeoutError after `timeout` seconds."""
        workflow = load_workflow(path)
        for dag in workflow.dags:
            _wrap(dag)
            if store and dag.autostart:
                _seed(dag, store)
        return self._run(workflow.name, workflow.to_proto(), args, timeout)

    def run_task(
        self,
        task: BaseTask,
        data: Mapping[str, Any] | None = None,
        *,
        store: Mapping[str, Any] | None = None,
        timeout: float = 60.0,
    ) -> RunResult:
        """Runs one task (a copy: the object given is left as it is) with `data` as its
        input and the store holding `store`, on the stack's workers; returns how it ended
        (its name in the result is "test/<task name>")."""
        task = copy.copy(task)
        feed = PythonTask(name=_INPUT_TASK, callback=_Seed(store or {}, data or {}))
        dag = Dag("test")
        dag.define({feed: task})
        _wrap(dag)
        module = sys.modules[__name__]
        workflow = WorkflowFile(
            name=f"task_{task.name}",
            path=Path(module.__file__ or "lightflow_testing.py"),
            description=f"lightflow.testing: task {task.name!r} alone",
            dags=(dag,),
            module=module,
        )
        with _by_value(_users_modules(task)):
            definition = workflow.to_proto()
        return self._run(workflow.name, definition, None, timeout, {f"test/{_INPUT_TASK}"})

    def _run(
        self,
        name: str,
        definition: workflow_pb2.WorkflowDefinition,
        args: Mapping[str, object] | None,
        timeout: float,
        hidden: frozenset[str] | set[str] = frozenset(),
    ) -> RunResult:
        client = self.client
        # A test runs the workflow once: the schedules its file declares are not made.
        definition.ClearField("schedules")
        request = scheduler_pb2.RegisterWorkflowRequest(definition=definition)
        client.replicas.call(lambda s: s.scheduler.RegisterWorkflow(request, timeout=60))
        run = client.start(name, args, keep_data=True)
        printed: list[tuple[str, str]] = []
        for event in run.events(timeout=timeout):
            if event.type == "task_output":
                printed.append((f"{event.dag_instance}/{event.task_name}", event.text))
        info = client.get_run(run.id)
        document = self._document(run.id)
        recorded = document.pop(_RECORDED, {}) or {}
        outputs = {
            f"{instance.replace(chr(0xFF0E), '.')}/{task.replace(chr(0xFF0E), '.')}": data
            for instance, tasks in (recorded.get("outputs") or {}).items()
            for task, data in tasks.items()
        }
        hidden = {*hidden, *(f"{d.instance}/{_SEED_TASK}" for d in info.dag_instances)}
        return RunResult(
            run_id=run.id,
            status=info.status,
            failure=info.failure,
            tasks={
                f"{t.dag_instance}/{t.name}": t.status
                for t in info.tasks
                if f"{t.dag_instance}/{t.name}" not in hidden
            },
            outputs={k: v for k, v in outputs.items() if k not in hidden},
            store=document,
            printed=[(task, line) for task, line in printed if task not in hidden],
        )

    def _document(self, run_id: str) -> dict[str, Any]:
        """The run's data section, read once its end wrote it (a kept run's document stays;
        it is removed here, as the stack would have for a run that keeps nothing)."""
        assert self._store is not None
        deadline = time.monotonic() + 30
        while True:
            try:
                document = self._store.get_document(run_id)
                break
            except StoreError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._store.delete_document(run_id, with_task_data=True)
        return dict(document)
