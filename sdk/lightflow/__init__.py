"""Lightflow: a lightweight, distributed workflow system for Python.

Workflows are written with `lightflow.models` and `lightflow.tasks`; `Client` registers them,
starts runs and follows them on the schedulers. Every error the package raises is a
`LightflowError`."""

from lightflow._client import (
    Client,
    ClientError,
    DagInfo,
    Failure,
    Run,
    RunEvent,
    RunInfo,
    RunsPage,
    ScheduleInfo,
    TaskInfo,
    WorkerInfo,
    WorkflowDetails,
    WorkflowInfo,
)
from lightflow._errors import LightflowError

__version__ = "2.0.0.dev0"

__all__ = [
    "Client",
    "ClientError",
    "DagInfo",
    "Failure",
    "LightflowError",
    "Run",
    "RunEvent",
    "RunInfo",
    "RunsPage",
    "ScheduleInfo",
    "TaskInfo",
    "WorkerInfo",
    "WorkflowDetails",
    "WorkflowInfo",
    "__version__",
]
