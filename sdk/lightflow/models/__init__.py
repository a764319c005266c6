"""The workflow model: DAGs, tasks, the data passed between them, run arguments, and flow
control.

The submodules (`lightflow.models.task_data`, `.exceptions`, `.datastore`, ...) are the
original Lightflow's module paths, kept so that code written for it imports unchanged; each
re-exports the classes listed here (docs/compat.md)."""

from lightflow._action import Action
from lightflow._context import TaskContext
from lightflow._dag import Dag
from lightflow._data import MultiTaskData, TaskData
from lightflow._parameters import Option, Parameters, TaskParameters
from lightflow._schedule import Schedule
from lightflow._signal import TaskSignal
from lightflow._store import DataStoreDocumentSection
from lightflow._store import TaskStore as DataStoreDocument
from lightflow._task import AbortWorkflow, BaseTask, StopTask, TaskStatus

__all__ = [
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
