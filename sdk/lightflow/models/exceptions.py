"""The original Lightflow's exception names (compatibility layer, docs/compat.md).

Each name is one of this package's own classes, so `except` clauses written for the
original catch what this engine raises; `LightflowException` is the root of them all. The
original's names for the internals of its Celery and MongoDB engine (configuration files,
signal requests, job events, GridFS ids) have no counterpart and are not provided."""

from lightflow._dag import DagDefinitionError
from lightflow._data import DataError
from lightflow._errors import LightflowError
from lightflow._parameters import ArgumentError
from lightflow._store import StoreUnavailableError
from lightflow._task import AbortWorkflow, StopTask, TaskResultError
from lightflow._workflow import WorkflowDefinitionError

LightflowException = LightflowError
WorkflowArgumentError = ArgumentError
# The original told a file that does not import from one that defines no DAG; both are a
# WorkflowDefinitionError here, with the reason in the message.
WorkflowImportError = WorkflowDefinitionError
DirectedAcyclicGraphInvalid = DagDefinitionError
DirectedAcyclicGraphUndefined = DagDefinitionError
DataInvalidIndex = DataError
DataInvalidAlias = DataError
DataStoreNotConnected = StoreUnavailableError
TaskReturnActionInvalid = TaskResultError

__all__ = [
    "AbortWorkflow",
    "DataInvalidAlias",
    "DataInvalidIndex",
    "DataStoreNotConnected",
    "DirectedAcyclicGraphInvalid",
    "DirectedAcyclicGraphUndefined",
    "LightflowException",
    "StopTask",
    "TaskReturnActionInvalid",
    "WorkflowArgumentError",
    "WorkflowDefinitionError",
    "WorkflowImportError",
]
