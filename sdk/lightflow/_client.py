"""The Python client: register workflows, start runs, follow them, through any replica."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar, cast

import grpc

from lightflow._errors import LightflowError
from lightflow._replicas import Replicas, SchedulerStubs
from lightflow._workflow import load_workflow
from lightflow.v1 import common_pb2, scheduler_pb2

_CALL_TIMEOUT_S = 30.0
T = TypeVar("T")
FINAL_STATUSES = frozenset({"succeeded", "failed", "aborted", "stopped"})


class ClientError(LightflowError):
    """A call the schedulers refused or could not answer; the message is the server's."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


def _enum_name(enum: object, value: int, prefix: str) -> str:
    name: str = enum.Name(value)  # type: ignore[attr-defined]
    return name.removeprefix(prefix).lower()


def _time(ts: object) -> datetime | None:
    seconds = getattr(ts, "seconds", 0)
    nanos = getattr(ts, "nanos", 0)
    if not seconds and not nanos:
        return None
    return datetime.fromtimestamp(seconds + nanos / 1e9).astimezone()


@dataclass(frozen=True)
class Failure:
    """Why a task or run failed: the exception's type, message and traceback."""

    type: str
    message: str
    stack_trace: str

    @classmethod
    def from_proto(cls, proto: common_pb2.Failure) -> Failure:
        return cls(proto.type, proto.message, proto.stack_trace)


@dataclass(frozen=True)
class TaskInfo:
    dag_instance: str
    name: str
    status: str
    attempt: int
    worker_id: str
    queue: str


@dataclass(frozen=True)
class RunInfo:
    """A run as the schedulers see it. `status` is one of running, stopping, succeeded,
    failed, aborted, stopped."""

    id: str
    workflow_name: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    failure: Failure | None
    dags: dict[str, str]
    tasks: list[TaskInfo]

    @classmethod
    def from_proto(cls, run: scheduler_pb2.Run) -> RunInfo:
        return cls(
            id=run.id,
            workflow_name=run.workflow_name,
            status=_enum_name(common_pb2.RunStatus, run.status, "RUN_STATUS_"),
            started_at=_time(run.started_at),
            ended_at=_time(run.ended_at) if run.HasField("ended_at") else None,
            failure=Failure.from_proto(run.failure) if run.HasField("failure") else None,
            dags={
                d.instance: _enum_name(common_pb2.DagStatus, d.status, "DAG_STATUS_")
                for d in run.dags
            },
            tasks=[
                TaskInfo(
                    t.dag_instance,
                    t.task_name,
                    _enum_name(common_pb2.TaskStatus, t.status, "TASK_STATUS_"),
                    t.attempt,
                    t.worker_id,
                    t.queue,
                )
                for t in run.tasks
            ],
        )


@dataclass(frozen=True)
class RunEvent:
    """One transition of a run, or a line of task output (`type == "task_output"`)."""

    id: str
    time: datetime | None
    type: str
    dag_instance: str
    task_name: str
    attempt: int
    worker_id: str
    # The run's, DAG's or task's status after the event; empty when not a status change.
    status: str
    text: str
    stream: str
    failure: Failure | None

    @classmethod
    def from_proto(cls, event: scheduler_pb2.RunEvent) -> RunEvent:
        status = ""
        if event.run_status:
            status = _enum_name(common_pb2.RunStatus, event.run_status, "RUN_STATUS_")
        elif event.dag_status:
            status = _enum_name(common_pb2.DagStatus, event.dag_status, "DAG_STATUS_")
        elif event.task_status:
            status = _enum_name(common_pb2.TaskStatus, event.task_status, "TASK_STATUS_")
        return cls(
            id=event.id,
            time=_time(event.time),
            type=_enum_name(scheduler_pb2.RunEventType, event.type, "RUN_EVENT_TYPE_"),
            dag_instance=event.dag_instance,
            task_name=event.task_name,
            attempt=event.attempt,
            worker_id=event.worker_id,
            status=status,
            text=event.text,
            stream=event.stream,
            failure=Failure.from_proto(event.failure) if event.HasField("failure") else None,
        )


@dataclass(frozen=True)
class WorkflowInfo:
    name: str
    definition_hash: str
    description: str
    dag_names: list[str]


@dataclass(frozen=True)
class WorkerInfo:
    worker_id: str
    hostname: str
    pid: int
    queues: list[str]
    concurrency: int
    running: int


class Run:
    """A handle on one run."""

    def __init__(self, client: Client, run_id: str) -> None:
        self._client = client
        self.id = run_id

    def __repr__(self) -> str:
        return f"Run({self.id!r})"

    def info(self) -> RunInfo:
        return self._client.get_run(self.id)

    def status(self) -> str:
        return self.info().status

    def stop(self) -> str:
        """Asks the run to stop; returns its status after the request."""
        request = scheduler_pb2.StopRunRequest(run_id=self.id)
        response = self._client._call(
            lambda s: s.scheduler.StopRun(request, timeout=_CALL_TIMEOUT_S)
        )
        return _enum_name(common_pb2.RunStatus, response.status, "RUN_STATUS_")

    def events(self, after: str = "", *, timeout: float | None = None) -> Iterator[RunEvent]:
        """The run's events from the start (or after event id `after`), live, ending with
        the run's final event. Moves to another replica when one fails, losing nothing.
        Raises TimeoutError when `timeout` seconds pass first."""
        cursor = after
        replicas = self._client.replicas
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            request = scheduler_pb2.WatchRunRequest(run_id=self.id, after_event_id=cursor)
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                # Without a timeout a watch lasts as long as the run: keepalive pings, not a
                # deadline, notice a dead replica.
                for response in replicas.stubs().scheduler.WatchRun(request, timeout=remaining):
                    event = RunEvent.from_proto(response.event)
                    cursor = event.id
                    yield event
                    if event.type == "run_ended":
                        return
                return
            except grpc.RpcError as err:
                if err.code() == grpc.StatusCode.DEADLINE_EXCEEDED and deadline is not None:
                    raise TimeoutError(f"run {self.id} did not end within {timeout} s") from err
                if err.code() != grpc.StatusCode.UNAVAILABLE:
                    raise ClientError(err.details() or str(err.code()), err.code().name) from err
                replicas.advance()
                time.sleep(0.1)

    def wait(self, timeout: float | None = None) -> str:
        """Blocks until the run ends and returns its final status; TimeoutError after
        `timeout` seconds."""
        status = self.status()
        if status in FINAL_STATUSES:
            return status
        for event in self.events(timeout=timeout):
            if event.type == "run_ended":
                return event.status
        return self.status()


class Client:
    """Talks to the scheduler replicas.

    `address` is one "host:port" or several (a list, or comma separated); without it the
    client uses $LIGHTFLOW_ADDRESS, then the stack `lfctl up` runs in this folder."""

    def __init__(
        self, address: str | Sequence[str] | None = None, *, token: str | None = None
    ) -> None:
        from lightflow._stackfile import read_stack_file  # noqa: PLC0415

        stack = read_stack_file(Path.cwd())
        address = (
            address
            or os.environ.get("LIGHTFLOW_ADDRESS")
            or (",".join(stack.scheduler_addresses) if stack else None)
        )
        if not address:
            raise ClientError(
                "no scheduler address: pass one, set LIGHTFLOW_ADDRESS, or run `lfctl up` here"
            )
        token = token or os.environ.get("LIGHTFLOW_TOKEN") or (stack.token if stack else None)
        self.replicas = Replicas(address, token)

    def close(self) -> None:
        self.replicas.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _call(self, fn: Callable[[SchedulerStubs], T]) -> T:
        try:
            return self.replicas.call(fn)
        except grpc.RpcError as err:
            raise ClientError(err.details() or str(err.code()), err.code().name) from err

    def register(self, path: str | os.PathLike[str]) -> str:
        """Loads a workflow file and registers it; returns the workflow's name."""
        definition = load_workflow(path).to_proto()
        request = scheduler_pb2.RegisterWorkflowRequest(definition=definition)
        response = self._call(
            lambda s: s.scheduler.RegisterWorkflow(request, timeout=_CALL_TIMEOUT_S)
        )
        return str(response.name)

    def start(
        self, name: str, args: Mapping[str, object] | None = None, *, keep_data: bool = False
    ) -> Run:
        """Starts a run of a registered workflow."""
        request = scheduler_pb2.StartRunRequest(
            workflow_name=name,
            arguments={k: str(v) for k, v in (args or {}).items()},
            keep_data=keep_data,
        )
        response = self._call(lambda s: s.scheduler.StartRun(request, timeout=_CALL_TIMEOUT_S))
        return Run(self, response.run_id)

    def run(self, run_id: str) -> Run:
        return Run(self, run_id)

    def get_run(self, run_id: str) -> RunInfo:
        request = scheduler_pb2.GetRunRequest(run_id=run_id)
        response = self._call(lambda s: s.scheduler.GetRun(request, timeout=_CALL_TIMEOUT_S))
        return RunInfo.from_proto(response.run)

    def list_runs(self, status: str | None = None, limit: int = 100) -> list[RunInfo]:
        value = cast(
            common_pb2.RunStatus,
            common_pb2.RunStatus.Value(f"RUN_STATUS_{status.upper()}")
            if status
            else common_pb2.RUN_STATUS_UNSPECIFIED,
        )
        request = scheduler_pb2.ListRunsRequest(status=value, limit=limit)
        response = self._call(lambda s: s.scheduler.ListRuns(request, timeout=_CALL_TIMEOUT_S))
        return [RunInfo.from_proto(r) for r in response.runs]

    def list_workflows(self) -> list[WorkflowInfo]:
        request = scheduler_pb2.ListWorkflowsRequest()
        response = self._call(lambda s: s.scheduler.ListWorkflows(request, timeout=_CALL_TIMEOUT_S))
        return [
            WorkflowInfo(w.name, w.definition_hash, w.description, list(w.dag_names))
            for w in response.workflows
        ]

    def list_workers(self) -> list[WorkerInfo]:
        request = scheduler_pb2.ListWorkersRequest()
        response = self._call(lambda s: s.scheduler.ListWorkers(request, timeout=_CALL_TIMEOUT_S))
        return [
            WorkerInfo(w.worker_id, w.hostname, w.pid, list(w.queues), w.concurrency, w.running)
            for w in response.workers
        ]
