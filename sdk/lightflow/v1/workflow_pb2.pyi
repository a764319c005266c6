import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from lightflow.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OverlapPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OVERLAP_POLICY_SKIP: _ClassVar[OverlapPolicy]
    OVERLAP_POLICY_ALLOW: _ClassVar[OverlapPolicy]
    OVERLAP_POLICY_QUEUE: _ClassVar[OverlapPolicy]

class CatchUpPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CATCH_UP_POLICY_NONE: _ClassVar[CatchUpPolicy]
    CATCH_UP_POLICY_LAST: _ClassVar[CatchUpPolicy]
    CATCH_UP_POLICY_ALL: _ClassVar[CatchUpPolicy]
OVERLAP_POLICY_SKIP: OverlapPolicy
OVERLAP_POLICY_ALLOW: OverlapPolicy
OVERLAP_POLICY_QUEUE: OverlapPolicy
CATCH_UP_POLICY_NONE: CatchUpPolicy
CATCH_UP_POLICY_LAST: CatchUpPolicy
CATCH_UP_POLICY_ALL: CatchUpPolicy

class ScheduleSpec(_message.Message):
    __slots__ = ("name", "workflow_name", "arguments", "cron", "timezone", "interval_s", "start_at", "end_at", "jitter_s", "overlap", "catch_up", "catch_up_limit", "keep_data")
    class ArgumentsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    CRON_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_S_FIELD_NUMBER: _ClassVar[int]
    START_AT_FIELD_NUMBER: _ClassVar[int]
    END_AT_FIELD_NUMBER: _ClassVar[int]
    JITTER_S_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_FIELD_NUMBER: _ClassVar[int]
    CATCH_UP_FIELD_NUMBER: _ClassVar[int]
    CATCH_UP_LIMIT_FIELD_NUMBER: _ClassVar[int]
    KEEP_DATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    workflow_name: str
    arguments: _containers.ScalarMap[str, str]
    cron: str
    timezone: str
    interval_s: float
    start_at: _timestamp_pb2.Timestamp
    end_at: _timestamp_pb2.Timestamp
    jitter_s: float
    overlap: OverlapPolicy
    catch_up: CatchUpPolicy
    catch_up_limit: int
    keep_data: bool
    def __init__(self, name: _Optional[str] = ..., workflow_name: _Optional[str] = ..., arguments: _Optional[_Mapping[str, str]] = ..., cron: _Optional[str] = ..., timezone: _Optional[str] = ..., interval_s: _Optional[float] = ..., start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., jitter_s: _Optional[float] = ..., overlap: _Optional[_Union[OverlapPolicy, str]] = ..., catch_up: _Optional[_Union[CatchUpPolicy, str]] = ..., catch_up_limit: _Optional[int] = ..., keep_data: _Optional[bool] = ...) -> None: ...

class WorkflowDefinition(_message.Message):
    __slots__ = ("name", "dags", "description", "source_path", "options", "source", "schedules")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DAGS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_PATH_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    name: str
    dags: _containers.RepeatedCompositeFieldContainer[DagDefinition]
    description: str
    source_path: str
    options: _containers.RepeatedCompositeFieldContainer[OptionDefinition]
    source: str
    schedules: _containers.RepeatedCompositeFieldContainer[ScheduleSpec]
    def __init__(self, name: _Optional[str] = ..., dags: _Optional[_Iterable[_Union[DagDefinition, _Mapping]]] = ..., description: _Optional[str] = ..., source_path: _Optional[str] = ..., options: _Optional[_Iterable[_Union[OptionDefinition, _Mapping]]] = ..., source: _Optional[str] = ..., schedules: _Optional[_Iterable[_Union[ScheduleSpec, _Mapping]]] = ...) -> None: ...

class DagDefinition(_message.Message):
    __slots__ = ("name", "autostart", "queue", "tasks", "edges")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AUTOSTART_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    EDGES_FIELD_NUMBER: _ClassVar[int]
    name: str
    autostart: bool
    queue: str
    tasks: _containers.RepeatedCompositeFieldContainer[TaskDefinition]
    edges: _containers.RepeatedCompositeFieldContainer[Edge]
    def __init__(self, name: _Optional[str] = ..., autostart: _Optional[bool] = ..., queue: _Optional[str] = ..., tasks: _Optional[_Iterable[_Union[TaskDefinition, _Mapping]]] = ..., edges: _Optional[_Iterable[_Union[Edge, _Mapping]]] = ...) -> None: ...

class TaskDefinition(_message.Message):
    __slots__ = ("name", "queue", "code", "force_run", "stop_skip_propagation", "retries", "retry_delay_s", "timeout_s")
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    FORCE_RUN_FIELD_NUMBER: _ClassVar[int]
    STOP_SKIP_PROPAGATION_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    RETRY_DELAY_S_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    name: str
    queue: str
    code: _common_pb2.Payload
    force_run: bool
    stop_skip_propagation: bool
    retries: int
    retry_delay_s: float
    timeout_s: float
    def __init__(self, name: _Optional[str] = ..., queue: _Optional[str] = ..., code: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., force_run: _Optional[bool] = ..., stop_skip_propagation: _Optional[bool] = ..., retries: _Optional[int] = ..., retry_delay_s: _Optional[float] = ..., timeout_s: _Optional[float] = ...) -> None: ...

class Edge(_message.Message):
    __slots__ = ("parent", "child", "alias")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    CHILD_FIELD_NUMBER: _ClassVar[int]
    ALIAS_FIELD_NUMBER: _ClassVar[int]
    parent: str
    child: str
    alias: str
    def __init__(self, parent: _Optional[str] = ..., child: _Optional[str] = ..., alias: _Optional[str] = ...) -> None: ...

class OptionDefinition(_message.Message):
    __slots__ = ("name", "type", "default", "help")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FIELD_NUMBER: _ClassVar[int]
    HELP_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    default: str
    help: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., default: _Optional[str] = ..., help: _Optional[str] = ...) -> None: ...
