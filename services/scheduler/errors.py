"""The scheduler's domain errors. Its parts raise them; the servicers turn them into gRPC
statuses through one table (servicer.py). No gRPC in here."""

from __future__ import annotations

from lightflow_scheduler.keys import is_run_id


class SchedulerError(Exception):
    """Root of the scheduler's domain errors."""


class NotFoundError(SchedulerError):
    pass


class UnknownDagError(NotFoundError):
    """A run's workflow has no DAG of that name (signals say which DAGs it has)."""

    def __init__(self, dag: str) -> None:
        super().__init__(f"the workflow has no DAG named '{dag}'")
        self.dag = dag


class InvalidArgumentError(SchedulerError):
    pass


class StoreUnavailableError(SchedulerError):
    pass


class ScheduleExistsError(SchedulerError):
    """A schedule of that name exists."""


class LimitError(SchedulerError):
    """A run reached one of its limits (e.g. how many DAG instances it may start)."""


class InternalError(SchedulerError):
    """The scheduler failed (a bug, or redis answering what it should not): the message
    says what failed, the log says why."""


class StaleDefinitionError(SchedulerError):
    """The workflow was registered anew (or removed) since this replica read its definition
    hash; a run is started again with what is registered now."""


def require_run_id(run_id: str) -> None:
    """Refuses an id the schedulers never made before it becomes part of a redis key: an id
    like "x:events" must not reach another key of a run."""
    if not is_run_id(run_id):
        shown = run_id if len(run_id) <= 64 else f"{run_id[:64]}..."
        raise NotFoundError(f"run '{shown}' not found (a run id is 32 hex digits)")
