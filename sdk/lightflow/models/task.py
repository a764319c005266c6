"""The original Lightflow's module path of the task base class (compatibility layer,
docs/compat.md)."""

from lightflow._task import BaseTask, TaskStatus

__all__ = ["BaseTask", "TaskStatus"]
