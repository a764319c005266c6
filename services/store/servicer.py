"""The gRPC face of the store: translate requests, map domain errors to status codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, Protocol, TypeVar

import grpc
import structlog

from lightflow._wire.encodings import ENCODING_UPLOADED, read_uploaded_reference
from lightflow._wire.headers import MISSING_DOCUMENT_HEADER
from lightflow.v1 import common_pb2, store_pb2, store_pb2_grpc
from lightflow_common.server import check_run_access, credential_run
from lightflow_store.blobs import BlobNotFoundError, BlobStore
from lightflow_store.core import (
    ConflictError,
    InvalidArgumentError,
    MissingDocument,
    MissingValueError,
    RunNotFoundError,
    Section,
    StoreCore,
    StoreError,
    StoreUnavailableError,
    Value,
)

log = structlog.get_logger(__name__)

_T = TypeVar("_T")

_SECTIONS: dict[int, Section] = {
    store_pb2.DOCUMENT_SECTION_UNSPECIFIED: Section.DATA,
    store_pb2.DOCUMENT_SECTION_DATA: Section.DATA,
    store_pb2.DOCUMENT_SECTION_META: Section.META,
}

_MISSING = {"create": MissingDocument.CREATE, "fail": MissingDocument.FAIL}

# Most specific first: the first match decides the status.
_STATUS_OF_ERROR: list[tuple[type[StoreError], grpc.StatusCode]] = [
    (InvalidArgumentError, grpc.StatusCode.INVALID_ARGUMENT),
    (RunNotFoundError, grpc.StatusCode.NOT_FOUND),
    (ConflictError, grpc.StatusCode.FAILED_PRECONDITION),
    (StoreUnavailableError, grpc.StatusCode.UNAVAILABLE),
    (MissingValueError, grpc.StatusCode.DATA_LOSS),
]


class StoreServicer(store_pb2_grpc.StoreServiceServicer):
    """Each RPC is one core call; the method names are the proto's."""

    def __init__(
        self,
        core: StoreCore,
        drop_task_data: Callable[[str], None] | None = None,
        uploads: BlobStore | None = None,
    ) -> None:
        self._core = core
        self._drop_task_data = drop_task_data
        self._uploads = uploads

    def _values(
        self,
        context: grpc.ServicerContext,
        run_id: str,
        payloads: list[common_pb2.Payload],
        request_id: str,
    ) -> tuple[list[Value], list[str]] | None:
        """The values of a write, and the blobs of those sent ahead (ENCODING_UPLOADED),
        read from the run's blobs. None when a value sent ahead is gone because this write
        was applied before (it is a retry)."""
        check_run_access(context, run_id)
        values: list[Value] = []
        uploaded: list[str] = []
        for payload in payloads:
            if payload.encoding != ENCODING_UPLOADED:
                values.append(Value(payload.encoding, payload.data))
                continue
            try:
                blob_id, encoding = read_uploaded_reference(payload.data)
            except ValueError:
                _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "a malformed value sent ahead")
            try:
                if self._uploads is None:
                    raise BlobNotFoundError(blob_id)
                data = self._uploads.read(run_id, blob_id)
            except (BlobNotFoundError, ValueError):
                if request_id and _call(context, lambda: self._core.applied(run_id, request_id)):
                    return None
                _abort(
                    context,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"the value sent ahead as blob {blob_id[:40]!r} of run {run_id[:100]!r}"
                    " is not there",
                )
            values.append(Value(encoding, data))
            uploaded.append(blob_id)
        return values, uploaded

    def _done_with(self, run_id: str, uploaded: list[str]) -> None:
        """Removes the blobs of values sent ahead, now stored."""
        if uploaded and self._uploads is not None:
            self._uploads.delete(run_id, uploaded)

    def _on_document(
        self, context: grpc.ServicerContext, run_id: str, action: Callable[[], _T]
    ) -> _T:
        """A core call on a run's document (as `_call`), for a caller allowed to touch the
        run (a task's run credential opens its own run only). A missing document is waited
        for, created or reported at once, as the call's MISSING_DOCUMENT_HEADER says."""
        check_run_access(context, run_id)
        missing = MissingDocument.WAIT
        for name, value in context.invocation_metadata() or ():
            if name == MISSING_DOCUMENT_HEADER:
                missing = _MISSING.get(value, MissingDocument.WAIT)
        return _call(context, lambda: self._core.on_document(run_id, action, missing))

    def CreateDocument(
        self, request: store_pb2.CreateDocumentRequest, context: grpc.ServicerContext
    ) -> store_pb2.CreateDocumentResponse:
        run_id, initial = request.run_id, request.initial_data_bson
        meta = request.initial_meta_bson
        check_run_access(context, run_id)
        _call(context, lambda: self._core.create_document(run_id, initial, meta))
        return store_pb2.CreateDocumentResponse()

    def DeleteDocument(
        self, request: store_pb2.DeleteDocumentRequest, context: grpc.ServicerContext
    ) -> store_pb2.DeleteDocumentResponse:
        check_run_access(context, request.run_id)
        _call(context, lambda: self._core.delete_document(request.run_id))
        if request.with_task_data and self._drop_task_data is not None:
            self._drop_task_data(request.run_id)
        return store_pb2.DeleteDocumentResponse()

    def Get(
        self, request: store_pb2.GetRequest, context: grpc.ServicerContext
    ) -> store_pb2.GetResponse:
        section = _section(request.section, context)
        value = self._on_document(
            context,
            request.run_id,
            lambda: self._core.get(request.run_id, request.key, section),
        )
        if value is None:
            return store_pb2.GetResponse(found=False)
        return store_pb2.GetResponse(
            found=True, value=common_pb2.Payload(encoding=value.encoding, data=value.data)
        )

    def Set(
        self, request: store_pb2.SetRequest, context: grpc.ServicerContext
    ) -> store_pb2.SetResponse:
        section = _writable(request.section, context)
        rid = _request_id(request, context)
        sent = self._values(context, request.run_id, [request.value], rid)
        if sent is None:
            return store_pb2.SetResponse()
        (value,), uploaded = sent
        self._on_document(
            context,
            request.run_id,
            lambda: self._core.set(request.run_id, request.key, value, section, request_id=rid),
        )
        self._done_with(request.run_id, uploaded)
        return store_pb2.SetResponse()

    def SetMany(
        self, request: store_pb2.SetManyRequest, context: grpc.ServicerContext
    ) -> store_pb2.SetManyResponse:
        section = _writable(request.section, context)
        rid = _request_id(request, context)
        sent = self._values(context, request.run_id, [item.value for item in request.items], rid)
        if sent is None:
            return store_pb2.SetManyResponse()
        values, uploaded = sent
        items = [(item.key, value) for item, value in zip(request.items, values, strict=True)]
        self._on_document(
            context,
            request.run_id,
            lambda: self._core.set_many(request.run_id, items, section, request_id=rid),
        )
        self._done_with(request.run_id, uploaded)
        return store_pb2.SetManyResponse()

    def Push(
        self, request: store_pb2.PushRequest, context: grpc.ServicerContext
    ) -> store_pb2.PushResponse:
        section = _writable(request.section, context)
        rid = _request_id(request, context)
        sent = self._values(context, request.run_id, [request.value], rid)
        if sent is None:
            return store_pb2.PushResponse()
        (value,), uploaded = sent
        self._on_document(
            context,
            request.run_id,
            lambda: self._core.push(request.run_id, request.key, value, section, request_id=rid),
        )
        self._done_with(request.run_id, uploaded)
        return store_pb2.PushResponse()

    def Extend(
        self, request: store_pb2.ExtendRequest, context: grpc.ServicerContext
    ) -> store_pb2.ExtendResponse:
        section = _writable(request.section, context)
        rid = _request_id(request, context)
        sent = self._values(context, request.run_id, list(request.values), rid)
        if sent is None:
            return store_pb2.ExtendResponse()
        values, uploaded = sent
        self._on_document(
            context,
            request.run_id,
            lambda: self._core.extend(request.run_id, request.key, values, section, request_id=rid),
        )
        self._done_with(request.run_id, uploaded)
        return store_pb2.ExtendResponse()

    def Delete(
        self, request: store_pb2.DeleteRequest, context: grpc.ServicerContext
    ) -> store_pb2.DeleteResponse:
        section = _writable(request.section, context)
        self._on_document(
            context,
            request.run_id,
            lambda: self._core.delete(request.run_id, request.key, section),
        )
        return store_pb2.DeleteResponse()

    def Exists(
        self, request: store_pb2.ExistsRequest, context: grpc.ServicerContext
    ) -> store_pb2.ExistsResponse:
        section = _section(request.section, context)
        exists = self._on_document(
            context,
            request.run_id,
            lambda: self._core.exists(request.run_id, request.key, section),
        )
        return store_pb2.ExistsResponse(exists=exists)

    def ListKeys(
        self, request: store_pb2.ListKeysRequest, context: grpc.ServicerContext
    ) -> store_pb2.ListKeysResponse:
        section = _section(request.section, context)
        keys = self._on_document(
            context,
            request.run_id,
            lambda: self._core.list_keys(
                request.run_id, request.prefix, section, recursive=request.recursive
            ),
        )
        if keys is None:
            return store_pb2.ListKeysResponse(found=False)
        return store_pb2.ListKeysResponse(found=True, keys=keys)

    def Increment(
        self, request: store_pb2.IncrementRequest, context: grpc.ServicerContext
    ) -> store_pb2.IncrementResponse:
        section = _writable(request.section, context)
        kind = request.WhichOneof("amount")
        amount: int | float = (
            request.int_amount
            if kind == "int_amount"
            else request.float_amount
            if kind == "float_amount"
            else 1
        )
        rid = _request_id(request, context)
        value = self._on_document(
            context,
            request.run_id,
            lambda: self._core.increment(
                request.run_id, request.key, amount, section, request_id=rid
            ),
        )
        if isinstance(value, float):
            return store_pb2.IncrementResponse(float_value=value)
        return store_pb2.IncrementResponse(int_value=value)

    def GetDocument(
        self, request: store_pb2.GetDocumentRequest, context: grpc.ServicerContext
    ) -> store_pb2.GetDocumentResponse:
        section = _section(request.section, context)
        document = self._on_document(
            context, request.run_id, lambda: self._core.get_document(request.run_id, section)
        )
        return store_pb2.GetDocumentResponse(document_bson=document)


_MAX_REQUEST_ID_CHARS = 128


class _Idempotent(Protocol):
    request_id: str


def _request_id(request: _Idempotent, context: grpc.ServicerContext) -> str:
    """The write's `request_id`, so that a retry of a write the store applied without
    answering is not applied twice; "" when none was sent."""
    request_id = request.request_id
    if len(request_id) > _MAX_REQUEST_ID_CHARS:
        _abort(
            context,
            grpc.StatusCode.INVALID_ARGUMENT,
            f"request_id must have at most {_MAX_REQUEST_ID_CHARS} characters",
        )
    return request_id


def register(
    server: grpc.Server,
    core: StoreCore,
    drop_task_data: Callable[[str], None] | None = None,
    uploads: BlobStore | None = None,
) -> None:
    """Serve the store; `drop_task_data(run_id)` removes a run's task data (the process's
    BlobService) when DeleteDocument asks for it; values sent ahead are read from `uploads`
    (the BlobService's blobs)."""
    store_pb2_grpc.add_StoreServiceServicer_to_server(
        StoreServicer(core, drop_task_data, uploads), server
    )


def _section(section: int, context: grpc.ServicerContext) -> Section:
    try:
        return _SECTIONS[section]
    except KeyError:
        _abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"unknown document section {section}")


def _writable(section: int, context: grpc.ServicerContext) -> Section:
    """The section of a write. The meta section is the engine's (the run's provenance, which
    the schedulers answer reads of while the run is live): a task's run credential may not
    write it."""
    chosen = _section(section, context)
    if chosen is Section.META and credential_run(context) is not None:
        _abort(
            context,
            grpc.StatusCode.PERMISSION_DENIED,
            "the meta section holds the run's provenance and is written by the engine;"
            " a task writes to the data section",
        )
    return chosen


def _call(context: grpc.ServicerContext, action: Callable[[], _T]) -> _T:
    """Run a core call; a domain error becomes a status with its message, anything else an
    INTERNAL status without details (the traceback stays in our log)."""
    try:
        return action()
    except StoreError as err:
        for kind, code in _STATUS_OF_ERROR:
            if isinstance(err, kind):
                log.info("store_call_refused", code=code.name, reason=str(err))
                _abort(context, code, str(err))
        log.exception("store_call_failed")
        _abort(context, grpc.StatusCode.INTERNAL, "internal error in the store service")
    except Exception:  # never a stack trace across the wire
        log.exception("store_call_failed")
        _abort(context, grpc.StatusCode.INTERNAL, "internal error in the store service")


# gRPC carries a status message in a trailer of at most 16 KiB; a longer one is lost.
_MAX_MESSAGE_CHARS = 2000


def _abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    if len(message) > _MAX_MESSAGE_CHARS:
        message = message[:_MAX_MESSAGE_CHARS] + " [...]"
    context.abort(code, message)
    raise AssertionError("context.abort returned")  # it raises; this satisfies the type checker
