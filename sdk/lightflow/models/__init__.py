"""The workflow model: DAGs, tasks, the data passed between them, and flow control."""

from lightflow._action import Action
from lightflow._context import TaskContext
from lightflow._dag import Dag
from lightflow._data import MultiTaskData, TaskData
from lightflow._task import AbortWorkflow, BaseTask, StopTask, TaskStatus

__all__ = [
    "AbortWorkflow",
    "Action",
    "BaseTask",
    "Dag",
    "MultiTaskData",
    "StopTask",
    "TaskContext",
    "TaskData",
    "TaskStatus",
]
