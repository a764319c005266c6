"""Where a task runs: the context object handed to every task callback."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["TaskContext"]


@dataclass(frozen=True)
class TaskContext:
    """The context of one task execution, as the worker builds it.

    Attributes:
        task_name: The name of the task being run.
        dag_name: The name of the DAG the task belongs to (as in the original Lightflow).
        workflow_name: The name of the workflow.
        workflow_id: The id of the workflow run.
        worker_hostname: The host name of the worker running the task.
        dag_instance: The DAG instance the task runs in: the DAG's name for a DAG the run
            started, "<dag>:<n>" for one `signal.start_dag` started. Its provenance is under
            `log.<dag_instance>` in the store's meta section.
    """

    task_name: str
    dag_name: str
    workflow_name: str
    workflow_id: str
    worker_hostname: str
    dag_instance: str = ""

    def __post_init__(self) -> None:
        if not self.dag_instance:  # built by code written for the original: its five fields
            object.__setattr__(self, "dag_instance", self.dag_name)

    def to_dict(self) -> dict[str, str]:
        """Return the original's five fields as a dict, e.g. for
        `'{task_name}'.format(**...)`."""
        fields = asdict(self)
        del fields["dag_instance"]
        return fields
