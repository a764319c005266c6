from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class RunStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUN_STATUS_UNSPECIFIED: _ClassVar[RunStatus]
    RUN_STATUS_RUNNING: _ClassVar[RunStatus]
    RUN_STATUS_STOPPING: _ClassVar[RunStatus]
    RUN_STATUS_SUCCEEDED: _ClassVar[RunStatus]
    RUN_STATUS_FAILED: _ClassVar[RunStatus]
    RUN_STATUS_ABORTED: _ClassVar[RunStatus]
    RUN_STATUS_STOPPED: _ClassVar[RunStatus]
    RUN_STATUS_SCHEDULED: _ClassVar[RunStatus]

class DagStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DAG_STATUS_UNSPECIFIED: _ClassVar[DagStatus]
    DAG_STATUS_RUNNING: _ClassVar[DagStatus]
    DAG_STATUS_SUCCEEDED: _ClassVar[DagStatus]
    DAG_STATUS_FAILED: _ClassVar[DagStatus]
    DAG_STATUS_STOPPED: _ClassVar[DagStatus]

class TaskStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_STATUS_UNSPECIFIED: _ClassVar[TaskStatus]
    TASK_STATUS_WAITING: _ClassVar[TaskStatus]
    TASK_STATUS_QUEUED: _ClassVar[TaskStatus]
    TASK_STATUS_RUNNING: _ClassVar[TaskStatus]
    TASK_STATUS_SUCCEEDED: _ClassVar[TaskStatus]
    TASK_STATUS_FAILED: _ClassVar[TaskStatus]
    TASK_STATUS_SKIPPED: _ClassVar[TaskStatus]
    TASK_STATUS_STOPPED: _ClassVar[TaskStatus]
    TASK_STATUS_ABORTED: _ClassVar[TaskStatus]
    TASK_STATUS_CANCELLED: _ClassVar[TaskStatus]
    TASK_STATUS_RETRYING: _ClassVar[TaskStatus]
RUN_STATUS_UNSPECIFIED: RunStatus
RUN_STATUS_RUNNING: RunStatus
RUN_STATUS_STOPPING: RunStatus
RUN_STATUS_SUCCEEDED: RunStatus
RUN_STATUS_FAILED: RunStatus
RUN_STATUS_ABORTED: RunStatus
RUN_STATUS_STOPPED: RunStatus
RUN_STATUS_SCHEDULED: RunStatus
DAG_STATUS_UNSPECIFIED: DagStatus
DAG_STATUS_RUNNING: DagStatus
DAG_STATUS_SUCCEEDED: DagStatus
DAG_STATUS_FAILED: DagStatus
DAG_STATUS_STOPPED: DagStatus
TASK_STATUS_UNSPECIFIED: TaskStatus
TASK_STATUS_WAITING: TaskStatus
TASK_STATUS_QUEUED: TaskStatus
TASK_STATUS_RUNNING: TaskStatus
TASK_STATUS_SUCCEEDED: TaskStatus
TASK_STATUS_FAILED: TaskStatus
TASK_STATUS_SKIPPED: TaskStatus
TASK_STATUS_STOPPED: TaskStatus
TASK_STATUS_ABORTED: TaskStatus
TASK_STATUS_CANCELLED: TaskStatus
TASK_STATUS_RETRYING: TaskStatus

class Payload(_message.Message):
    __slots__ = ("encoding", "data")
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    encoding: str
    data: bytes
    def __init__(self, encoding: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class Failure(_message.Message):
    __slots__ = ("type", "message", "stack_trace")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STACK_TRACE_FIELD_NUMBER: _ClassVar[int]
    type: str
    message: str
    stack_trace: str
    def __init__(self, type: _Optional[str] = ..., message: _Optional[str] = ..., stack_trace: _Optional[str] = ...) -> None: ...
