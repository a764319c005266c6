"""Workflow files: finding them, loading them, and turning them into protobuf definitions.

A workflow file is a Python module; every module-level `Dag` is one of the workflow's DAGs,
and a module-level `Parameters` (at most one) declares the arguments a run accepts.
Workers cannot import the user's file, so its functions and classes are registered with
cloudpickle to be pickled *by value* and each task travels as a self-contained payload. Their
code keeps naming the file it came from, and the file's text travels with the definition, so
that a failing task's traceback reads as it would locally (see `source_entry`).
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.resources
import importlib.util
import io
import os
import sys
import types
from collections import ChainMap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import cloudpickle

from lightflow._dag import Dag, DagDefinitionError
from lightflow._errors import LightflowError
from lightflow._parameters import Parameters, options_to_proto
from lightflow._schedule import Schedule
from lightflow._task import BaseTask
from lightflow._wire.encodings import ENCODING_CLOUDPICKLE
from lightflow.v1 import common_pb2, workflow_pb2

__all__ = [
    "MAX_SOURCE_BYTES",
    "TaskDecodeError",
    "WorkflowDefinitionError",
    "WorkflowFile",
    "WorkflowNotFoundError",
    "decode_task",
    "encode_task",
    "find_workflow",
    "list_workflows",
    "load_workflow",
    "source_entry",
]

# Protocol 5 is the highest every supported Python (>= 3.8) reads.
_PICKLE_PROTOCOL = 5
# What the examples shipped with Lightflow import beyond its own dependencies: the
# `examples` extra of pyproject.toml.
_EXAMPLES_EXTRA = frozenset({"numpy"})
# A workflow file's text travels with its definition up to this size (a hand-written
# workflow is a few KiB; a larger file still runs, its tracebacks without source lines).
MAX_SOURCE_BYTES = 1024 * 1024


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
        source: The file's text as imported, shipped with the definition so that tracebacks
            show its lines on workers without the file; "" for a file larger than 1 MiB.
    """

    name: str
    path: Path
    description: str
    dags: tuple[Dag, ...]
    module: ModuleType
    # not compared: a Parameters is a list, which would make the object unhashable
    parameters: Parameters | None = field(default=None, compare=False)
    # The file's text as imported; "" when larger than MAX_SOURCE_BYTES (not shipped).
    source: str = field(default="", compare=False, repr=False)
    # Its module-level `Schedule`s.
    schedules: tuple[Schedule, ...] = field(default=(), compare=False)

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
            source=self.source,
            dags=[self._dag_to_proto(dag) for dag in self.dags],
            options=options_to_proto(self.parameters or ()),
            schedules=[s.to_proto(self.name) for s in self.schedules],
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
    source = _read_source(file)
    module = _import_file(file)

    dags: list[Dag] = []
    parameters: list[tuple[str, Parameters]] = []
    schedules: list[Schedule] = []
    for key, value in vars(module).items():
        if isinstance(value, Dag) and all(value is not dag for dag in dags):
            dags.append(value)
        elif isinstance(value, Parameters) and all(value is not p for _, p in parameters):
            parameters.append((key, value))
        elif isinstance(value, Schedule) and all(value is not s for s in schedules):
            schedules.append(value)
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
        source=source,
        schedules=tuple(schedules),
    )


def _read_source(file: Path) -> str:
    """The file's text as Python reads it (its declared encoding, universal newlines); ""
    when it is too large to ship or does not decode (the import then says why)."""
    try:
        raw = file.read_bytes()
        if len(raw) > MAX_SOURCE_BYTES:
            return ""
        return importlib.util.decode_source(raw)
    except (OSError, SyntaxError, UnicodeDecodeError, LookupError):
        return ""


# What linecache keeps for a file: (size, mtime, lines, path).
SourceEntry = tuple[int, None, list[str], str]


def source_entry(path: str, source: str) -> SourceEntry:
    """The `linecache.cache` entry that makes `source` the text Python shows for the file
    `path` in tracebacks (and `inspect.getsource`), whatever the file on this machine holds,
    if it has one. A task process registers the text shipped in the task's definition: the
    code names the path it was loaded from on the machine that registered it. The mtime is
    None, so `linecache.checkcache()` leaves the entry alone (no file to compare with)."""
    return (len(source), None, source.splitlines(keepends=True), path)


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
    except ModuleNotFoundError as err:
        _restore(key, previous)
        raise WorkflowDefinitionError(
            f"workflow file {file} failed to import: ModuleNotFoundError: {err}; "
            f"{_missing_module_hint(file, err.name or '')}"
        ) from err
    except (Exception, SystemExit) as err:
        _restore(key, previous)
        raise WorkflowDefinitionError(
            f"workflow file {file} failed to import: {type(err).__name__}: {err}"
        ) from err
    cloudpickle.register_pickle_by_value(module)
    return module


def _missing_module_hint(file: Path, name: str) -> str:
    top = name.partition(".")[0] or "it"
    if top in _EXAMPLES_EXTRA and file.name in _bundled_examples():
        return (
            f"this example needs {top}: pip install {top}, or install Lightflow with its"
            f" examples extra (pip install '.[examples]' in a checkout)"
        )
    return f"install {top} here and on every worker that runs the workflow's tasks"


def _bundled_examples() -> set[str]:
    """The file names of the examples shipped with Lightflow (`lightflow_examples`)."""
    try:
        folder = importlib.resources.files("lightflow_examples")
        return {entry.name for entry in folder.iterdir() if entry.name.endswith(".py")}
    except (ModuleNotFoundError, OSError):
        return set()


def _restore(key: str, previous: ModuleType | None) -> None:
    if previous is None:
        sys.modules.pop(key, None)
    else:
        sys.modules[key] = previous


def _code_with_filename(
    rebuild: Callable[..., types.CodeType], args: tuple[Any, ...], filename: str
) -> types.CodeType:
    """Unpickles a code object pickled by `_TaskPickler`: cloudpickle's, with its file."""
    return rebuild(*args).replace(co_filename=filename)


_CLOUDPICKLE_CODE_REDUCE = cloudpickle.Pickler.dispatch_table.get(types.CodeType)


def _reduce_code(code: types.CodeType) -> tuple[Any, ...]:
    # cloudpickle names every code object pickled by value "<dynamic-code>" (its bytes then do
    # not depend on where the function was defined); a traceback of the task would show no
    # file and no line. Keep the real path: it is stable for a given file, as is the module
    # key the functions' globals carry (see _import_file).
    assert _CLOUDPICKLE_CODE_REDUCE is not None
    rebuild, args = _CLOUDPICKLE_CODE_REDUCE(code)
    return _code_with_filename, (rebuild, args, code.co_filename)


class _TaskPickler(cloudpickle.Pickler):  # type: ignore[misc]
    if _CLOUDPICKLE_CODE_REDUCE is not None:  # else cloudpickle keeps the filename itself
        dispatch_table = ChainMap(
            {types.CodeType: _reduce_code}, cloudpickle.Pickler.dispatch_table
        )


def encode_task(task: BaseTask) -> common_pb2.Payload:
    """Pickle a task by value into a `Payload`; `decode_task` is the inverse. The code of
    functions pickled by value keeps the name of the file it was loaded from."""
    with io.BytesIO() as buffer:
        _TaskPickler(buffer, protocol=_PICKLE_PROTOCOL).dump(task)
        data = buffer.getvalue()
    return common_pb2.Payload(encoding=ENCODING_CLOUDPICKLE, data=data)


def decode_task(payload: common_pb2.Payload) -> BaseTask:
    """Turn a task payload made by `encode_task` / `WorkflowFile.to_proto` back into a task.

    Raises:
        TaskDecodeError: Unknown encoding, the bytes do not unpickle (e.g. a module the
            task needs is not installed on this machine), or they hold no task.
    """
    if payload.encoding != ENCODING_CLOUDPICKLE:
        raise TaskDecodeError(
            f"cannot decode a task with encoding {payload.encoding!r};"
            f" expected {ENCODING_CLOUDPICKLE!r}"
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
