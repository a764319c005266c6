"""gRPC layer of the scheduler, one servicer per service: each translates requests into calls
of the scheduler's parts (convert.py builds the messages) and turns domain errors into gRPC
statuses through one table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TypeVar

import grpc
import redis
import structlog

from lightflow._wire.encodings import ENCODING_BLOB
from lightflow.v1 import scheduler_pb2, scheduler_pb2_grpc
from lightflow_common.server import check_run_access
from lightflow_scheduler import convert
from lightflow_scheduler.core import SchedulerCore
from lightflow_scheduler.errors import (
    InternalError,
    InvalidArgumentError,
    LimitError,
    NotFoundError,
    ScheduleExistsError,
    SchedulerError,
    StaleDefinitionError,
    StoreUnavailableError,
)
from lightflow_scheduler.model import WorkMessage
from lightflow_scheduler.work import WorkStream

log = structlog.get_logger(__name__)

T = TypeVar("T")

# Domain error (or redis' own) -> status, and what goes before its message. The first match
# decides: most specific first.
STATUS_OF_ERROR: tuple[tuple[type[Exception], grpc.StatusCode, str], ...] = (
    (InvalidArgumentError, grpc.StatusCode.INVALID_ARGUMENT, ""),
    (NotFoundError, grpc.StatusCode.NOT_FOUND, ""),
    (LimitError, grpc.StatusCode.RESOURCE_EXHAUSTED, ""),
    (ScheduleExistsError, grpc.StatusCode.ALREADY_EXISTS, ""),
    (StoreUnavailableError, grpc.StatusCode.UNAVAILABLE, ""),
    (StaleDefinitionError, grpc.StatusCode.FAILED_PRECONDITION, ""),
    (InternalError, grpc.StatusCode.INTERNAL, ""),
    (SchedulerError, grpc.StatusCode.FAILED_PRECONDITION, ""),
    (redis.ConnectionError, grpc.StatusCode.UNAVAILABLE, "redis is unavailable: "),
    (redis.TimeoutError, grpc.StatusCode.UNAVAILABLE, "redis is unavailable: "),
    (redis.RedisError, grpc.StatusCode.INTERNAL, "scheduler error: "),
)
_HANDLED = tuple(kind for kind, _, _ in STATUS_OF_ERROR)
# gRPC carries a status message in a trailer of at most 16 KiB; a longer one is lost.
_MAX_MESSAGE_CHARS = 2000


def status_of(err: Exception) -> tuple[grpc.StatusCode, str]:
    """The status and message a caller gets for `err` (one of STATUS_OF_ERROR's kinds)."""
    for kind, code, prefix in STATUS_OF_ERROR:
        if isinstance(err, kind):
            message = prefix + str(err)
            if len(message) > _MAX_MESSAGE_CHARS:
                message = message[:_MAX_MESSAGE_CHARS] + " [...]"
            return code, message
    raise ValueError(f"no status for {type(err).__name__}") from err


def _refuse(context: grpc.ServicerContext, err: Exception) -> NoReturn:
    code, message = status_of(err)
    if not isinstance(err, SchedulerError):  # redis failed us
        if code == grpc.StatusCode.UNAVAILABLE:
            log.warning("redis_unavailable", error=str(err))
        else:
            log.error("redis_error", exc_info=err)
    context.abort(code, message)
    raise AssertionError("unreachable")  # context.abort raises


def _call(context: grpc.ServicerContext, call: Callable[[], T]) -> T:
    """Runs a call of the scheduler's parts; its domain errors become statuses."""
    try:
        return call()
    except _HANDLED as err:
        _refuse(context, err)


class SchedulerServicer(scheduler_pb2_grpc.SchedulerServiceServicer):
    def __init__(self, core: SchedulerCore) -> None:
        self._registry = core.registry
        self._runs = core.runs
        self._dispatch = core.dispatch
        self._schedules = core.schedules

    def RegisterWorkflow(
        self, request: scheduler_pb2.RegisterWorkflowRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.RegisterWorkflowResponse:
        definition = request.definition

        def register() -> Any:
            # The file's schedules are checked first: a wrong one refuses it all.
            specs = [convert.schedule_spec(s) for s in definition.schedules]
            self._schedules.check_declared(definition.name, specs, definition.options)
            graph = self._registry.register(definition)
            self._schedules.sync_declared(definition.name, specs)
            return graph

        graph = _call(context, register)
        return scheduler_pb2.RegisterWorkflowResponse(
            name=request.definition.name, definition_hash=graph.definition_hash
        )

    def ListWorkflows(
        self, request: scheduler_pb2.ListWorkflowsRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.ListWorkflowsResponse:
        workflows = _call(context, self._registry.list_workflows)
        return scheduler_pb2.ListWorkflowsResponse(
            workflows=[convert.workflow_summary(w) for w in workflows]
        )

    def CreateSchedule(
        self, request: scheduler_pb2.CreateScheduleRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.Schedule:
        state = _call(context, lambda: self._schedules.create(convert.schedule_spec(request.spec)))
        return convert.schedule(state)

    def ListSchedules(
        self, request: scheduler_pb2.ListSchedulesRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.ListSchedulesResponse:
        states = _call(context, self._schedules.list)
        return scheduler_pb2.ListSchedulesResponse(schedules=[convert.schedule(s) for s in states])

    def PauseSchedule(
        self, request: scheduler_pb2.ScheduleRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.Schedule:
        return convert.schedule(_call(context, lambda: self._schedules.pause(request.name)))

    def ResumeSchedule(
        self, request: scheduler_pb2.ScheduleRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.Schedule:
        return convert.schedule(_call(context, lambda: self._schedules.resume(request.name)))

    def TriggerSchedule(
        self, request: scheduler_pb2.ScheduleRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.StartRunResponse:
        run_id = _call(context, lambda: self._schedules.trigger(request.name))
        return scheduler_pb2.StartRunResponse(run_id=run_id)

    def DeleteSchedule(
        self, request: scheduler_pb2.ScheduleRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.DeleteScheduleResponse:
        _call(context, lambda: self._schedules.delete(request.name))
        return scheduler_pb2.DeleteScheduleResponse()

    def GetWorkflow(
        self, request: scheduler_pb2.GetWorkflowRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.GetWorkflowResponse:
        graph, registered_ms = _call(context, lambda: self._registry.workflow(request.name))
        return convert.workflow(graph.definition, graph.definition_hash, registered_ms)

    def StartRun(
        self, request: scheduler_pb2.StartRunRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.StartRunResponse:
        return scheduler_pb2.StartRunResponse(run_id=self._start_run(request, context))

    def _start_run(
        self, request: scheduler_pb2.StartRunRequest, context: grpc.ServicerContext
    ) -> str:
        return _call(
            context,
            lambda: self._runs.start(
                request.workflow_name,
                dict(request.arguments),
                request.keep_data,
                request.deadline_s,
                request.request_id,
                convert.ms(request.start_at) if request.HasField("start_at") else 0,
            ),
        )

    def GetRun(
        self, request: scheduler_pb2.GetRunRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.GetRunResponse:
        run = _call(context, lambda: self._runs.get(request.run_id))
        return scheduler_pb2.GetRunResponse(run=convert.run(run))

    def ListRuns(
        self, request: scheduler_pb2.ListRunsRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.ListRunsResponse:
        status = convert.run_status_name(request.status)
        page = _call(
            context,
            lambda: self._runs.list_runs(
                status, request.limit, request.workflow_name, request.page_token
            ),
        )
        return scheduler_pb2.ListRunsResponse(
            runs=[convert.run(r) for r in page.runs], next_page_token=page.next_page_token
        )

    def StopRun(
        self, request: scheduler_pb2.StopRunRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.StopRunResponse:
        check_run_access(context, request.run_id)  # a task may stop its own run
        status = _call(context, lambda: self._runs.stop(request.run_id))
        return scheduler_pb2.StopRunResponse(status=convert.RUN_STATUS[status])

    def WatchRun(
        self, request: scheduler_pb2.WatchRunRequest, context: grpc.ServicerContext
    ) -> Iterator[scheduler_pb2.WatchRunResponse]:
        run_id = request.run_id
        if request.HasField("start"):
            # Submit and wait in one call: a client waiting for a run it starts saves a call.
            if run_id or request.after_event_id:
                _refuse(
                    context,
                    InvalidArgumentError(
                        "a WatchRun that starts its run takes no run_id or after_event_id"
                    ),
                )
            run_id = self._start_run(request.start, context)
            yield scheduler_pb2.WatchRunResponse(started_run_id=run_id)
        events = _call(
            context,
            lambda: self._runs.watch(
                run_id,
                request.after_event_id,
                context.is_active,
                convert.event_type_names(request.types),
            ),
        )
        while True:
            event = _call(context, lambda: next(events, None))
            if event is None:
                return
            yield scheduler_pb2.WatchRunResponse(event=convert.run_event(event))

    def ListWorkers(
        self, request: scheduler_pb2.ListWorkersRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.ListWorkersResponse:
        workers = _call(context, self._dispatch.list_workers)
        return scheduler_pb2.ListWorkersResponse(workers=[convert.worker_info(w) for w in workers])


class SignalServicer(scheduler_pb2_grpc.SignalServiceServicer):
    """What running tasks call; a task's run credential opens its own run only."""

    def __init__(self, core: SchedulerCore) -> None:
        self._signals = core.signals
        self._documents = core.documents
        self._provenance = core.provenance

    def StartDag(
        self, request: scheduler_pb2.StartDagRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.StartDagResponse:
        check_run_access(context, request.run_id)
        given = request.HasField("data")
        data = request.data.SerializeToString() if given else b""
        in_blob = given and request.data.encoding == ENCODING_BLOB
        caller = f"{request.caller_instance}/{request.caller_task}" if request.caller_task else ""
        instance = _call(
            context,
            lambda: self._signals.start_dag(
                request.run_id, request.dag_name, data, in_blob, request.request_id, caller[:300]
            ),
        )
        return scheduler_pb2.StartDagResponse(dag_instance=instance)

    def JoinDags(
        self, request: scheduler_pb2.JoinDagsRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.JoinDagsResponse:
        check_run_access(context, request.run_id)
        done = _call(
            context,
            lambda: self._signals.join_dags(
                request.run_id,
                list(request.dag_instances),
                request.caller_dag_instance,
                request.wait_ms,
            ),
        )
        return scheduler_pb2.JoinDagsResponse(done=done)

    def StopDag(
        self, request: scheduler_pb2.StopDagRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.StopDagResponse:
        check_run_access(context, request.run_id)
        _call(context, lambda: self._signals.stop_dag(request.run_id, request.dag_instance))
        return scheduler_pb2.StopDagResponse()

    def IsStopped(
        self, request: scheduler_pb2.IsStoppedRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.IsStoppedResponse:
        check_run_access(context, request.run_id)
        run_stopped, dag_stopped = _call(
            context, lambda: self._signals.is_stopped(request.run_id, request.dag_instance)
        )
        return scheduler_pb2.IsStoppedResponse(run_stopped=run_stopped, dag_stopped=dag_stopped)

    def EnsureDocument(
        self, request: scheduler_pb2.EnsureDocumentRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.EnsureDocumentResponse:
        check_run_access(context, request.run_id)
        available = _call(context, lambda: self._documents.ensure(request.run_id))
        return scheduler_pb2.EnsureDocumentResponse(available=available)

    def ReadMeta(
        self, request: scheduler_pb2.ReadMetaRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.ReadMetaResponse:
        check_run_access(context, request.run_id)  # a task reads its own run's only
        read = _call(context, lambda: self._provenance.read(request.run_id, request.key))
        if read.in_store or not read.found:
            return scheduler_pb2.ReadMetaResponse(in_store=read.in_store)
        return scheduler_pb2.ReadMetaResponse(found=True, value=convert.bson_value(read.value))


def _messages(requests: Iterator[scheduler_pb2.WorkRequest]) -> Iterator[WorkMessage]:
    try:
        for request in requests:
            yield convert.work_message(request)
    except grpc.RpcError:
        return  # the worker went away; its leases expire unless it comes back


class WorkServicer(scheduler_pb2_grpc.WorkServiceServicer):
    """One bidirectional stream per worker (work.py serves it)."""

    def __init__(self, core: SchedulerCore) -> None:
        self._dispatch = core.dispatch
        self._config = core.config

    def Work(
        self, request_iterator: Iterator[scheduler_pb2.WorkRequest], context: grpc.ServicerContext
    ) -> Iterator[scheduler_pb2.WorkResponse]:
        first = next(request_iterator, None)
        if first is None or first.WhichOneof("kind") != "hello":
            _refuse(context, InvalidArgumentError("a work stream starts with hello"))
        hello = convert.worker_hello(first.hello)
        if not hello.worker_id or not hello.queues:
            _refuse(context, InvalidArgumentError("hello needs a worker_id and queues"))
        session = _call(context, lambda: self._dispatch.open(hello))
        log.info("worker_connected", worker_id=session.worker_id, queues=session.queues)
        stream = WorkStream(self._dispatch, session)
        context.add_callback(stream.close)
        stream.start(_messages(request_iterator))
        yield convert.welcome(self._config.store_address, int(self._config.lease_timeout_s * 1000))
        try:
            for item in stream.outgoing():
                yield convert.work_response(item)
            if session.error is not None:
                _refuse(context, session.error)
        finally:
            stream.release_unsent()
            log.info("worker_disconnected", worker_id=session.worker_id)
