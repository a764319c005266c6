from lightflow.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DocumentSection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DOCUMENT_SECTION_UNSPECIFIED: _ClassVar[DocumentSection]
    DOCUMENT_SECTION_DATA: _ClassVar[DocumentSection]
    DOCUMENT_SECTION_META: _ClassVar[DocumentSection]
DOCUMENT_SECTION_UNSPECIFIED: DocumentSection
DOCUMENT_SECTION_DATA: DocumentSection
DOCUMENT_SECTION_META: DocumentSection

class CreateDocumentRequest(_message.Message):
    __slots__ = ("run_id", "initial_data_bson", "initial_meta_bson")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    INITIAL_DATA_BSON_FIELD_NUMBER: _ClassVar[int]
    INITIAL_META_BSON_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    initial_data_bson: bytes
    initial_meta_bson: bytes
    def __init__(self, run_id: _Optional[str] = ..., initial_data_bson: _Optional[bytes] = ..., initial_meta_bson: _Optional[bytes] = ...) -> None: ...

class CreateDocumentResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteDocumentRequest(_message.Message):
    __slots__ = ("run_id", "with_task_data")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    WITH_TASK_DATA_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    with_task_data: bool
    def __init__(self, run_id: _Optional[str] = ..., with_task_data: _Optional[bool] = ...) -> None: ...

class DeleteDocumentResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("run_id", "key", "section")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    key: str
    section: DocumentSection
    def __init__(self, run_id: _Optional[str] = ..., key: _Optional[str] = ..., section: _Optional[_Union[DocumentSection, str]] = ...) -> None: ...

class GetResponse(_message.Message):
    __slots__ = ("found", "value")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    found: bool
    value: _common_pb2.Payload
    def __init__(self, found: _Optional[bool] = ..., value: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ...) -> None: ...

class SetRequest(_message.Message):
    __slots__ = ("run_id", "key", "value", "section", "request_id")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    key: str
    value: _common_pb2.Payload
    section: DocumentSection
    request_id: str
    def __init__(self, run_id: _Optional[str] = ..., key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., section: _Optional[_Union[DocumentSection, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class SetResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetManyRequest(_message.Message):
    __slots__ = ("run_id", "items", "section", "request_id")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    items: _containers.RepeatedCompositeFieldContainer[KeyValue]
    section: DocumentSection
    request_id: str
    def __init__(self, run_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[KeyValue, _Mapping]]] = ..., section: _Optional[_Union[DocumentSection, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class KeyValue(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: _common_pb2.Payload
    def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ...) -> None: ...

class SetManyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PushRequest(_message.Message):
    __slots__ = ("run_id", "key", "value", "section", "request_id")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    key: str
    value: _common_pb2.Payload
    section: DocumentSection
    request_id: str
    def __init__(self, run_id: _Optional[str] = ..., key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.Payload, _Mapping]] = ..., section: _Optional[_Union[DocumentSection, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class PushResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ExtendRequest(_message.Message):
    __slots__ = ("run_id", "key", "values", "section", "request_id")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    key: str
    values: _containers.RepeatedCompositeFieldContainer[_common_pb2.Payload]
    section: DocumentSection
    request_id: str
    def __init__(self, run_id: _Optional[str] = ..., key: _Optional[str] = ..., values: _Optional[_Iterable[_Union[_common_pb2.Payload, _Mapping]]] = ..., section: _Optional[_Union[DocumentSection, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ExtendResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteRequest(_message.Message):
    __slots__ = ("run_id", "key", "section")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    key: str
    section: DocumentSection
    def __init__(self, run_id: _Optional[str] = ..., key: _Optional[str] = ..., section: _Optional[_Union[DocumentSection, str]] = ...) -> None: ...

class DeleteResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ExistsRequest(_message.Message):
    __slots__ = ("run_id", "key", "section")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    key: str
    section: DocumentSection
    def __init__(self, run_id: _Optional[str] = ..., key: _Optional[str] = ..., section: _Optional[_Union[DocumentSection, str]] = ...) -> None: ...

class ExistsResponse(_message.Message):
    __slots__ = ("exists",)
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    exists: bool
    def __init__(self, exists: _Optional[bool] = ...) -> None: ...

class ListKeysRequest(_message.Message):
    __slots__ = ("run_id", "prefix", "section", "recursive")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    RECURSIVE_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    prefix: str
    section: DocumentSection
    recursive: bool
    def __init__(self, run_id: _Optional[str] = ..., prefix: _Optional[str] = ..., section: _Optional[_Union[DocumentSection, str]] = ..., recursive: _Optional[bool] = ...) -> None: ...

class ListKeysResponse(_message.Message):
    __slots__ = ("found", "keys")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    found: bool
    keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, found: _Optional[bool] = ..., keys: _Optional[_Iterable[str]] = ...) -> None: ...

class IncrementRequest(_message.Message):
    __slots__ = ("run_id", "key", "section", "int_amount", "float_amount", "request_id")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    INT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    FLOAT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    key: str
    section: DocumentSection
    int_amount: int
    float_amount: float
    request_id: str
    def __init__(self, run_id: _Optional[str] = ..., key: _Optional[str] = ..., section: _Optional[_Union[DocumentSection, str]] = ..., int_amount: _Optional[int] = ..., float_amount: _Optional[float] = ..., request_id: _Optional[str] = ...) -> None: ...

class IncrementResponse(_message.Message):
    __slots__ = ("int_value", "float_value")
    INT_VALUE_FIELD_NUMBER: _ClassVar[int]
    FLOAT_VALUE_FIELD_NUMBER: _ClassVar[int]
    int_value: int
    float_value: float
    def __init__(self, int_value: _Optional[int] = ..., float_value: _Optional[float] = ...) -> None: ...

class GetDocumentRequest(_message.Message):
    __slots__ = ("run_id", "section")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    section: DocumentSection
    def __init__(self, run_id: _Optional[str] = ..., section: _Optional[_Union[DocumentSection, str]] = ...) -> None: ...

class GetDocumentResponse(_message.Message):
    __slots__ = ("document_bson",)
    DOCUMENT_BSON_FIELD_NUMBER: _ClassVar[int]
    document_bson: bytes
    def __init__(self, document_bson: _Optional[bytes] = ...) -> None: ...
