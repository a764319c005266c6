"""The ready-made task types."""

from lightflow._bash import BashTask
from lightflow._task import PythonTask

__all__ = ["BashTask", "PythonTask"]
