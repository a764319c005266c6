"""`get_logger`, as the original Lightflow's tasks and extension packages use it
(compatibility layer, docs/compat.md).

Inside a task, what such a logger writes is part of the task's output: it shows with the
task's printed lines (`lfctl run`, `lfctl workflow watch`, the run's events)."""

from __future__ import annotations

import logging
import sys

__all__ = ["get_logger"]

_FORMAT = "%(levelname)s %(name)s: %(message)s"


class _TaskStderrHandler(logging.Handler):
    """Writes to the `sys.stderr` of the moment: in a task process that is the task's own
    output, set up after the modules of the task were imported."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # logging must never fail the task
            self.handleError(record)


def get_logger(name: str) -> logging.Logger:
    """The logger `name`, writing INFO and above to the task's output unless the program
    configured it (or logging as a whole) already."""
    logger = logging.getLogger(name)
    if not logger.handlers and not logging.getLogger().handlers:
        handler = _TaskStderrHandler()
        handler.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger
