"""The original Lightflow's module path of `Action` (compatibility layer, docs/compat.md)."""

from lightflow._action import Action

__all__ = ["Action"]
