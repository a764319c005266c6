"""The original Lightflow's queue names (compatibility layer, docs/compat.md).

Extension packages written for the original take their default queue from here
(`queue=JobType.Task`). Only the task queue exists here: this engine's schedulers run
workflows and DAGs themselves, so the `workflow` and `dag` queues of the original's Celery
workers have no workers to go to."""

from typing import Final

__all__ = ["DefaultJobQueueName", "JobType"]


class JobType:
    """The kinds of job of the original engine; `JobType.Task` is the default task queue."""

    Workflow: Final = "workflow"
    Dag: Final = "dag"
    Task: Final = "task"


class DefaultJobQueueName:
    """The original engine's default queue of each kind of job."""

    Workflow: Final = "workflow"
    Dag: Final = "dag"
    Task: Final = "task"
