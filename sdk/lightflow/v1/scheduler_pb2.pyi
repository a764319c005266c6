import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lightflow.v1 import common_pb2 as _common_pb2
from lightflow.v1 import workflow_pb2 as _workflow_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RunEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUN_EVENT_TYPE_UNSPECIFIED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_RUN_STARTED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_RUN_ENDED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_RUN_STOPPING: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_DAG_STARTED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_DAG_ENDED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_TASK_QUEUED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_TASK_STARTED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_TASK_ENDED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_TASK_OUTPUT: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_TASK_LEASE_EXPIRED: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_DAG_STOPPING: _ClassVar[RunEventType]
    RUN_EVENT_TYPE_TASK_RETRYING: _ClassVar[RunEventType]
RUN_EVENT_TYPE_UNSPECIFIED: RunEventType
RUN_EVENT_TYPE_RUN_STARTED: RunEventType
RUN_EVENT_TYPE_RUN_ENDED: RunEventType
RUN_EVENT_TYPE_RUN_STOPPING: RunEventType
RUN_EVENT_TYPE_DAG_STARTED: RunEventType
RUN_EVENT_TYPE_DAG_ENDED: RunEventType
RUN_EVENT_TYPE_TASK_QUEUED: RunEventType
RUN_EVENT_TYPE_TASK_STARTED: RunEventType
RUN_EVENT_TYPE_TASK_ENDED: RunEventType
RUN_EVENT_TYPE_TASK_OUTPUT: RunEventType
RUN_EVENT_TYPE_TASK_LEASE_EXPIRED: RunEventType
RUN_EVENT_TYPE_DAG_STOPPING: RunEventType
RUN_EVENT_TYPE_TASK_RETRYING: RunEventType

class RegisterWorkflowRequest(_message.Message):
    __slots__ = ("definition",)
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    definition: _workflow_pb2.WorkflowDefinition
    def __init__(self, definition: _Optional[_Union[_workflow_pb2.WorkflowDefinition, _Mapping]] = ...) -> None: ...

class RegisterWorkflowResponse(_message.Message):
    __slots__ = ("name", "definition_hash")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_HASH_FIELD_NUMBER: _ClassVar[int]
    name: str
    definition_hash: str
    def __init__(self, name: _Optional[str] = ..., definition_hash: _Optional[str] = ...) -> None: ...

class ListWorkflowsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListWorkflowsResponse(_message.Message):
    __slots__ = ("workflows",)
    WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    workflows: _containers.RepeatedCompositeFieldContainer[WorkflowSummary]
    def __init__(self, workflows: _Optional[_Iterable[_Union[WorkflowSummary, _Mapping]]] = ...) -> None: ...

class GetWorkflowRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class Schedule(_message.Message):
    __slots__ = ("spec", "paused", "next_tick", "last_tick", "last_run_id", "created_at", "last_error")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    NEXT_TICK_FIELD_NUMBER: _ClassVar[int]
    LAST_TICK_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    spec: _workflow_pb2.ScheduleSpec
    paused: bool
    next_tick: _timestamp_pb2.Timestamp
    last_tick: _timestamp_pb2.Timestamp
    last_run_id: str
    created_at: _timestamp_pb2.Timestamp
    last_error: str
    def __init__(self, spec: _Optional[_Union[_workflow_pb2.ScheduleSpec, _Mapping]] = ..., paused: _Optional[bool] = ..., next_tick: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_tick: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_run_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_error: _Optional[str] = ...) -> None: ...

class CreateScheduleRequest(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: _workflow_pb2.ScheduleSpec
    def __init__(self, spec: _Optional[_Union[_workflow_pb2.ScheduleSpec, _Mapping]] = ...) -> None: ...

class ListSchedulesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSchedulesResponse(_message.Message):
    __slots__ = ("schedules",)
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    schedules: _containers.RepeatedCompositeFieldContainer[Schedule]
    def __init__(self, schedules: _Optional[_Iterable[_Union[Schedule, _Mapping]]] = ...) -> None: ...

class ScheduleRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteScheduleResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetWorkflowResponse(_message.Message):
    __slots__ = ("definition", "registered_at", "definition_hash")
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_HASH_FIELD_NUMBER: _ClassVar[int]
    definition: _workflow_pb2.WorkflowDefinition
    registered_at: _timestamp_pb2.Timestamp
    definition_hash: str
    def __init__(self, definition: _Optional[_Union[_workflow_pb2.WorkflowDefinition, _Mapping]] = ..., registered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., definition_hash: _Optional[str] = ...) -> None: ...

class WorkflowSummary(_message.Message):
    __slots__ = ("name", "definition_hash", "description", "dag_names", "registered_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_HASH_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DAG_NAMES_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    definition_hash: str
    description: str
    dag_names: _containers.RepeatedScalarFieldContainer[str]
    registered_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., definition_hash: _Optional[str] = ..., description: _Optional[str] = ..., dag_names: _Optional[_Iterable[str]] = ..., registered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StartRunRequest(_message.Message):
    __slots__ = ("workflow_name", "arguments", "keep_data", "deadline_s", "request_id", "start_at")
    class ArgumentsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKFLOW_NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    KEEP_DATA_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_S_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    START_AT_FIELD_NUMBER: _ClassVar[int]
    workflow_name: str
    arguments: _containers.ScalarMap[str, str]
    keep_data: bool
    deadline_s: float
    request_id: str
    start_at: _timestamp_pb2.Timestamp
    def __init__(self, workflow_name: _Optional[str] = ..., arguments: _Optional[_Mapping[str, str]] = ..., keep_data: _Optional[bool] = ..., deadline_s: _Optional[float] = ..., request_id: _Optional[str] = ..., start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StartRunResponse(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class GetRunRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class GetRunResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: Run
    def __init__(self, run: _Optional[_Union[Run, _Mapping]] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ("status", "limit", "workflow_name", "page_token")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    status: _common_pb2.RunStatus
    limit: int
    workflow_name: str
    page_token: str
    def __init__(self, status: _Optional[_Union[_common_pb2.RunStatus, str]] = ..., limit: _Optional[int] = ..., workflow_name: _Optional[str] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ("runs", "next_page_token")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[Run]
    next_page_token: str
    def __init__(self, runs: _Optional[_Iterable[_Union[Run, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Run(_message.Message):
    __slots__ = ("id", "workflow_name", "definition_hash", "status", "started_at", "ended_at", "failure", "dags", "tasks", "keep_data", "start_at", "schedule", "schedule_tick")
    ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_NAME_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_HASH_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    DAGS_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    KEEP_DATA_FIELD_NUMBER: _ClassVar[int]
    START_AT_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_TICK_FIELD_NUMBER: _ClassVar[int]
    id: str
    workflow_name: str
    definition_hash: str
    status: _common_pb2.RunStatus
    started_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    failure: _common_pb2.Failure
    dags: _containers.RepeatedCompositeFieldContainer[DagInstance]
    tasks: _containers.RepeatedCompositeFieldContainer[TaskState]
    keep_data: bool
    start_at: _timestamp_pb2.Timestamp
    schedule: str
    schedule_tick: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., workflow_name: _Optional[str] = ..., definition_hash: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.RunStatus, str]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ..., dags: _Optional[_Iterable[_Union[DagInstance, _Mapping]]] = ..., tasks: _Optional[_Iterable[_Union[TaskState, _Mapping]]] = ..., keep_data: _Optional[bool] = ..., start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., schedule: _Optional[str] = ..., schedule_tick: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DagInstance(_message.Message):
    __slots__ = ("instance", "dag_name", "status", "started_at", "ended_at", "started_by_instance", "started_by_task")
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    DAG_NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_BY_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    STARTED_BY_TASK_FIELD_NUMBER: _ClassVar[int]
    instance: str
    dag_name: str
    status: _common_pb2.DagStatus
    started_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    started_by_instance: str
    started_by_task: str
    def __init__(self, instance: _Optional[str] = ..., dag_name: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.DagStatus, str]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_by_instance: _Optional[str] = ..., started_by_task: _Optional[str] = ...) -> None: ...

class TaskState(_message.Message):
    __slots__ = ("dag_instance", "task_name", "status", "attempt", "worker_id", "queue", "started_at", "ended_at", "failure")
    DAG_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    TASK_NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    dag_instance: str
    task_name: str
    status: _common_pb2.TaskStatus
    attempt: int
    worker_id: str
    queue: str
    started_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    failure: _common_pb2.Failure
    def __init__(self, dag_instance: _Optional[str] = ..., task_name: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.TaskStatus, str]] = ..., attempt: _Optional[int] = ..., worker_id: _Optional[str] = ..., queue: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ...) -> None: ...

class StopRunRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class StopRunResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: _common_pb2.RunStatus
    def __init__(self, status: _Optional[_Union[_common_pb2.RunStatus, str]] = ...) -> None: ...

class WatchRunRequest(_message.Message):
    __slots__ = ("run_id", "after_event_id", "types", "start")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    after_event_id: str
    types: _containers.RepeatedScalarFieldContainer[RunEventType]
    start: StartRunRequest
    def __init__(self, run_id: _Optional[str] = ..., after_event_id: _Optional[str] = ..., types: _Optional[_Iterable[_Union[RunEventType, str]]] = ..., start: _Optional[_Union[StartRunRequest, _Mapping]] = ...) -> None: ...

class WatchRunResponse(_message.Message):
    __slots__ = ("event", "started_run_id")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    STARTED_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    event: RunEvent
    started_run_id: str
    def __init__(self, event: _Optional[_Union[RunEvent, _Mapping]] = ..., started_run_id: _Optional[str] = ...) -> None: ...

class RunEvent(_message.Message):
    __slots__ = ("id", "time", "type", "run_id", "dag_instance", "task_name", "attempt", "worker_id", "run_status", "dag_status", "task_status", "text", "failure", "stream")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    DAG_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    TASK_NAME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_STATUS_FIELD_NUMBER: _ClassVar[int]
    DAG_STATUS_FIELD_NUMBER: _ClassVar[int]
    TASK_STATUS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    id: str
    time: _timestamp_pb2.Timestamp
    type: RunEventType
    run_id: str
    dag_instance: str
    task_name: str
    attempt: int
    worker_id: str
    run_status: _common_pb2.RunStatus
    dag_status: _common_pb2.DagStatus
    task_status: _common_pb2.TaskStatus
    text: str
    failure: _common_pb2.Failure
    stream: str
    def __init__(self, id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., type: _Optional[_Union[RunEventType, str]] = ..., run_id: _Optional[str] = ..., dag_instance: _Optional[str] = ..., task_name: _Optional[str] = ..., attempt: _Optional[int] = ..., worker_id: _Optional[str] = ..., run_status: _Optional[_Union[_common_pb2.RunStatus, str]] = ..., dag_status: _Optional[_Union[_common_pb2.DagStatus, str]] = ..., task_status: _Optional[_Union[_common_pb2.TaskStatus, str]] = ..., text: _Optional[str] = ..., failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ..., stream: _Optional[str] = ...) -> None: ...

class ListWorkersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListWorkersResponse(_message.Message):
    __slots__ = ("workers",)
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    workers: _containers.RepeatedCompositeFieldContainer[WorkerInfo]
    def __init__(self, workers: _Optional[_Iterable[_Union[WorkerInfo, _Mapping]]] = ...) -> None: ...

class WorkerInfo(_message.Message):
    __slots__ = ("worker_id", "hostname", "pid", "queues", "concurrency", "running", "last_seen")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    hostname: str
    pid: int
    queues: _containers.RepeatedScalarFieldContainer[str]
    concurrency: int
    running: int
    last_seen: _timestamp_pb2.Timestamp
    def __init__(self, worker_id: _Optional[str] = ..., hostname: _Optional[str] = ..., pid: _Optional[int] = ..., queues: _Optional[_Iterable[str]] = ..., concurrency: _Optional[int] = ..., running: _Optional[int] = ..., last_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReadMetaRequest(_message.Message):
    __slots__ = ("run_id", "key")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    key: str
    def __init__(self, run_id: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...

class ReadMetaResponse(_message.Message):
    __slots__ = ("in_store", "found", "value")
    IN_STORE_FIELD_NUMBER: _ClassVar[int]
    FOUND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    in_store: bool
    found: bool
    value: _common_pb2.Payload
    def __init__(self, in_store: _Optional[bool] = ..., found: _Optional[bool] = ..., value: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ...) -> None: ...

class EnsureDocumentRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class EnsureDocumentResponse(_message.Message):
    __slots__ = ("available",)
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    available: bool
    def __init__(self, available: _Optional[bool] = ...) -> None: ...

class StartDagRequest(_message.Message):
    __slots__ = ("run_id", "dag_name", "data", "request_id", "caller_instance", "caller_task")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    DAG_NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CALLER_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    CALLER_TASK_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    dag_name: str
    data: _common_pb2.Payload
    request_id: str
    caller_instance: str
    caller_task: str
    def __init__(self, run_id: _Optional[str] = ..., dag_name: _Optional[str] = ..., data: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., request_id: _Optional[str] = ..., caller_instance: _Optional[str] = ..., caller_task: _Optional[str] = ...) -> None: ...

class StartDagResponse(_message.Message):
    __slots__ = ("dag_instance",)
    DAG_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    dag_instance: str
    def __init__(self, dag_instance: _Optional[str] = ...) -> None: ...

class JoinDagsRequest(_message.Message):
    __slots__ = ("run_id", "dag_instances", "caller_dag_instance", "wait_ms")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    DAG_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    CALLER_DAG_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    WAIT_MS_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    dag_instances: _containers.RepeatedScalarFieldContainer[str]
    caller_dag_instance: str
    wait_ms: int
    def __init__(self, run_id: _Optional[str] = ..., dag_instances: _Optional[_Iterable[str]] = ..., caller_dag_instance: _Optional[str] = ..., wait_ms: _Optional[int] = ...) -> None: ...

class JoinDagsResponse(_message.Message):
    __slots__ = ("done",)
    DONE_FIELD_NUMBER: _ClassVar[int]
    done: bool
    def __init__(self, done: _Optional[bool] = ...) -> None: ...

class StopDagRequest(_message.Message):
    __slots__ = ("run_id", "dag_instance")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    DAG_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    dag_instance: str
    def __init__(self, run_id: _Optional[str] = ..., dag_instance: _Optional[str] = ...) -> None: ...

class StopDagResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class IsStoppedRequest(_message.Message):
    __slots__ = ("run_id", "dag_instance")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    DAG_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    dag_instance: str
    def __init__(self, run_id: _Optional[str] = ..., dag_instance: _Optional[str] = ...) -> None: ...

class IsStoppedResponse(_message.Message):
    __slots__ = ("run_stopped", "dag_stopped")
    RUN_STOPPED_FIELD_NUMBER: _ClassVar[int]
    DAG_STOPPED_FIELD_NUMBER: _ClassVar[int]
    run_stopped: bool
    dag_stopped: bool
    def __init__(self, run_stopped: _Optional[bool] = ..., dag_stopped: _Optional[bool] = ...) -> None: ...

class WorkRequest(_message.Message):
    __slots__ = ("credit", "hello", "result", "output", "heartbeat", "release", "stop_leases", "output_batch")
    CREDIT_FIELD_NUMBER: _ClassVar[int]
    HELLO_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    STOP_LEASES_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_BATCH_FIELD_NUMBER: _ClassVar[int]
    credit: int
    hello: WorkerHello
    result: TaskResult
    output: TaskOutput
    heartbeat: Heartbeat
    release: Release
    stop_leases: bool
    output_batch: OutputBatch
    def __init__(self, credit: _Optional[int] = ..., hello: _Optional[_Union[WorkerHello, _Mapping]] = ..., result: _Optional[_Union[TaskResult, _Mapping]] = ..., output: _Optional[_Union[TaskOutput, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., release: _Optional[_Union[Release, _Mapping]] = ..., stop_leases: _Optional[bool] = ..., output_batch: _Optional[_Union[OutputBatch, _Mapping]] = ...) -> None: ...

class OutputBatch(_message.Message):
    __slots__ = ("lines",)
    LINES_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[TaskOutput]
    def __init__(self, lines: _Optional[_Iterable[_Union[TaskOutput, _Mapping]]] = ...) -> None: ...

class Release(_message.Message):
    __slots__ = ("leases",)
    LEASES_FIELD_NUMBER: _ClassVar[int]
    leases: _containers.RepeatedCompositeFieldContainer[LeaseRef]
    def __init__(self, leases: _Optional[_Iterable[_Union[LeaseRef, _Mapping]]] = ...) -> None: ...

class WorkerHello(_message.Message):
    __slots__ = ("worker_id", "hostname", "pid", "queues", "concurrency")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    QUEUES_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    hostname: str
    pid: int
    queues: _containers.RepeatedScalarFieldContainer[str]
    concurrency: int
    def __init__(self, worker_id: _Optional[str] = ..., hostname: _Optional[str] = ..., pid: _Optional[int] = ..., queues: _Optional[_Iterable[str]] = ..., concurrency: _Optional[int] = ...) -> None: ...

class LeaseRef(_message.Message):
    __slots__ = ("queue", "entry_id")
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    queue: str
    entry_id: str
    def __init__(self, queue: _Optional[str] = ..., entry_id: _Optional[str] = ...) -> None: ...

class TaskResult(_message.Message):
    __slots__ = ("lease", "run_id", "dag_instance", "task_name", "attempt", "status", "output", "failure", "has_limit", "limit", "store_used")
    LEASE_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    DAG_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    TASK_NAME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    HAS_LIMIT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    STORE_USED_FIELD_NUMBER: _ClassVar[int]
    lease: LeaseRef
    run_id: str
    dag_instance: str
    task_name: str
    attempt: int
    status: _common_pb2.TaskStatus
    output: _common_pb2.Payload
    failure: _common_pb2.Failure
    has_limit: bool
    limit: _containers.RepeatedScalarFieldContainer[str]
    store_used: bool
    def __init__(self, lease: _Optional[_Union[LeaseRef, _Mapping]] = ..., run_id: _Optional[str] = ..., dag_instance: _Optional[str] = ..., task_name: _Optional[str] = ..., attempt: _Optional[int] = ..., status: _Optional[_Union[_common_pb2.TaskStatus, str]] = ..., output: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., failure: _Optional[_Union[_common_pb2.Failure, _Mapping]] = ..., has_limit: _Optional[bool] = ..., limit: _Optional[_Iterable[str]] = ..., store_used: _Optional[bool] = ...) -> None: ...

class TaskOutput(_message.Message):
    __slots__ = ("run_id", "dag_instance", "task_name", "attempt", "stream", "text")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    DAG_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    TASK_NAME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    dag_instance: str
    task_name: str
    attempt: int
    stream: str
    text: str
    def __init__(self, run_id: _Optional[str] = ..., dag_instance: _Optional[str] = ..., task_name: _Optional[str] = ..., attempt: _Optional[int] = ..., stream: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("leases",)
    LEASES_FIELD_NUMBER: _ClassVar[int]
    leases: _containers.RepeatedCompositeFieldContainer[LeaseRef]
    def __init__(self, leases: _Optional[_Iterable[_Union[LeaseRef, _Mapping]]] = ...) -> None: ...

class WorkResponse(_message.Message):
    __slots__ = ("recorded", "welcome", "lease", "cancel")
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    WELCOME_FIELD_NUMBER: _ClassVar[int]
    LEASE_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    recorded: _containers.RepeatedCompositeFieldContainer[LeaseRef]
    welcome: WorkerWelcome
    lease: TaskLease
    cancel: LeaseRef
    def __init__(self, recorded: _Optional[_Iterable[_Union[LeaseRef, _Mapping]]] = ..., welcome: _Optional[_Union[WorkerWelcome, _Mapping]] = ..., lease: _Optional[_Union[TaskLease, _Mapping]] = ..., cancel: _Optional[_Union[LeaseRef, _Mapping]] = ...) -> None: ...

class WorkerWelcome(_message.Message):
    __slots__ = ("store_address", "lease_timeout_ms")
    STORE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    LEASE_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    store_address: str
    lease_timeout_ms: int
    def __init__(self, store_address: _Optional[str] = ..., lease_timeout_ms: _Optional[int] = ...) -> None: ...

class TaskLease(_message.Message):
    __slots__ = ("lease", "run_id", "workflow_name", "definition_hash", "dag_name", "dag_instance", "task_name", "attempt", "inputs", "code", "timeout_ms", "code_seal", "source_path", "source", "document_has_arguments")
    LEASE_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_NAME_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_HASH_FIELD_NUMBER: _ClassVar[int]
    DAG_NAME_FIELD_NUMBER: _ClassVar[int]
    DAG_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    TASK_NAME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    CODE_SEAL_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PATH_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_HAS_ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    lease: LeaseRef
    run_id: str
    workflow_name: str
    definition_hash: str
    dag_name: str
    dag_instance: str
    task_name: str
    attempt: int
    inputs: _containers.RepeatedCompositeFieldContainer[InputDataset]
    code: _common_pb2.Payload
    timeout_ms: int
    code_seal: bytes
    source_path: str
    source: str
    document_has_arguments: bool
    def __init__(self, lease: _Optional[_Union[LeaseRef, _Mapping]] = ..., run_id: _Optional[str] = ..., workflow_name: _Optional[str] = ..., definition_hash: _Optional[str] = ..., dag_name: _Optional[str] = ..., dag_instance: _Optional[str] = ..., task_name: _Optional[str] = ..., attempt: _Optional[int] = ..., inputs: _Optional[_Iterable[_Union[InputDataset, _Mapping]]] = ..., code: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., timeout_ms: _Optional[int] = ..., code_seal: _Optional[bytes] = ..., source_path: _Optional[str] = ..., source: _Optional[str] = ..., document_has_arguments: _Optional[bool] = ...) -> None: ...

class InputDataset(_message.Message):
    __slots__ = ("task_name", "alias", "data")
    TASK_NAME_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    task_name: str
    alias: str
    data: _common_pb2.Payload
    def __init__(self, task_name: _Optional[str] = ..., alias: _Optional[str] = ..., data: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ...) -> None: ...
