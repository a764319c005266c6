"""The original Lightflow's module path of `Dag` (compatibility layer, docs/compat.md)."""

from lightflow._dag import Dag

__all__ = ["Dag"]
