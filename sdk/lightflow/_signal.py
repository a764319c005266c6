"""The `signal` object a task callback receives: starting, joining and stopping DAGs and the
workflow, through any scheduler replica."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import grpc

from lightflow._dag import Dag
from lightflow._data import MultiTaskData, TaskData
from lightflow._errors import LightflowError
from lightflow._replicas import Replicas
from lightflow._taskdata import encode_task_data
from lightflow.v1 import common_pb2, scheduler_pb2

_CALL_TIMEOUT_S = 30.0
# One JoinDags call waits this long at most; the task then calls again (any replica).
_JOIN_WAIT_MS = 10_000


class SignalError(LightflowError):
    """A signal the schedulers refused, with their reason."""


def _input_dataset(data: object) -> TaskData | None:
    """The input of a started DAG's first tasks: one dataset (TaskData)."""
    if data is None:
        return None
    if isinstance(data, MultiTaskData):
        data = data.copy()
        data.flatten(in_place=True)
        data = data.default_dataset
    elif isinstance(data, dict):
        data = TaskData(data)
    elif not isinstance(data, TaskData):
        raise SignalError(
            f"start_dag data must be task data (TaskData, MultiTaskData or a dict),"
            f" not {type(data).__name__}"
        )
    return data


def _encode_inline(value: object) -> common_pb2.Payload:
    return encode_task_data(value, "", None)


class TaskSignal:
    """Requests from a running task to the schedulers."""

    def __init__(
        self,
        replicas: Replicas,
        run_id: str,
        dag_instance: str,
        notify_blocked: Callable[[bool], None],
        *,
        encode_data: Callable[[object], common_pb2.Payload] | None = None,
        task_name: str = "",
    ) -> None:
        self._replicas = replicas
        self._run_id = run_id
        self._dag_instance = dag_instance
        self._task_name = task_name  # named as what started the DAG instances it starts
        # Tells the worker the task waits (True) or goes on (False): its slot is free while
        # it waits in join_dags.
        self._notify_blocked = notify_blocked
        self._encode_data = encode_data or _encode_inline

    def _call(self, what: str, fn: Callable[[Any], Any]) -> Any:
        try:
            return self._replicas.call(fn)
        except grpc.RpcError as err:
            raise SignalError(f"{what} failed: {err.details()}") from err

    def start_dag(self, dag: Dag | str, *, data: object = None) -> str | None:
        """Start a new instance of a DAG of this workflow, given by object or name. Returns
        the instance's name ("sub_dag:1"), or None when the run is stopping."""
        name = dag.name if isinstance(dag, Dag) else str(dag)
        # The id lets a retry on another replica (after one died mid-call) find the instance
        # the first try started, instead of starting a second.
        request = scheduler_pb2.StartDagRequest(
            run_id=self._run_id,
            dag_name=name,
            request_id=uuid.uuid4().hex,
            caller_instance=self._dag_instance,
            caller_task=self._task_name,
        )
        dataset = _input_dataset(data)
        if dataset is not None:
            request.data.CopyFrom(self._encode_data(dataset))
        response = self._call(
            f"start_dag('{name}')",
            lambda stubs: stubs.signal.StartDag(request, timeout=_CALL_TIMEOUT_S),
        )
        return response.dag_instance or None

    def join_dags(self, names: Sequence[str] | None = None) -> None:
        """Block until the named DAG instances (default: all others of the run) have
        ended. The task's worker slot is free for other tasks meanwhile."""
        request = scheduler_pb2.JoinDagsRequest(
            run_id=self._run_id,
            dag_instances=[n for n in names or [] if n],
            caller_dag_instance=self._dag_instance,
            wait_ms=_JOIN_WAIT_MS,
        )
        timeout = _JOIN_WAIT_MS / 1000 + _CALL_TIMEOUT_S
        self._notify_blocked(True)
        try:
            while not self._call(
                "join_dags", lambda stubs: stubs.signal.JoinDags(request, timeout=timeout)
            ).done:
                pass
        finally:
            self._notify_blocked(False)

    def stop_workflow(self) -> None:
        """Stop the run: nothing new starts, running tasks finish, the run ends stopped."""
        request = scheduler_pb2.StopRunRequest(run_id=self._run_id)
        self._call(
            "stop_workflow", lambda stubs: stubs.scheduler.StopRun(request, timeout=_CALL_TIMEOUT_S)
        )

    def stop_dag(self, name: str | None = None) -> None:
        """Stop a DAG instance (default: the task's own)."""
        request = scheduler_pb2.StopDagRequest(
            run_id=self._run_id, dag_instance=name or self._dag_instance
        )
        self._call("stop_dag", lambda stubs: stubs.signal.StopDag(request, timeout=_CALL_TIMEOUT_S))

    @property
    def is_stopped(self) -> bool:
        """True when the task's DAG instance or the run was stopped (or is over)."""
        request = scheduler_pb2.IsStoppedRequest(
            run_id=self._run_id, dag_instance=self._dag_instance
        )
        response = self._call(
            "is_stopped", lambda stubs: stubs.signal.IsStopped(request, timeout=_CALL_TIMEOUT_S)
        )
        return bool(response.dag_stopped or response.run_stopped)
