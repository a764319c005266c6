"""The original Lightflow's module path of the data passed between tasks (compatibility
layer, docs/compat.md)."""

from lightflow._data import MultiTaskData, TaskData

__all__ = ["MultiTaskData", "TaskData"]
