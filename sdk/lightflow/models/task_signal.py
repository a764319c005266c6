"""The original Lightflow's module path of the `signal` a task callback receives
(compatibility layer, docs/compat.md)."""

from lightflow._signal import TaskSignal

__all__ = ["TaskSignal"]
