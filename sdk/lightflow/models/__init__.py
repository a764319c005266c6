"""The workflow model: DAGs, tasks, the data passed between them, run arguments, and flow
control."""

from lightflow._action import Action
from lightflow._context import TaskContext
from lightflow._dag import Dag
from lightflow._data import MultiTaskData, TaskData
from lightflow._parameters import Option, Parameters, TaskParameters
from lightflow._store import DataStoreDocumentSection
from lightflow._task import AbortWorkflow, BaseTask, StopTask, TaskStatus

__all__ = [
    "AbortWorkflow",
    "Action",
    "BaseTask",
    "Dag",
    "DataStoreDocumentSection",
    "MultiTaskData",
    "Option",
    "Parameters",
    "StopTask",
    "TaskContext",
    "TaskData",
    "TaskParameters",
    "TaskStatus",
]
