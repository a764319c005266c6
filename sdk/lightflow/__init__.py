"""Lightflow: a lightweight, distributed workflow system for Python.

Workflows are written with `lightflow.models` and `lightflow.tasks`; `Client` starts and follows
runs on the schedulers."""

from lightflow._client import Client, ClientError, Run, RunEvent, RunInfo

__version__ = "2.0.0.dev0"

__all__ = ["Client", "ClientError", "Run", "RunEvent", "RunInfo", "__version__"]
