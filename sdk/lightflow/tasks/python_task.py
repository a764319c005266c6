"""The original Lightflow's module path of `PythonTask` (compatibility layer,
docs/compat.md)."""

from lightflow._task import PythonTask

__all__ = ["PythonTask"]
