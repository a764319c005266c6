"""Tasks, the vertices of a DAG, and the signals a task can raise to change the flow.

Task objects are shipped to workers with cloudpickle, by value: keep them plain Python
objects (no open files, sockets or locks as attributes).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lightflow._action import Action
from lightflow._errors import LightflowError

if TYPE_CHECKING:
    from lightflow._context import TaskContext

__all__ = [
    "AbortWorkflow",
    "BaseTask",
    "FinallyCallback",
    "InitCallback",
    "PythonTask",
    "StopTask",
    "TaskCallback",
    "TaskResultError",
    "TaskStatus",
]

# The callbacks get (data, store, signal, context). data is a MultiTaskData; store and
# signal are the worker's proxies to the store service and the schedulers.
TaskCallback = Callable[[Any, Any, Any, "TaskContext"], "Action | None"]
InitCallback = Callable[[Any, Any, Any, "TaskContext"], object]
# callback_finally also gets the task's TaskStatus first.
FinallyCallback = Callable[["TaskStatus", Any, Any, Any, "TaskContext"], object]


class TaskStatus(enum.Enum):
    """How a task run ended, as passed to `callback_finally` (the original's names)."""

    Success = 1
    Stopped = 2
    Aborted = 3
    Error = 4


class StopTask(LightflowError):  # noqa: N818 -- the original Lightflow's public name
    """Raise in a task to stop it early; by default its successors are skipped too.

    Args:
        message: Why the task stopped, shown to people.
        skip_successors: True: skip every successor (like `Action(data, limit=[])`).
            False: the successors run with the task's data.
    """

    def __init__(self, message: str = "", *, skip_successors: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.skip_successors = skip_successors

    def __reduce__(self) -> tuple[Any, ...]:
        # the default reduce replays only args and would lose the keyword-only flag
        return (_make_stop_task, (self.message, self.skip_successors))


def _make_stop_task(message: str, skip_successors: bool) -> StopTask:
    return StopTask(message, skip_successors=skip_successors)


class AbortWorkflow(LightflowError):  # noqa: N818 -- the original Lightflow's public name
    """Raise in a task to abort the whole workflow run: nothing new starts."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class TaskResultError(LightflowError):
    """A task returned something other than None or an `Action`."""


class BaseTask:
    """The base class of every task: implement `run`.

    A task object is identified by its name within a DAG. Hashing and equality are by
    identity, so a task can be a dict key in `Dag.define`.
    """

    def __init__(
        self,
        name: str,
        *,
        queue: str = "task",
        callback_init: InitCallback | None = None,
        callback_finally: FinallyCallback | None = None,
        force_run: bool = False,
        propagate_skip: bool = True,
        retries: int = 0,
        retry_delay: float = 1.0,
        timeout: float | None = None,
    ) -> None:
        """Create a task.

        Args:
            name: The task's name, unique within its DAG.
            queue: The queue whose workers run this task.
            callback_init: Called as `(data, store, signal, context)` before `run`.
            callback_finally: Called as `(status, data, store, signal, context)` after
                `run`, whatever the outcome; `status` is a `TaskStatus`.
            force_run: Run the task even when the flow would skip it.
            propagate_skip: When this task is skipped, skip its successors too.
            retries: How often a failed attempt is tried again (0: never).
            retry_delay: Seconds before the first retry; each further retry waits twice as
                long, times a random factor between 0.5 and 1.5.
            timeout: Seconds an attempt may run before its process is killed and the attempt
                fails with TaskTimeout (then retried like any failure); None: no limit.
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"a task name must be a non-empty str, got {name!r}")
        if not isinstance(retries, int) or retries < 0:
            raise TypeError(f"task {name!r}: retries must be an int >= 0, got {retries!r}")
        if not isinstance(retry_delay, int | float) or retry_delay <= 0:
            raise TypeError(f"task {name!r}: retry_delay must be > 0 seconds, got {retry_delay!r}")
        if timeout is not None and (not isinstance(timeout, int | float) or timeout <= 0):
            raise TypeError(f"task {name!r}: timeout must be > 0 seconds or None, got {timeout!r}")
        self._retries = retries
        self._retry_delay = float(retry_delay)
        self._timeout = None if timeout is None else float(timeout)
        self._name = name
        self._queue = queue
        self._callback_init = callback_init
        self._callback_finally = callback_finally
        self._force_run = force_run
        self._propagate_skip = propagate_skip

    @property
    def name(self) -> str:
        """The task's name, unique within its DAG."""
        return self._name

    @property
    def queue(self) -> str:
        """The queue whose workers run this task."""
        return self._queue

    @property
    def callback_init(self) -> InitCallback | None:
        """Called before `run`, or None."""
        return self._callback_init

    @property
    def callback_finally(self) -> FinallyCallback | None:
        """Called after `run` with the `TaskStatus`, or None."""
        return self._callback_finally

    @property
    def force_run(self) -> bool:
        """Whether the task runs even when the flow would skip it."""
        return self._force_run

    @property
    def has_to_run(self) -> bool:
        """The original Lightflow's name for `force_run`."""
        return self._force_run

    @property
    def propagate_skip(self) -> bool:
        """Whether skipping this task skips its successors too."""
        return self._propagate_skip

    @property
    def retries(self) -> int:
        """How often a failed attempt is tried again."""
        return self._retries

    @property
    def retry_delay(self) -> float:
        """Seconds before the first retry (doubling for each further one, with jitter)."""
        return self._retry_delay

    @property
    def timeout(self) -> float | None:
        """Seconds an attempt may run, or None."""
        return self._timeout

    def run(self, data: Any, store: Any, signal: Any, context: TaskContext) -> Action | None:
        """Do the task's work. Subclasses implement it.

        Args:
            data: The `MultiTaskData` built from the predecessors' output.
            store: The workflow run's persistent data store.
            signal: Starts and joins DAGs, stops the workflow.
            context: Where the task runs (`TaskContext`).

        Returns:
            None (pass `data` on to every successor) or an `Action`.

        Raises:
            StopTask: To stop the task early.
            AbortWorkflow: To abort the whole workflow run.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement run()")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self._name!r}, queue={self._queue!r})"


class PythonTask(BaseTask):
    """A task that calls a Python function `callback(data, store, signal, context)`."""

    def __init__(
        self,
        name: str,
        callback: TaskCallback,
        *,
        queue: str = "task",
        callback_init: InitCallback | None = None,
        callback_finally: FinallyCallback | None = None,
        force_run: bool = False,
        propagate_skip: bool = True,
        retries: int = 0,
        retry_delay: float = 1.0,
        timeout: float | None = None,
    ) -> None:
        """Create a task that runs `callback`.

        Args:
            name: The task's name, unique within its DAG.
            callback: Called as `(data, store, signal, context)`; returns None or an
                `Action`.
            queue, callback_init, callback_finally, force_run, propagate_skip, retries,
                retry_delay, timeout: As for `BaseTask`.
        """
        super().__init__(
            name,
            queue=queue,
            callback_init=callback_init,
            callback_finally=callback_finally,
            force_run=force_run,
            propagate_skip=propagate_skip,
            retries=retries,
            retry_delay=retry_delay,
            timeout=timeout,
        )
        if not callable(callback):
            raise TypeError(f"the callback of task {name!r} is not callable: {callback!r}")
        self._callback = callback

    @property
    def callback(self) -> TaskCallback:
        """The function the task calls."""
        return self._callback

    def run(self, data: Any, store: Any, signal: Any, context: TaskContext) -> Action | None:
        """Call the callback and return its result (None or an `Action`)."""
        result = self._callback(data, store, signal, context)
        if result is not None and not isinstance(result, Action):
            raise TaskResultError(
                f"the callback of task {self.name!r} returned {type(result).__name__}; "
                f"a task callback returns None or an Action"
            )
        return result
