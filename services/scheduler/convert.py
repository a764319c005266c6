"""Protos in, the scheduler's values (model.py) out, and back: the one module of the
scheduler that builds or reads `*_pb2` messages besides the servicers' requests and
responses. The workflow definition is the exception: it is stored as sent (registry.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import bson
from google.protobuf.timestamp_pb2 import Timestamp

from lightflow._wire.encodings import BSON_FIELD, ENCODING_BLOB, ENCODING_BSON, ENCODING_UNSEALED
from lightflow.v1 import common_pb2, scheduler_pb2, workflow_pb2
from lightflow_scheduler.errors import InvalidArgumentError
from lightflow_scheduler.model import (
    CatchUp,
    Failure,
    Lease,
    LeaseRef,
    Outgoing,
    OutputLine,
    Overlap,
    RunEvent,
    RunInfo,
    ScheduleSpec,
    ScheduleState,
    TaskResult,
    WorkerHello,
    WorkerInfo,
    WorkflowSummary,
    WorkMessage,
)
from lightflow_scheduler.schema import DagStatus, EventType, RunStatus, TaskStatus

RUN_STATUS: dict[str, common_pb2.RunStatus] = {
    RunStatus.SCHEDULED: common_pb2.RUN_STATUS_SCHEDULED,
    RunStatus.RUNNING: common_pb2.RUN_STATUS_RUNNING,
    RunStatus.STOPPING: common_pb2.RUN_STATUS_STOPPING,
    RunStatus.SUCCEEDED: common_pb2.RUN_STATUS_SUCCEEDED,
    RunStatus.FAILED: common_pb2.RUN_STATUS_FAILED,
    RunStatus.ABORTED: common_pb2.RUN_STATUS_ABORTED,
    RunStatus.STOPPED: common_pb2.RUN_STATUS_STOPPED,
}
DAG_STATUS: dict[str, common_pb2.DagStatus] = {
    DagStatus.RUNNING: common_pb2.DAG_STATUS_RUNNING,
    DagStatus.SUCCEEDED: common_pb2.DAG_STATUS_SUCCEEDED,
    DagStatus.FAILED: common_pb2.DAG_STATUS_FAILED,
    DagStatus.STOPPED: common_pb2.DAG_STATUS_STOPPED,
}
TASK_STATUS: dict[str, common_pb2.TaskStatus] = {
    TaskStatus.WAITING: common_pb2.TASK_STATUS_WAITING,
    TaskStatus.QUEUED: common_pb2.TASK_STATUS_QUEUED,
    TaskStatus.RUNNING: common_pb2.TASK_STATUS_RUNNING,
    TaskStatus.SUCCEEDED: common_pb2.TASK_STATUS_SUCCEEDED,
    TaskStatus.FAILED: common_pb2.TASK_STATUS_FAILED,
    TaskStatus.SKIPPED: common_pb2.TASK_STATUS_SKIPPED,
    TaskStatus.STOPPED: common_pb2.TASK_STATUS_STOPPED,
    TaskStatus.ABORTED: common_pb2.TASK_STATUS_ABORTED,
    TaskStatus.CANCELLED: common_pb2.TASK_STATUS_CANCELLED,
    TaskStatus.RETRYING: common_pb2.TASK_STATUS_RETRYING,
}
EVENT_TYPE: dict[str, scheduler_pb2.RunEventType] = {
    EventType.RUN_STARTED: scheduler_pb2.RUN_EVENT_TYPE_RUN_STARTED,
    EventType.RUN_ENDED: scheduler_pb2.RUN_EVENT_TYPE_RUN_ENDED,
    EventType.RUN_STOPPING: scheduler_pb2.RUN_EVENT_TYPE_RUN_STOPPING,
    EventType.DAG_STARTED: scheduler_pb2.RUN_EVENT_TYPE_DAG_STARTED,
    EventType.DAG_ENDED: scheduler_pb2.RUN_EVENT_TYPE_DAG_ENDED,
    EventType.DAG_STOPPING: scheduler_pb2.RUN_EVENT_TYPE_DAG_STOPPING,
    EventType.TASK_QUEUED: scheduler_pb2.RUN_EVENT_TYPE_TASK_QUEUED,
    EventType.TASK_STARTED: scheduler_pb2.RUN_EVENT_TYPE_TASK_STARTED,
    EventType.TASK_ENDED: scheduler_pb2.RUN_EVENT_TYPE_TASK_ENDED,
    EventType.TASK_OUTPUT: scheduler_pb2.RUN_EVENT_TYPE_TASK_OUTPUT,
    EventType.TASK_LEASE_EXPIRED: scheduler_pb2.RUN_EVENT_TYPE_TASK_LEASE_EXPIRED,
    EventType.TASK_RETRYING: scheduler_pb2.RUN_EVENT_TYPE_TASK_RETRYING,
}
_RUN_STATUS_NAME: dict[int, str] = {number: name for name, number in RUN_STATUS.items()}
_TASK_STATUS_NAME: dict[int, str] = {number: name for name, number in TASK_STATUS.items()}
_EVENT_TYPE_NAME: dict[int, str] = {number: name for name, number in EVENT_TYPE.items()}


def timestamp(ms: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromMilliseconds(ms)
    return stamp


def ms(stamp: Timestamp) -> int:
    """A Timestamp as ms since the epoch."""
    return int(stamp.ToMilliseconds())


def _set_span(message: Any, started_ms: int, ended_ms: int) -> None:
    if started_ms:
        message.started_at.CopyFrom(timestamp(started_ms))
    if ended_ms:
        message.ended_at.CopyFrom(timestamp(ended_ms))


# -- requests in -------------------------------------------------------------------------


def run_status_name(status: int) -> str | None:
    """A ListRuns filter: the status's name, None for none (or one we do not know)."""
    return _RUN_STATUS_NAME.get(status)


def event_type_names(types: Iterable[int]) -> frozenset[str]:
    """A WatchRun filter; a type we do not know matches no event."""
    return frozenset(_EVENT_TYPE_NAME.get(t, f"unknown:{t}") for t in types)


def failure(message: common_pb2.Failure) -> Failure:
    return Failure(message.type, message.message, message.stack_trace)


def lease_ref(message: scheduler_pb2.LeaseRef) -> LeaseRef:
    return LeaseRef(message.queue, message.entry_id)


def task_result(message: scheduler_pb2.TaskResult) -> TaskResult:
    lease, output = message.lease, message.output
    return TaskResult(
        LeaseRef(lease.queue, lease.entry_id),
        message.run_id,
        message.dag_instance,
        message.task_name,
        message.attempt,
        # An unknown number stays a number, for the refusal to show.
        _TASK_STATUS_NAME.get(message.status) or str(message.status),
        output.SerializeToString(),
        output.encoding == ENCODING_BLOB,
        failure(message.failure) if message.HasField("failure") else None,
        tuple(message.limit) if message.has_limit else None,
        message.store_used,
    )


def output_lines(messages: Iterable[scheduler_pb2.TaskOutput]) -> list[OutputLine]:
    return [
        OutputLine(m.run_id, m.dag_instance, m.task_name, m.attempt, m.stream, m.text)
        for m in messages
    ]


def worker_hello(message: scheduler_pb2.WorkerHello) -> WorkerHello:
    return WorkerHello(
        message.worker_id, message.hostname, message.pid, list(message.queues), message.concurrency
    )


def work_message(message: scheduler_pb2.WorkRequest) -> WorkMessage:
    kind = message.WhichOneof("kind")
    credit = message.credit
    if kind == "result":
        return WorkMessage(credit, result=task_result(message.result))
    if kind == "output_batch":
        return WorkMessage(credit, lines=output_lines(message.output_batch.lines))
    if kind == "output":  # workers before output batches
        return WorkMessage(credit, lines=output_lines([message.output]))
    if kind == "heartbeat":
        return WorkMessage(credit, heartbeat=[lease_ref(r) for r in message.heartbeat.leases])
    if kind == "release":
        return WorkMessage(credit, release=[lease_ref(r) for r in message.release.leases])
    if kind == "stop_leases":
        return WorkMessage(credit, stop_leases=True)
    return WorkMessage(credit)  # credit alone (or another hello: nothing to do)


# -- responses out -----------------------------------------------------------------------


def _failure_message(value: Failure) -> common_pb2.Failure:
    return common_pb2.Failure(type=value.type, message=value.message, stack_trace=value.stack_trace)


def workflow_summary(summary: WorkflowSummary) -> scheduler_pb2.WorkflowSummary:
    return scheduler_pb2.WorkflowSummary(
        name=summary.name,
        definition_hash=summary.definition_hash,
        description=summary.description,
        dag_names=summary.dag_names,
        registered_at=timestamp(summary.registered_ms),
    )


def workflow(
    definition: workflow_pb2.WorkflowDefinition, definition_hash: str, registered_ms: int
) -> scheduler_pb2.GetWorkflowResponse:
    """A registered definition as GetWorkflow gives it: its shape, without the tasks' code
    and the file's text (what a viewer needs, not what a worker runs)."""
    shown = workflow_pb2.WorkflowDefinition()
    shown.CopyFrom(definition)
    shown.ClearField("source")
    for dag in shown.dags:
        for task in dag.tasks:
            task.ClearField("code")
    return scheduler_pb2.GetWorkflowResponse(
        definition=shown, registered_at=timestamp(registered_ms), definition_hash=definition_hash
    )


def worker_info(info: WorkerInfo) -> scheduler_pb2.WorkerInfo:
    return scheduler_pb2.WorkerInfo(
        worker_id=info.worker_id,
        hostname=info.hostname,
        pid=info.pid,
        queues=info.queues,
        concurrency=info.concurrency,
        running=info.running,
        last_seen=timestamp(info.last_seen_ms),
    )


def run(info: RunInfo) -> scheduler_pb2.Run:
    message = scheduler_pb2.Run(
        id=info.run_id,
        workflow_name=info.workflow,
        definition_hash=info.definition_hash,
        status=RUN_STATUS.get(info.status, common_pb2.RUN_STATUS_UNSPECIFIED),
        keep_data=info.keep_data,
    )
    if info.started_ms:
        message.started_at.CopyFrom(timestamp(info.started_ms))
    if info.start_at_ms:
        message.start_at.CopyFrom(timestamp(info.start_at_ms))
    if info.schedule:
        message.schedule = info.schedule
        if info.tick_ms:
            message.schedule_tick.CopyFrom(timestamp(info.tick_ms))
    if info.ended_ms:
        message.ended_at.CopyFrom(timestamp(info.ended_ms))
    if info.failure is not None:
        message.failure.CopyFrom(_failure_message(info.failure))
    for dag in info.dags:
        instance = scheduler_pb2.DagInstance(
            instance=dag.instance,
            dag_name=dag.dag,
            status=DAG_STATUS.get(dag.status, common_pb2.DAG_STATUS_UNSPECIFIED),
        )
        if dag.started_by:
            by_instance, _, by_task = dag.started_by.rpartition("/")
            instance.started_by_instance, instance.started_by_task = by_instance, by_task
        _set_span(instance, dag.started_ms, dag.ended_ms)
        message.dags.append(instance)
    for task in info.tasks:
        state = scheduler_pb2.TaskState(
            dag_instance=task.instance,
            task_name=task.task,
            status=TASK_STATUS[task.status],
            attempt=task.attempt,
            worker_id=task.worker_id,
            queue=task.queue,
        )
        _set_span(state, task.started_ms, task.ended_ms)
        if task.failure is not None:
            state.failure.CopyFrom(_failure_message(task.failure))
        message.tasks.append(state)
    return message


def run_event(event: RunEvent) -> scheduler_pb2.RunEvent:
    message = scheduler_pb2.RunEvent(
        id=event.id,
        time=timestamp(event.time_ms),
        type=EVENT_TYPE.get(event.type, scheduler_pb2.RUN_EVENT_TYPE_UNSPECIFIED),
        run_id=event.run_id,
        dag_instance=event.instance,
        task_name=event.task,
        attempt=event.attempt,
        worker_id=event.worker_id,
        text=event.text,
        stream=event.stream,
    )
    if event.type == EventType.RUN_ENDED:
        message.run_status = RUN_STATUS.get(event.status, common_pb2.RUN_STATUS_UNSPECIFIED)
    elif event.type == EventType.DAG_ENDED:
        message.dag_status = DAG_STATUS.get(event.status, common_pb2.DAG_STATUS_UNSPECIFIED)
    elif event.type == EventType.TASK_ENDED:
        message.task_status = TASK_STATUS.get(event.status, common_pb2.TASK_STATUS_UNSPECIFIED)
    if event.failure is not None:
        message.failure.CopyFrom(_failure_message(event.failure))
    return message


def task_lease(lease: Lease) -> scheduler_pb2.TaskLease:
    message = scheduler_pb2.TaskLease()
    _fill_task_lease(message, lease)
    return message


def _fill_task_lease(message: scheduler_pb2.TaskLease, lease: Lease) -> None:
    # Filled in place: a lease built apart and then set on a WorkResponse is copied (every
    # hop's, with its input datasets).
    entry = lease.entry
    message.lease.queue = entry.queue
    message.lease.entry_id = entry.entry_id
    message.run_id = entry.run_id
    message.workflow_name = lease.workflow
    message.definition_hash = lease.definition_hash
    message.dag_name = entry.dag
    message.dag_instance = entry.instance
    message.task_name = entry.task
    message.attempt = entry.attempt
    message.timeout_ms = lease.timeout_ms
    message.document_has_arguments = lease.document_has_arguments
    for task_name, alias, payload in lease.inputs:
        dataset = message.inputs.add(task_name=task_name, alias=alias)
        if payload is None:
            dataset.data.encoding = ENCODING_UNSEALED
        else:
            dataset.data.ParseFromString(payload)
    if lease.code is not None:
        message.code.ParseFromString(lease.code.code)
        message.code_seal = lease.code.seal
        message.source_path = lease.code.source_path
        message.source = lease.code.source


def work_response(item: Outgoing) -> scheduler_pb2.WorkResponse:
    response = scheduler_pb2.WorkResponse()
    if item.recorded is not None:
        response.recorded.add(queue=item.recorded.queue, entry_id=item.recorded.entry_id)
    if item.lease is not None:
        _fill_task_lease(response.lease, item.lease)
    elif item.cancel is not None:
        response.cancel.queue = item.cancel.queue
        response.cancel.entry_id = item.cancel.entry_id
    return response


def welcome(store_address: str, lease_timeout_ms: int) -> scheduler_pb2.WorkResponse:
    return scheduler_pb2.WorkResponse(
        welcome=scheduler_pb2.WorkerWelcome(
            store_address=store_address, lease_timeout_ms=lease_timeout_ms
        )
    )


# -- values ------------------------------------------------------------------------


def bson_value(data: bytes) -> common_pb2.Payload:
    """A BSON document {"v": value} as a payload, the way the store holds values."""
    return common_pb2.Payload(encoding=ENCODING_BSON, data=data)


def bson_payloads(values: Mapping[str, Any]) -> dict[str, common_pb2.Payload]:
    """Each value as the store's BSON payload ({"v": value})."""
    return {name: bson_value(bson.encode({BSON_FIELD: value})) for name, value in values.items()}


# -- schedules -----------------------------------------------------------------------------

_OVERLAP = {
    workflow_pb2.OVERLAP_POLICY_SKIP: Overlap.SKIP,
    workflow_pb2.OVERLAP_POLICY_ALLOW: Overlap.ALLOW,
    workflow_pb2.OVERLAP_POLICY_QUEUE: Overlap.QUEUE,
}
_CATCH_UP = {
    workflow_pb2.CATCH_UP_POLICY_NONE: CatchUp.NONE,
    workflow_pb2.CATCH_UP_POLICY_LAST: CatchUp.LAST,
    workflow_pb2.CATCH_UP_POLICY_ALL: CatchUp.ALL,
}
_OVERLAP_PROTO = {word: number for number, word in _OVERLAP.items()}
_CATCH_UP_PROTO = {word: number for number, word in _CATCH_UP.items()}


def schedule_spec(message: workflow_pb2.ScheduleSpec) -> ScheduleSpec:
    if message.overlap not in _OVERLAP or message.catch_up not in _CATCH_UP:
        raise InvalidArgumentError("unknown overlap or catch_up policy")
    return ScheduleSpec(
        name=message.name,
        workflow=message.workflow_name,
        arguments=dict(message.arguments),
        cron=message.cron.strip(),
        timezone=message.timezone.strip(),
        interval_s=message.interval_s,
        start_ms=ms(message.start_at) if message.HasField("start_at") else 0,
        end_ms=ms(message.end_at) if message.HasField("end_at") else 0,
        jitter_s=message.jitter_s,
        overlap=_OVERLAP[message.overlap],
        catch_up=_CATCH_UP[message.catch_up],
        catch_up_limit=message.catch_up_limit or 10,
        keep_data=message.keep_data,
    )


def schedule(state: ScheduleState) -> scheduler_pb2.Schedule:
    spec = state.spec
    message = scheduler_pb2.Schedule(
        spec=workflow_pb2.ScheduleSpec(
            name=spec.name,
            workflow_name=spec.workflow,
            arguments=spec.arguments,
            cron=spec.cron,
            timezone=spec.timezone,
            interval_s=spec.interval_s,
            jitter_s=spec.jitter_s,
            overlap=_OVERLAP_PROTO[spec.overlap],
            catch_up=_CATCH_UP_PROTO[spec.catch_up],
            catch_up_limit=spec.catch_up_limit,
            keep_data=spec.keep_data,
        ),
        paused=state.paused,
        last_run_id=state.last_run_id,
        created_at=timestamp(state.created_ms),
        last_error=state.last_error,
    )
    if spec.start_ms:
        message.spec.start_at.CopyFrom(timestamp(spec.start_ms))
    if spec.end_ms:
        message.spec.end_at.CopyFrom(timestamp(spec.end_ms))
    if state.next_tick_ms and not state.paused:
        message.next_tick.CopyFrom(timestamp(state.next_tick_ms))
    if state.last_tick_ms:
        message.last_tick.CopyFrom(timestamp(state.last_tick_ms))
    return message
