"""The original Lightflow's module path of `TaskContext` (compatibility layer,
docs/compat.md)."""

from lightflow._context import TaskContext

__all__ = ["TaskContext"]
