"""Where a task runs: the context object handed to every task callback."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["TaskContext"]


@dataclass(frozen=True)
class TaskContext:
    """The context of one task execution, as the worker builds it.

    Attributes:
        task_name: The name of the task being run.
        dag_name: The name of the DAG instance the task belongs to.
        workflow_name: The name of the workflow.
        workflow_id: The id of the workflow run.
        worker_hostname: The host name of the worker running the task.
    """

    task_name: str
    dag_name: str
    workflow_name: str
    workflow_id: str
    worker_hostname: str

    def to_dict(self) -> dict[str, str]:
        """Return the five fields as a dict, e.g. for `'{task_name}'.format(**...)`."""
        return asdict(self)
