"""The Python client: register workflows, start runs, list and follow them, through any of
several scheduler replicas."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import grpc

from lightflow._errors import LightflowError
from lightflow._grpc import RETRYABLE_CODES
from lightflow._replicas import Replicas, SchedulerStubs
from lightflow._tls import PathLike, TlsOptions
from lightflow._wire.status import (
    FINAL_RUN_STATUSES,
    dag_status_word,
    event_type_word,
    run_status,
    run_status_word,
    task_status_word,
)
from lightflow._workflow import load_workflow
from lightflow.v1 import common_pb2, scheduler_pb2, workflow_pb2

_CALL_TIMEOUT_S = 30.0
T = TypeVar("T")
#: Every status a run can have, for `Client.list_runs(status=...)`.
RUN_STATUSES = ("scheduled", "running", "stopping", *sorted(FINAL_RUN_STATUSES))


class ClientError(LightflowError):
    """A call the schedulers refused or could not answer.

    `str(err)` is the server's message; `code` the gRPC status name ("NOT_FOUND",
    "INVALID_ARGUMENT", "UNAVAILABLE", ...), empty for errors found before any call."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


def _time(ts: object) -> datetime | None:
    """A protobuf Timestamp as an aware datetime in local time; None when unset."""
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


def _failure(message: object) -> Failure | None:
    if message.HasField("failure"):  # type: ignore[attr-defined]
        return Failure.from_proto(message.failure)  # type: ignore[attr-defined]
    return None


@dataclass(frozen=True)
class TaskInfo:
    """One task of one DAG instance of a run. `status` is one of waiting, queued, running,
    retrying, succeeded, failed, skipped, stopped, aborted, cancelled (it never ran: its run
    stopped, failed or aborted, or its DAG instance was stopped, before it started)."""

    dag_instance: str
    name: str
    status: str
    #: 1 for the first hand-out; 0 while never handed out.
    attempt: int
    #: The worker holding or last holding it; empty if none.
    worker_id: str
    queue: str
    #: When the current attempt was handed out (local time); None while never handed out.
    started_at: datetime | None = None
    #: When it ended; None while it has not.
    ended_at: datetime | None = None
    failure: Failure | None = None

    @classmethod
    def from_proto(cls, task: scheduler_pb2.TaskState) -> TaskInfo:
        return cls(
            dag_instance=task.dag_instance,
            name=task.task_name,
            status=task_status_word(task.status),
            attempt=task.attempt,
            worker_id=task.worker_id,
            queue=task.queue,
            started_at=_time(task.started_at) if task.HasField("started_at") else None,
            ended_at=_time(task.ended_at) if task.HasField("ended_at") else None,
            failure=_failure(task),
        )


@dataclass(frozen=True)
class DagInfo:
    """One DAG instance of a run: "main_dag", or "sub_dag:3" for the third one a task
    started. `status` is one of running, succeeded, failed, stopped."""

    instance: str
    dag_name: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    #: The task that started it with `signal.start_dag`, as (DAG instance, task name);
    #: None for an autostart DAG.
    started_by: tuple[str, str] | None = None

    @classmethod
    def from_proto(cls, dag: scheduler_pb2.DagInstance) -> DagInfo:
        return cls(
            instance=dag.instance,
            dag_name=dag.dag_name,
            status=dag_status_word(dag.status),
            started_at=_time(dag.started_at) if dag.HasField("started_at") else None,
            ended_at=_time(dag.ended_at) if dag.HasField("ended_at") else None,
            started_by=(
                (dag.started_by_instance, dag.started_by_task) if dag.started_by_task else None
            ),
        )


@dataclass(frozen=True)
class RunInfo:
    """A run as the schedulers see it. `status` is one of scheduled, running, stopping,
    succeeded, failed, aborted, stopped. Times are in local time.

    `dags`, `dag_instances` and `tasks` are filled by `Client.get_run` only (empty in
    `Client.list_runs`)."""

    id: str
    workflow_name: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    #: The first failure, when a task failed or aborted.
    failure: Failure | None
    #: DAG instance name -> its status.
    dags: dict[str, str]
    tasks: list[TaskInfo]
    dag_instances: list[DagInfo] = field(default_factory=list)
    keep_data: bool = False
    #: Hex SHA-256 of the workflow definition the run runs.
    definition_hash: str = ""
    #: For a run started with a later start time: when it starts (or started).
    start_at: datetime | None = None
    #: For a run a schedule started: the schedule's name, and the tick (None for a trigger).
    schedule: str = ""
    schedule_tick: datetime | None = None

    @property
    def duration(self) -> float | None:
        """Seconds from start to end; None while the run is not over."""
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    @classmethod
    def from_proto(cls, run: scheduler_pb2.Run) -> RunInfo:
        dag_instances = [DagInfo.from_proto(d) for d in run.dags]
        return cls(
            id=run.id,
            workflow_name=run.workflow_name,
            status=run_status_word(run.status),
            started_at=_time(run.started_at) if run.HasField("started_at") else None,
            ended_at=_time(run.ended_at) if run.HasField("ended_at") else None,
            failure=_failure(run),
            dags={d.instance: d.status for d in dag_instances},
            tasks=[TaskInfo.from_proto(t) for t in run.tasks],
            dag_instances=dag_instances,
            keep_data=run.keep_data,
            definition_hash=run.definition_hash,
            start_at=_time(run.start_at) if run.HasField("start_at") else None,
            schedule=run.schedule,
            schedule_tick=_time(run.schedule_tick) if run.HasField("schedule_tick") else None,
        )


@dataclass(frozen=True)
class RunEvent:
    """One transition of a run, a DAG instance or a task, or a line of task output.

    `type` is one of run_started, run_stopping, run_ended, dag_started, dag_stopping,
    dag_ended, task_queued, task_started, task_ended, task_output, task_lease_expired,
    task_retrying."""

    #: Opaque and increasing: pass it as `Run.events(after=...)` to resume.
    id: str
    time: datetime | None
    type: str
    #: Empty for run events.
    dag_instance: str
    #: Empty for run and DAG events.
    task_name: str
    attempt: int
    worker_id: str
    #: The run's, DAG's or task's status after the event; empty when not a status change.
    status: str
    #: task_output: the line printed, without its newline; run_stopping: why.
    text: str
    #: task_output: "stdout" or "stderr".
    stream: str
    failure: Failure | None

    @classmethod
    def from_proto(cls, event: scheduler_pb2.RunEvent) -> RunEvent:
        status = ""
        if event.run_status:
            status = run_status_word(event.run_status)
        elif event.dag_status:
            status = dag_status_word(event.dag_status)
        elif event.task_status:
            status = task_status_word(event.task_status)
        return cls(
            id=event.id,
            time=_time(event.time),
            type=event_type_word(event.type),
            dag_instance=event.dag_instance,
            task_name=event.task_name,
            attempt=event.attempt,
            worker_id=event.worker_id,
            status=status,
            text=event.text,
            stream=event.stream,
            failure=_failure(event),
        )


@dataclass(frozen=True)
class WorkflowInfo:
    """A registered workflow."""

    name: str
    #: Hex SHA-256 of the registered definition.
    definition_hash: str
    description: str
    #: DAG names, in definition order.
    dag_names: list[str]
    registered_at: datetime | None = None


@dataclass(frozen=True)
class WorkflowDetails:
    """A registered workflow with its definition: DAGs, their tasks and edges (aliases
    included), its options (`Parameters`). The tasks' code is not part of it."""

    name: str
    definition_hash: str
    description: str
    registered_at: datetime | None
    definition: workflow_pb2.WorkflowDefinition


@dataclass(frozen=True)
class ScheduleInfo:
    """A schedule: what it starts (`workflow`, `arguments`), when (`cron` in `timezone`, or
    every `interval_s`), and where it is (`next_tick`, `last_tick`, `last_run_id`)."""

    name: str
    workflow: str
    arguments: dict[str, str]
    cron: str
    timezone: str
    interval_s: float
    paused: bool
    next_tick: datetime | None
    last_tick: datetime | None
    last_run_id: str
    overlap: str
    catch_up: str
    jitter_s: float = 0.0
    start_at: datetime | None = None
    end_at: datetime | None = None
    keep_data: bool = False
    #: Why the last tick started no run; "" when it did.
    last_error: str = ""

    @classmethod
    def from_proto(cls, message: scheduler_pb2.Schedule) -> ScheduleInfo:
        spec = message.spec

        def when(holder: Any, name: str) -> datetime | None:
            return _time(getattr(holder, name)) if holder.HasField(name) else None

        return cls(
            name=spec.name,
            workflow=spec.workflow_name,
            arguments=dict(spec.arguments),
            cron=spec.cron,
            timezone=spec.timezone,
            interval_s=spec.interval_s,
            paused=message.paused,
            next_tick=when(message, "next_tick"),
            last_tick=when(message, "last_tick"),
            last_run_id=message.last_run_id,
            overlap=workflow_pb2.OverlapPolicy.Name(spec.overlap)
            .removeprefix("OVERLAP_POLICY_")
            .lower(),
            catch_up=workflow_pb2.CatchUpPolicy.Name(spec.catch_up)
            .removeprefix("CATCH_UP_POLICY_")
            .lower(),
            jitter_s=spec.jitter_s,
            start_at=when(spec, "start_at"),
            end_at=when(spec, "end_at"),
            keep_data=spec.keep_data,
            last_error=message.last_error,
        )


@dataclass(frozen=True)
class RunsPage:
    """One page of `Client.runs_page`: pass `next_page_token` for the next ("" at the end)."""

    runs: list[RunInfo]
    next_page_token: str


@dataclass(frozen=True)
class WorkerInfo:
    """A worker connected to the schedulers now."""

    worker_id: str
    hostname: str
    pid: int
    queues: list[str]
    #: Task slots of its pool.
    concurrency: int
    #: Tasks it holds now.
    running: int
    last_seen: datetime | None = None


class Run:
    """A handle on one run: `client.start(...)` returns one, `client.run(id)` makes one."""

    def __init__(self, client: Client, run_id: str) -> None:
        self._client = client
        #: The run's id (also the `workflow_id` its tasks see in their context).
        self.id = run_id
        # Known once seen: a final status never changes.
        self._final_status: str | None = None

    def __repr__(self) -> str:
        return f"Run({self.id!r})"

    def info(self) -> RunInfo:
        """The run's status, DAG instances and tasks."""
        return self._client.get_run(self.id)

    def status(self) -> str:
        """The run's status now: running, stopping, succeeded, failed, aborted or stopped."""
        return self.info().status

    def stop(self) -> str:
        """Asks the run to stop (nothing new starts, running tasks finish); returns its
        status after the request: stopping, or its final status if it had ended."""
        request = scheduler_pb2.StopRunRequest(run_id=self.id)
        response = self._client._call(
            lambda s: s.scheduler.StopRun(request, timeout=_CALL_TIMEOUT_S)
        )
        return run_status_word(response.status)

    def events(self, after: str = "", *, timeout: float | None = None) -> Iterator[RunEvent]:
        """The run's events from its first one (or after the event id `after`), live,
        ending with the run's final event (type run_ended).

        Moves to another replica when one fails and resumes after the last event seen, so
        nothing is lost or repeated. Raises TimeoutError when `timeout` seconds pass
        first, ClientError when the run is unknown."""
        return self._watch(after, timeout, ())

    def _watch(
        self,
        after: str,
        timeout: float | None,
        types: Sequence[scheduler_pb2.RunEventType],
        start: scheduler_pb2.StartRunRequest | None = None,
    ) -> Iterator[RunEvent]:
        """The run's events; with `start` (and no id yet), the call starts the run first."""
        cursor = after
        replicas = self._client.replicas
        deadline = None if timeout is None else time.monotonic() + timeout
        unavailable_since: float | None = None
        while True:
            if self.id:
                request = scheduler_pb2.WatchRunRequest(
                    run_id=self.id, after_event_id=cursor, types=types
                )
            else:  # a retry sends the same request id: it never starts a second run
                request = scheduler_pb2.WatchRunRequest(start=start, types=types)
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            stubs = replicas.pick()
            try:
                # Without a timeout a watch lasts as long as the run: keepalive pings, not a
                # deadline, notice a dead replica.
                for response in stubs.scheduler.WatchRun(request, timeout=remaining):
                    unavailable_since = None
                    if response.started_run_id:
                        self.id = response.started_run_id
                        continue
                    event = RunEvent.from_proto(response.event)
                    cursor = event.id
                    ended = event.type == "run_ended"
                    if ended:
                        self._final_status = event.status
                    yield event
                    if ended:
                        return
                return
            except grpc.RpcError as err:
                if err.code() == grpc.StatusCode.DEADLINE_EXCEEDED and deadline is not None:
                    if not self.id:  # the start itself did not answer in time
                        raise TimeoutError(f"the run's start got no answer in {timeout} s") from err
                    raise TimeoutError(f"run {self.id} did not end within {timeout} s") from err
                if err.code() not in RETRYABLE_CODES:
                    raise _client_error(err, replicas.addresses) from err
                now = time.monotonic()
                unavailable_since = unavailable_since or now
                if now - unavailable_since > self._client.failover_timeout:
                    raise _client_error(err, replicas.addresses) from err
                replicas.mark_down(stubs.address)
                time.sleep(0.1)

    def wait(self, timeout: float | None = None) -> str:
        """Blocks until the run ends and returns its final status (succeeded, failed,
        aborted or stopped); TimeoutError after `timeout` seconds."""
        return self._wait(timeout)

    def _wait(
        self, timeout: float | None, start: scheduler_pb2.StartRunRequest | None = None
    ) -> str:
        if self._final_status is not None:
            return self._final_status
        # Only the final event crosses the wire: the replica skips the others.
        ended = (scheduler_pb2.RUN_EVENT_TYPE_RUN_ENDED,)
        for event in self._watch("", timeout, ended, start):
            if event.type == "run_ended":
                return event.status
        return self.status()


def _start_request(
    name: str,
    args: Mapping[str, object] | None,
    keep_data: bool,
    deadline: float | None,
    start_at: datetime | None = None,
) -> scheduler_pb2.StartRunRequest:
    request = scheduler_pb2.StartRunRequest(
        workflow_name=name,
        arguments={k: str(v) for k, v in (args or {}).items()},
        keep_data=keep_data,
        deadline_s=deadline or 0.0,
        # A retry on another replica (after one died mid-call) returns the run the first try
        # started instead of starting a second.
        request_id=uuid.uuid4().hex,
    )
    if start_at is not None:
        request.start_at.FromMilliseconds(int(start_at.timestamp() * 1000))
    return request


def start_time(start_at: datetime | None, start_in: float | timedelta | None) -> datetime | None:
    """When a run is to start: `start_at` (an aware datetime; a naive one is local time), or
    `start_in` seconds (or a timedelta) from now; None: now. ClientError for both, or for a
    negative delay."""
    if start_at is not None and start_in is not None:
        raise ClientError("give start_at or start_in, not both", "INVALID_ARGUMENT")
    if start_in is not None:
        seconds = start_in.total_seconds() if isinstance(start_in, timedelta) else start_in
        if seconds < 0:
            raise ClientError(f"start_in must not be negative, not {seconds}", "INVALID_ARGUMENT")
        return datetime.now().astimezone() + timedelta(seconds=seconds)
    if start_at is not None and start_at.tzinfo is None:
        return start_at.astimezone()  # local time
    return start_at


def _client_error(err: grpc.RpcError, addresses: Sequence[str]) -> ClientError:
    code = err.code()
    details = err.details() or code.name
    if code == grpc.StatusCode.UNAVAILABLE:
        where = ", ".join(addresses)
        return ClientError(f"no scheduler replica answers at {where} ({details})", code.name)
    return ClientError(details, code.name)


class Client:
    """Talks to the scheduler replicas of a Lightflow deployment.

    `address` is one "host:port" or several (a list, or comma separated); without it the
    client uses $LIGHTFLOW_ADDRESS, then the stack `lfctl up` runs in the current folder.
    Calls are spread over the replicas in turn (`balance=False`: they stay on one until it
    fails); a call that finds a replica down moves to the next one, for up to
    `failover_timeout` seconds, then raises ClientError.

    `token` is the deployment's shared token (default: $LIGHTFLOW_TOKEN, then the local
    stack's). `tls_ca`, `tls_cert` and `tls_key` are PEM file paths that turn on TLS:
    the CA to check the schedulers' certificate with, and the client's own certificate and key
    for mutual TLS (defaults: $LIGHTFLOW_TLS_CA, $LIGHTFLOW_TLS_CERT, $LIGHTFLOW_TLS_KEY).

    A client is cheap to keep and safe to share between threads; `close()` (or a `with`
    block) closes its channels."""

    def __init__(
        self,
        address: str | Sequence[str] | None = None,
        *,
        token: str | None = None,
        tls_ca: PathLike | None = None,
        tls_cert: PathLike | None = None,
        tls_key: PathLike | None = None,
        tls_server_name: str | None = None,
        balance: bool = True,
        failover_timeout: float = 30.0,
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
        tls = TlsOptions.from_paths(
            tls_ca or os.environ.get("LIGHTFLOW_TLS_CA") or None,
            tls_cert or os.environ.get("LIGHTFLOW_TLS_CERT") or None,
            tls_key or os.environ.get("LIGHTFLOW_TLS_KEY") or None,
            server_name=tls_server_name,
        )
        if tls is not None:
            tls.credentials()  # a missing or unreadable file fails here, not on first call
        try:
            #: The replicas this client talks to (their addresses: `replicas.addresses`).
            self.replicas = Replicas(
                address, token, failover_s=failover_timeout, tls=tls, balance=balance
            )
        except ValueError as err:
            raise ClientError(str(err)) from err
        self.failover_timeout = failover_timeout

    def close(self) -> None:
        """Closes the channels to the replicas."""
        self.replicas.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _call(self, fn: Callable[[SchedulerStubs], T]) -> T:
        try:
            return self.replicas.call(fn)
        except grpc.RpcError as err:
            raise _client_error(err, self.replicas.addresses) from err

    def register(self, path: str | os.PathLike[str]) -> str:
        """Loads a workflow file, checks it and registers it (replacing an older version of
        the same name); returns the workflow's name (the file's name without `.py`).

        Raises a LightflowError when the file does not load or its DAGs are
        invalid, ClientError when the schedulers refuse it."""
        definition = load_workflow(path).to_proto()
        request = scheduler_pb2.RegisterWorkflowRequest(definition=definition)
        response = self._call(
            lambda s: s.scheduler.RegisterWorkflow(request, timeout=_CALL_TIMEOUT_S)
        )
        return str(response.name)

    def start(
        self,
        name: str,
        args: Mapping[str, object] | None = None,
        *,
        keep_data: bool = False,
        deadline: float | None = None,
        start_at: datetime | None = None,
        start_in: float | timedelta | None = None,
    ) -> Run:
        """Starts a run of the registered workflow `name` and returns its handle.

        `args` are the run arguments: values are sent as text and converted by the
        workflow's declared options (a wrong or missing one is a ClientError, and nothing
        runs). With `keep_data` the run's store document outlives the run. `deadline` is
        the seconds the run may take: past it nothing new starts and the run ends failed.
        With `start_at` (a datetime; naive is local time) or `start_in` (seconds, or a
        timedelta) the run exists at once, `scheduled`, and starts then (it can be stopped
        before); a time in the past is a ClientError."""
        when = start_time(start_at, start_in)
        request = _start_request(name, args, keep_data, deadline, when)
        response = self._call(lambda s: s.scheduler.StartRun(request, timeout=_CALL_TIMEOUT_S))
        return Run(self, response.run_id)

    def start_and_wait(
        self,
        name: str,
        args: Mapping[str, object] | None = None,
        *,
        keep_data: bool = False,
        deadline: float | None = None,
        timeout: float | None = None,
    ) -> Run:
        """Starts a run like `start()` and blocks until it ends, in one call instead of
        two; returns the ended run, whose `wait()` gives its final status at once.

        Moves to another replica when one fails, without starting the run twice. Raises
        what `start()` raises, and TimeoutError when `timeout` seconds pass first (the run
        goes on; the error names it)."""
        run = Run(self, "")
        run._wait(timeout, start=_start_request(name, args, keep_data, deadline))
        return run

    def run(self, run_id: str) -> Run:
        """A handle on an existing run (no call is made)."""
        return Run(self, run_id)

    def get_run(self, run_id: str) -> RunInfo:
        """A run's status, DAG instances and tasks; ClientError (NOT_FOUND) if unknown."""
        request = scheduler_pb2.GetRunRequest(run_id=run_id)
        response = self._call(lambda s: s.scheduler.GetRun(request, timeout=_CALL_TIMEOUT_S))
        return RunInfo.from_proto(response.run)

    def list_runs(
        self, status: str | None = None, limit: int = 100, *, workflow: str | None = None
    ) -> list[RunInfo]:
        """Runs, newest first; only those in `status` (one of RUN_STATUSES) and of
        `workflow` when given."""
        return self.runs_page(status, workflow=workflow, limit=limit).runs

    def runs_page(
        self,
        status: str | None = None,
        *,
        workflow: str | None = None,
        limit: int = 100,
        page_token: str = "",
    ) -> RunsPage:
        """A page of runs, newest first (as `list_runs`), after the page whose
        `next_page_token` is given; at most `limit` (up to 1000)."""
        if status is not None and status.lower() not in RUN_STATUSES:
            raise ClientError(
                f"unknown run status {status!r}: use one of {', '.join(RUN_STATUSES)}",
                "INVALID_ARGUMENT",
            )
        value = run_status(status.lower()) if status else common_pb2.RUN_STATUS_UNSPECIFIED
        request = scheduler_pb2.ListRunsRequest(
            status=value, limit=limit, workflow_name=workflow or "", page_token=page_token
        )
        response = self._call(lambda s: s.scheduler.ListRuns(request, timeout=_CALL_TIMEOUT_S))
        return RunsPage([RunInfo.from_proto(r) for r in response.runs], response.next_page_token)

    def create_schedule(
        self,
        name: str,
        workflow: str,
        args: Mapping[str, object] | None = None,
        *,
        cron: str = "",
        timezone: str = "",
        every: float | timedelta | None = None,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
        jitter: float = 0.0,
        overlap: str = "skip",
        catch_up: str = "none",
        catch_up_limit: int = 10,
        keep_data: bool = False,
    ) -> ScheduleInfo:
        """Makes a schedule that starts `workflow` with `args` on each tick: of `cron` (five
        fields, in the IANA `timezone`; UTC by default), or `every` seconds (or a timedelta)
        from `start_at` (or now). No tick before `start_at` or after `end_at`; each run starts
        up to `jitter` seconds after its tick. `overlap` (a tick while the schedule's previous
        run goes on): "skip", "allow" or "queue". `catch_up` (ticks missed while no scheduler
        ran): "none", "last", or "all" (the latest `catch_up_limit`). ClientError for a bad
        expression, zone, workflow or argument, or a name in use: nothing is made."""
        spec = workflow_pb2.ScheduleSpec(
            name=name,
            workflow_name=workflow,
            arguments={k: str(v) for k, v in (args or {}).items()},
            cron=cron,
            timezone=timezone,
            interval_s=every.total_seconds() if isinstance(every, timedelta) else every or 0.0,
            jitter_s=jitter,
            catch_up_limit=catch_up_limit,
            keep_data=keep_data,
        )
        try:
            overlap_value = workflow_pb2.OverlapPolicy.Value(f"OVERLAP_POLICY_{overlap.upper()}")
            catch_up_value = workflow_pb2.CatchUpPolicy.Value(f"CATCH_UP_POLICY_{catch_up.upper()}")
        except ValueError:
            raise ClientError(
                f"overlap is skip, allow or queue, and catch_up none, last or all"
                f" (not {overlap!r}, {catch_up!r})",
                "INVALID_ARGUMENT",
            ) from None
        spec.overlap = cast(workflow_pb2.OverlapPolicy, overlap_value)
        spec.catch_up = cast(workflow_pb2.CatchUpPolicy, catch_up_value)
        for field_name, moment in (("start_at", start_at), ("end_at", end_at)):
            if moment is not None:
                stamp = moment if moment.tzinfo is not None else moment.astimezone()
                getattr(spec, field_name).FromMilliseconds(int(stamp.timestamp() * 1000))
        request = scheduler_pb2.CreateScheduleRequest(spec=spec)
        response = self._call(
            lambda s: s.scheduler.CreateSchedule(request, timeout=_CALL_TIMEOUT_S)
        )
        return ScheduleInfo.from_proto(response)

    def list_schedules(self) -> list[ScheduleInfo]:
        """Every schedule, by name."""
        request = scheduler_pb2.ListSchedulesRequest()
        response = self._call(lambda s: s.scheduler.ListSchedules(request, timeout=_CALL_TIMEOUT_S))
        return [ScheduleInfo.from_proto(s) for s in response.schedules]

    def pause_schedule(self, name: str) -> ScheduleInfo:
        """Stops a schedule's ticks until it is resumed."""
        request = scheduler_pb2.ScheduleRequest(name=name)
        return ScheduleInfo.from_proto(
            self._call(lambda s: s.scheduler.PauseSchedule(request, timeout=_CALL_TIMEOUT_S))
        )

    def resume_schedule(self, name: str) -> ScheduleInfo:
        """Ticks again, from the first tick after now (missed ones start nothing)."""
        request = scheduler_pb2.ScheduleRequest(name=name)
        return ScheduleInfo.from_proto(
            self._call(lambda s: s.scheduler.ResumeSchedule(request, timeout=_CALL_TIMEOUT_S))
        )

    def trigger_schedule(self, name: str) -> Run:
        """Starts a run of the schedule now, besides its ticks."""
        request = scheduler_pb2.ScheduleRequest(name=name)
        response = self._call(
            lambda s: s.scheduler.TriggerSchedule(request, timeout=_CALL_TIMEOUT_S)
        )
        return Run(self, response.run_id)

    def delete_schedule(self, name: str) -> None:
        """Removes a schedule (the runs it started go on)."""
        request = scheduler_pb2.ScheduleRequest(name=name)
        self._call(lambda s: s.scheduler.DeleteSchedule(request, timeout=_CALL_TIMEOUT_S))

    def get_workflow(self, name: str) -> WorkflowDetails:
        """A registered workflow and its definition; ClientError (NOT_FOUND) if unknown."""
        request = scheduler_pb2.GetWorkflowRequest(name=name)
        response = self._call(lambda s: s.scheduler.GetWorkflow(request, timeout=_CALL_TIMEOUT_S))
        definition = response.definition
        return WorkflowDetails(
            definition.name,
            response.definition_hash,
            definition.description,
            _time(response.registered_at) if response.HasField("registered_at") else None,
            definition,
        )

    def list_workflows(self) -> list[WorkflowInfo]:
        """The registered workflows."""
        request = scheduler_pb2.ListWorkflowsRequest()
        response = self._call(lambda s: s.scheduler.ListWorkflows(request, timeout=_CALL_TIMEOUT_S))
        return [
            WorkflowInfo(
                w.name,
                w.definition_hash,
                w.description,
                list(w.dag_names),
                _time(w.registered_at) if w.HasField("registered_at") else None,
            )
            for w in response.workflows
        ]

    def list_workers(self) -> list[WorkerInfo]:
        """The workers connected to the schedulers now."""
        request = scheduler_pb2.ListWorkersRequest()
        response = self._call(lambda s: s.scheduler.ListWorkers(request, timeout=_CALL_TIMEOUT_S))
        return [
            WorkerInfo(
                w.worker_id,
                w.hostname,
                w.pid,
                list(w.queues),
                w.concurrency,
                w.running,
                _time(w.last_seen) if w.HasField("last_seen") else None,
            )
            for w in response.workers
        ]
