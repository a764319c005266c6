"""The ready-made task types."""

from lightflow._task import PythonTask

__all__ = ["PythonTask"]
