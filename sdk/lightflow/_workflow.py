"""Workflow files: finding them, loading them, and turning them into protobuf definitions.

A workflow file is a Python module; every module-level `Dag` is one of the workflow's DAGs,
and a module-level `Parameters` (at most one) declares the arguments a run accepts.
Workers cannot import the user's file, so its functions and classes are registered with
cloudpickle to be pickled *by value* and each task travels as a self-contained payload.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import cloudpickle

from lightflow._dag import Dag, DagDefinitionError
from lightflow._errors import LightflowError
from lightflow._parameters import Parameters, options_to_proto
from lightflow._task import BaseTask
from lightflow.v1 import common_pb2, workflow_pb2

__all__ = [
    "TASK_ENCODING",
    "TaskDecodeError",
    "WorkflowDefinitionError",
    "WorkflowFile",
    "WorkflowNotFoundError",
    "decode_task",
    "encode_task",
    "find_workflow",
    "list_workflows",
    "load_workflow",
]

# The Payload encoding of a task object.
TASK_ENCODING = "python/cloudpickle"
# Protocol 5 is the highest every supported Python (>= 3.8) reads.
_PICKLE_PROTOCOL = 5


class WorkflowDefinitionError(LightflowError):
    """A workflow file cannot be loaded or is not a valid workflow."""


class WorkflowNotFoundError(LightflowError):
    """No workflow file has the requested name or path."""


class TaskDecodeError(LightflowError):
    """A task payload cannot be turned back into a task object."""


@dataclass(frozen=True)
class WorkflowFile:
    """A loaded workflow file.

    Attributes:
        name: The workflow's name, the file stem ("sequential" for sequential.py).
        path: The absolute path of the file.
        description: The module docstring, stripped; "" when there is none.
        dags: Every module-level `Dag`, in definition order.
        module: The imported module.
        parameters: The module-level `Parameters` (the run arguments), or None.
    """

    name: str
    path: Path
    description: str
    dags: tuple[Dag, ...]
    module: ModuleType
    # not compared: a Parameters is a list, which would make the object unhashable
    parameters: Parameters | None = field(default=None, compare=False)

    def dag(self, name: str) -> Dag:
        """Return the DAG called `name`.

        Raises:
            WorkflowDefinitionError: The workflow has no such DAG.
        """
        for dag in self.dags:
            if dag.name == name:
                return dag
        known = ", ".join(repr(dag.name) for dag in self.dags)
        raise WorkflowDefinitionError(
            f"workflow {self.name!r} has no DAG {name!r}; its DAGs: {known}"
        )

    def to_proto(self) -> workflow_pb2.WorkflowDefinition:
        """Serialize the workflow, each task pickled by value.

        Raises:
            WorkflowDefinitionError: A task cannot be pickled (it holds a lock, an open
                file, ...); the message names the task and its DAG.
        """
        return workflow_pb2.WorkflowDefinition(
            name=self.name,
            description=self.description,
            source_path=str(self.path),
            dags=[self._dag_to_proto(dag) for dag in self.dags],
            options=options_to_proto(self.parameters or ()),
        )

    def _dag_to_proto(self, dag: Dag) -> workflow_pb2.DagDefinition:
        tasks = []
        for task in dag.tasks:
            try:
                code = encode_task(task)
            except Exception as err:
                raise WorkflowDefinitionError(
                    f"workflow {self.name!r}: task {task.name!r} of DAG {dag.name!r} cannot "
                    f"be pickled: {type(err).__name__}: {err}"
                ) from err
            tasks.append(
                workflow_pb2.TaskDefinition(
                    name=task.name,
                    queue=task.queue,
                    code=code,
                    force_run=task.force_run,
                    stop_skip_propagation=not task.propagate_skip,
                    retries=task.retries,
                    retry_delay_s=task.retry_delay,
                    timeout_s=task.timeout or 0.0,
                )
            )
        return workflow_pb2.DagDefinition(
            name=dag.name,
            autostart=dag.autostart,
            queue=dag.queue,
            tasks=tasks,
            edges=[
                workflow_pb2.Edge(parent=e.parent.name, child=e.child.name, alias=e.alias or "")
                for e in dag.edges
            ],
        )


def load_workflow(path: str | os.PathLike[str]) -> WorkflowFile:
    """Import a workflow file and check its DAGs.

    The module is registered in `sys.modules` under a private key derived from the
    file's absolute path (never under its bare stem, which could shadow a real module),
    and with cloudpickle for pickling by value.

    Raises:
        WorkflowNotFoundError: The file does not exist.
        WorkflowDefinitionError: The file does not import (syntax error, exception at
            import time), defines no DAG, defines two DAGs with the same name, a DAG is
            invalid, or it defines more than one `Parameters`. The message names the file or
            the workflow; the original error is chained.
    """
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise WorkflowNotFoundError(f"workflow file {file} does not exist")
    name = file.stem
    module = _import_file(file)

    dags: list[Dag] = []
    parameters: list[tuple[str, Parameters]] = []
    for key, value in vars(module).items():
        if isinstance(value, Dag) and all(value is not dag for dag in dags):
            dags.append(value)
        elif isinstance(value, Parameters) and all(value is not p for _, p in parameters):
            parameters.append((key, value))
    if len(parameters) > 1:
        names = ", ".join(key for key, _ in parameters)
        raise WorkflowDefinitionError(
            f"workflow {name!r} ({file}) defines {len(parameters)} Parameters ({names}); "
            f"declare every option in one module-level Parameters"
        )
    if not dags:
        raise WorkflowDefinitionError(
            f"workflow {name!r} ({file}) defines no DAG: create at least one module-level Dag"
        )
    seen: set[str] = set()
    for dag in dags:
        if dag.name in seen:
            raise WorkflowDefinitionError(
                f"workflow {name!r} ({file}) defines two DAGs named {dag.name!r}; DAG "
                f"names must be unique within a workflow"
            )
        seen.add(dag.name)
        try:
            dag.validate()
        except DagDefinitionError as err:
            raise WorkflowDefinitionError(f"workflow {name!r} ({file}): {err}") from err

    return WorkflowFile(
        name=name,
        path=file,
        description=(module.__doc__ or "").strip(),
        dags=tuple(dags),
        module=module,
        parameters=parameters[0][1] if parameters else None,
    )


def _import_file(file: Path) -> ModuleType:
    # A key per absolute path: reloading a file replaces its module, and the key (which
    # ends up in the pickled functions' globals) stays the same from one process to the
    # next, so the same file serializes to the same bytes.
    digest = hashlib.sha256(str(file).encode()).hexdigest()[:16]
    key = f"_lightflow_workflow_{file.stem}_{digest}"
    loader = importlib.machinery.SourceFileLoader(key, str(file))
    spec = importlib.util.spec_from_file_location(key, file, loader=loader)
    if spec is None:  # pragma: no cover -- cannot happen with an explicit loader
        raise WorkflowDefinitionError(f"cannot import workflow file {file}")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(key)
    # registered before it runs, like any import: dataclasses and pickling look it up
    sys.modules[key] = module
    try:
        loader.exec_module(module)
    except SyntaxError as err:
        _restore(key, previous)
        raise WorkflowDefinitionError(f"workflow file {file} has a syntax error: {err}") from err
    except (Exception, SystemExit) as err:
        _restore(key, previous)
        raise WorkflowDefinitionError(
            f"workflow file {file} failed to import: {type(err).__name__}: {err}"
        ) from err
    cloudpickle.register_pickle_by_value(module)
    return module


def _restore(key: str, previous: ModuleType | None) -> None:
    if previous is None:
        sys.modules.pop(key, None)
    else:
        sys.modules[key] = previous


def encode_task(task: BaseTask) -> common_pb2.Payload:
    """Pickle a task by value into a `Payload`; `decode_task` is the inverse."""
    data: bytes = cloudpickle.dumps(task, protocol=_PICKLE_PROTOCOL)
    return common_pb2.Payload(encoding=TASK_ENCODING, data=data)


def decode_task(payload: common_pb2.Payload) -> BaseTask:
    """Turn a task payload made by `encode_task` / `WorkflowFile.to_proto` back into a task.

    Raises:
        TaskDecodeError: Unknown encoding, the bytes do not unpickle (e.g. a module the
            task needs is not installed on this machine), or they hold no task.
    """
    if payload.encoding != TASK_ENCODING:
        raise TaskDecodeError(
            f"cannot decode a task with encoding {payload.encoding!r}; expected {TASK_ENCODING!r}"
        )
    try:
        task = cloudpickle.loads(payload.data)
    except Exception as err:
        raise TaskDecodeError(f"cannot unpickle the task: {type(err).__name__}: {err}") from err
    if not isinstance(task, BaseTask):
        raise TaskDecodeError(f"the payload holds a {type(task).__name__}, not a task")
    return task


def find_workflow(name: str, folders: Iterable[str | os.PathLike[str]]) -> Path:
    """Return the file `<name>.py` from the first folder that has it.

    Raises:
        WorkflowNotFoundError: No folder has it; the message lists the folders searched
            and the workflows available.
    """
    searched = [Path(folder).expanduser() for folder in folders]
    # a name is a module name, never a path: "../x" must not escape the folders
    if name and not name.startswith("_") and Path(name).name == name and name not in (".", ".."):
        for folder in searched:
            candidate = folder / f"{name}.py"
            if candidate.is_file():
                return candidate.resolve()
    available = sorted({path.stem for path in list_workflows(searched)})
    raise WorkflowNotFoundError(
        f"workflow {name!r} not found in {', '.join(map(str, searched)) or 'no folder'}; "
        f"available workflows: {', '.join(available) or 'none'}"
    )


def list_workflows(folders: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Return every workflow file (`*.py` not starting with "_") of the folders.

    Folders are taken in the order given, files sorted by name within a folder; folders
    that do not exist are skipped.
    """
    found: list[Path] = []
    for folder in folders:
        directory = Path(folder).expanduser()
        if not directory.is_dir():
            continue
        found.extend(
            sorted(
                (p for p in directory.glob("*.py") if p.is_file() and not p.name.startswith("_")),
                key=lambda p: p.name,
            )
        )
    return found
