"""The original Lightflow's module path of a workflow's run arguments (compatibility layer,
docs/compat.md)."""

from lightflow._parameters import Option, Parameters

__all__ = ["Option", "Parameters"]
