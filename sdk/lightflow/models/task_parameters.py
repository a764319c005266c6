"""The original Lightflow's module path of `TaskParameters` (compatibility layer,
docs/compat.md)."""

from lightflow._parameters import TaskParameters

__all__ = ["TaskParameters"]
