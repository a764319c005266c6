"""What a task hands back to the engine: its output data and which successors to run."""

from __future__ import annotations

from collections.abc import Sequence
from copy import copy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lightflow._task import BaseTask

__all__ = ["Action"]


class Action:
    """The result of a task: the data for its successors, optionally limiting which run.

    A task returning None is the same as returning `Action(data)` with the data it was
    given. With `limit`, only the listed immediate successors run; the others are skipped.
    `limit=[]` skips every successor.
    """

    def __init__(self, data: Any, limit: Sequence[BaseTask | str] | None = None) -> None:
        """Create the result of a task.

        Args:
            data: The data passed on to the successor tasks (usually the `MultiTaskData`
                the task received).
            limit: The immediate successors that should run, as task objects or names.
                None: all of them.
        """
        self._data = data
        self._limit = list(limit) if limit is not None else None

    @property
    def data(self) -> Any:
        """The data passed on to the successor tasks."""
        return self._data

    @property
    def limit(self) -> list[BaseTask | str] | None:
        """The successors to run, as given; None means all of them."""
        return self._limit

    @property
    def limit_names(self) -> list[str] | None:
        """The names of the successors to run; None means all of them."""
        if self._limit is None:
            return None
        return [item if isinstance(item, str) else item.name for item in self._limit]

    def copy(self) -> Action:
        """Return a shallow copy."""
        return copy(self)

    def __repr__(self) -> str:
        return f"Action(data={self._data!r}, limit={self.limit_names!r})"
