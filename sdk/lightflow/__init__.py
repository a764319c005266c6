"""Lightflow: a lightweight, distributed workflow system for Python."""

__version__ = "2.0.0.dev0"
