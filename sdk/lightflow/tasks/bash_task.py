"""The original Lightflow's module path of `BashTask` (compatibility layer, docs/compat.md)."""

from lightflow._bash import BashTask

__all__ = ["BashTask"]
