"""The client of the store service, and the `store` a task callback receives.

Each run has one document with a `data` section (what tasks store) and a `meta` section (the
run's provenance, written by the engine), addressed by dotted keys such as
"buffer.observable".
"""

from __future__ import annotations

import enum
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TypeVar

import bson
import grpc
from bson.errors import BSONError

from lightflow._codec import (
    ValueDecodingError,
    ValueEncodingError,
    decode_value,
    encode_document,
    encode_value,
    unwrap,
)
from lightflow._errors import LightflowError
from lightflow._grpc import RETRYABLE_CODES, Bearer
from lightflow._tls import TlsOptions, connect
from lightflow._wire.blobs import CHUNK_BYTES
from lightflow._wire.documents import collect_keys, is_document
from lightflow._wire.encodings import BSON_FIELD, ENCODING_UPLOADED, uploaded_reference
from lightflow.v1 import (
    blob_pb2,
    blob_pb2_grpc,
    common_pb2,
    scheduler_pb2,
    store_pb2,
    store_pb2_grpc,
)

_T = TypeVar("_T")

# Seconds one call may take: a large value travels inside the message.
CALL_TIMEOUT_SECONDS = 30.0
# Seconds to keep retrying while the store service is unreachable (e.g. restarting).
RETRY_SECONDS = 30.0
_BACKOFF_FIRST_SECONDS = 0.05
_BACKOFF_MAX_SECONDS = 2.0

# A write message larger than this sends its largest values ahead, streamed in chunks to the
# run's blobs (BlobService.PutBlob), and refers to them: the store takes no message larger than
# a run's arguments may be (services/store/__main__.py, MAX_RECEIVE_BYTES).
DIRECT_WRITE_BYTES = 16 * 1024 * 1024
_Metadata = tuple[tuple[str, str], ...]


class RunDocuments(Protocol):
    """What the store does with a call on a run whose document is not there: the call's
    metadata (lightflow._wire.headers.MISSING_DOCUMENT_HEADER). A task's first call in a run
    without arguments creates it; a client outside the runs asks the schedulers first
    (SignalService.EnsureDocument)."""

    def metadata(self, run_id: str) -> _Metadata:
        """Called before every call on `run_id`'s store (an upload of a large value too)."""
        ...


_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

_SECTIONS: dict[str, store_pb2.DocumentSection] = {
    "data": store_pb2.DOCUMENT_SECTION_DATA,
    "meta": store_pb2.DOCUMENT_SECTION_META,
}


class DataStoreDocumentSection(enum.Enum):
    """The two sections of a run's store document (the original Lightflow's name)."""

    Data = "data"  # what tasks store
    Meta = "meta"  # the run's provenance, written by the engine


class StoreError(LightflowError):
    """A store call failed; the message is the store service's, `code` its gRPC status (None
    when the call did not reach the service)."""

    def __init__(self, message: str = "", code: grpc.StatusCode | None = None) -> None:
        super().__init__(message)
        self.code = code


class StoreNotFoundError(StoreError):
    """The run has no store document (never created, or deleted when the run ended)."""


class StoreInvalidArgumentError(StoreError, ValueError):
    """A bad run id, key (empty, "a..b", "$x", NUL) or section, or a value the store refuses."""


class StoreConflictError(StoreError):
    """The key holds something the operation cannot work on: a push onto a value that is not
    a list, or a key through a value that is not a document. Nothing was changed."""


class StoreUnavailableError(StoreError):
    """The store service could not be reached within the retry budget."""


class StoreValueError(StoreError, ValueEncodingError):
    """A value cannot be serialized for the store; the message names the key and the type."""


_ERROR_OF_STATUS: dict[grpc.StatusCode, type[StoreError]] = {
    grpc.StatusCode.NOT_FOUND: StoreNotFoundError,
    grpc.StatusCode.INVALID_ARGUMENT: StoreInvalidArgumentError,
    grpc.StatusCode.FAILED_PRECONDITION: StoreConflictError,
    grpc.StatusCode.UNAVAILABLE: StoreUnavailableError,
    grpc.StatusCode.CANCELLED: StoreUnavailableError,  # by a store shutting down
    grpc.StatusCode.DEADLINE_EXCEEDED: StoreUnavailableError,
}


def section_value(section: object) -> store_pb2.DocumentSection:
    """The proto section for "data"/"meta", or anything whose `value` or str is one."""
    name = getattr(section, "value", section)
    if not isinstance(name, str):
        name = str(section)
    try:
        return _SECTIONS[name.lower()]
    except KeyError:
        raise StoreInvalidArgumentError(
            f"unknown store section {section!r}; use 'data' or 'meta'"
        ) from None


class StoreClient:
    """A client of the store service over one gRPC channel; safe to share between threads.

    Every call has a deadline; a call that finds the service unreachable is retried with
    exponential backoff for up to RETRY_SECONDS, so a restarting store is waited for.
    """

    def __init__(
        self,
        address: str,
        token: Bearer = None,
        *,
        call_timeout: float = CALL_TIMEOUT_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
        tls: TlsOptions | None = None,
        documents: RunDocuments | None = None,
        read_meta: Callable[[str, str], scheduler_pb2.ReadMetaResponse] | None = None,
    ) -> None:
        """Connect (lazily) to the store service at `address` ("host:port"); over TLS when
        `tls` is given. `documents` says what the store does when a call finds no document
        for its run (RunDocuments); without it, the store waits a while for one on its way.
        `read_meta(run_id, key)` asks them for a key of a run's meta section
        (SignalService.ReadMeta): they hold a live run's provenance, the store an ended
        one's (lightflow/_wire/meta.py); reads of that section go to them first."""
        self._address = address
        self._channel = connect(address, token, tls)
        self._stub = store_pb2_grpc.StoreServiceStub(self._channel)
        self._blobs = blob_pb2_grpc.BlobServiceStub(self._channel)
        self._call_timeout = call_timeout
        self._retry_seconds = retry_seconds
        self._documents = documents
        self._read_meta = read_meta

    def close(self) -> None:
        """Close the channel; the client cannot be used afterwards."""
        self._channel.close()

    def __enter__(self) -> StoreClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def create_document(
        self,
        run_id: str,
        initial_data: Mapping[str, Any] | None = None,
        initial_meta: Mapping[str, Any] | None = None,
    ) -> None:
        """Create the document of a run, its `data` section holding `initial_data` and its
        `meta` section `initial_meta`. An existing document is left as it is."""
        self.create_document_bson(
            run_id,
            encode_document(initial_data) if initial_data else b"",
            encode_document(initial_meta) if initial_meta else b"",
        )

    def create_document_bson(
        self, run_id: str, initial_data_bson: bytes, initial_meta_bson: bytes
    ) -> None:
        """`create_document` with the sections already encoded (b"": empty)."""
        request = store_pb2.CreateDocumentRequest(
            run_id=run_id,
            initial_data_bson=initial_data_bson,
            initial_meta_bson=initial_meta_bson,
        )
        self._call(self._stub.CreateDocument, request)

    def delete_document(self, run_id: str, *, with_task_data: bool = False) -> None:
        """Remove the document of a run (and its task data, if asked); a missing one is not
        an error."""
        request = store_pb2.DeleteDocumentRequest(run_id=run_id, with_task_data=with_task_data)
        self._call(self._stub.DeleteDocument, request)

    def get(self, run_id: str, key: str, default: Any = None, *, section: object = "data") -> Any:
        """The value at the dotted `key`, or `default` when the key is missing."""
        payload = self.get_payload(run_id, key, section=section)
        if payload is None:
            return default
        return decode_value(payload)

    def get_payload(
        self, run_id: str, key: str, *, section: object = "data"
    ) -> common_pb2.Payload | None:
        """The value at the dotted `key` as it travels (encoding and bytes, nothing
        unpickled), or None when the key is missing."""
        live = self._live_meta(run_id, key, section)
        if live is not None:
            return live.value if live.found else None
        request = store_pb2.GetRequest(run_id=run_id, key=key, section=section_value(section))
        response = self._call(self._stub.Get, request, run_id)
        return response.value if response.found else None

    def set(self, run_id: str, key: str, value: Any, *, section: object = "data") -> None:
        """Set the value at the dotted `key`, creating the path."""
        request = store_pb2.SetRequest(
            run_id=run_id,
            key=key,
            value=_encode(run_id, key, value),
            section=section_value(section),
        )
        self._send_ahead(run_id, request, [request.value])
        self._call(self._stub.Set, request, run_id, write=True)

    def set_many(self, run_id: str, values: Mapping[str, Any], *, section: object = "data") -> None:
        """Set several dotted keys in one write: all of them, or none on an error."""
        request = store_pb2.SetManyRequest(
            run_id=run_id,
            items=[
                store_pb2.KeyValue(key=key, value=_encode(run_id, key, value))
                for key, value in values.items()
            ],
            section=section_value(section),
        )
        self._send_ahead(run_id, request, [item.value for item in request.items])
        self._call(self._stub.SetMany, request, run_id, write=True)

    def set_many_payloads(
        self, run_id: str, items: Mapping[str, common_pb2.Payload], *, section: object = "data"
    ) -> None:
        """`set_many` with the values already encoded (as `encode_value` makes them)."""
        request = store_pb2.SetManyRequest(
            run_id=run_id,
            items=[store_pb2.KeyValue(key=key, value=value) for key, value in items.items()],
            section=section_value(section),
        )
        self._send_ahead(run_id, request, [item.value for item in request.items])
        self._call(self._stub.SetMany, request, run_id, write=True)

    def push(self, run_id: str, key: str, value: Any, *, section: object = "data") -> None:
        """Append `value` to the list at `key`, creating the list when the key is missing."""
        request = store_pb2.PushRequest(
            run_id=run_id,
            key=key,
            value=_encode(run_id, key, value),
            section=section_value(section),
        )
        self._send_ahead(run_id, request, [request.value])
        self._call(self._stub.Push, request, run_id, write=True)

    def extend(
        self, run_id: str, key: str, values: Iterable[Any], *, section: object = "data"
    ) -> None:
        """Append each of `values`, in order, to the list at `key`, creating it when missing."""
        request = store_pb2.ExtendRequest(
            run_id=run_id,
            key=key,
            values=[_encode(run_id, key, value) for value in values],
            section=section_value(section),
        )
        self._send_ahead(run_id, request, list(request.values))
        self._call(self._stub.Extend, request, run_id, write=True)

    def delete(self, run_id: str, key: str, *, section: object = "data") -> None:
        """Remove the dotted `key`; a missing key is not an error."""
        request = store_pb2.DeleteRequest(run_id=run_id, key=key, section=section_value(section))
        self._call(self._stub.Delete, request, run_id)

    def exists(self, run_id: str, key: str, *, section: object = "data") -> bool:
        """Whether the dotted `key` holds a value (a stored None counts)."""
        live = self._live_meta(run_id, key, section)
        if live is not None:
            return live.found
        request = store_pb2.ExistsRequest(run_id=run_id, key=key, section=section_value(section))
        response = self._call(self._stub.Exists, request, run_id)
        return bool(response.exists)

    def list_keys(
        self, run_id: str, prefix: str = "", *, recursive: bool = False, section: object = "data"
    ) -> list[str]:
        """The full dotted keys of the direct children of `prefix` (of the section when
        empty), or of every leaf below it when `recursive`; [] when `prefix` is missing."""
        live = self._live_meta(run_id, prefix, section)
        if live is not None:
            if not live.found:
                return []
            node = _bson_value(live.value, run_id)
            if not is_document(node):
                raise StoreConflictError(
                    f"cannot list the keys of {prefix!r} in run {run_id!r}: the key holds a"
                    " value that is not a document",
                    grpc.StatusCode.FAILED_PRECONDITION,
                )
            return collect_keys(node, prefix, recursive=recursive)
        request = store_pb2.ListKeysRequest(
            run_id=run_id, prefix=prefix, recursive=recursive, section=section_value(section)
        )
        response = self._call(self._stub.ListKeys, request, run_id)
        return list(response.keys)

    def increment(
        self, run_id: str, key: str, amount: int | float = 1, *, section: object = "data"
    ) -> int | float:
        """Add `amount` to the number at `key` atomically (a missing key counts as 0); returns
        the new value. An integer stays an integer; a float amount makes it a float."""
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise StoreInvalidArgumentError(
                f"cannot increment {key!r} by a {type(amount).__name__}: use an int or a float"
            )
        request = store_pb2.IncrementRequest(run_id=run_id, key=key, section=section_value(section))
        if isinstance(amount, int):
            if not _INT64_MIN <= amount <= _INT64_MAX:
                raise StoreInvalidArgumentError(
                    f"cannot increment {key!r} by {amount}: beyond the 64-bit integer range"
                )
            request.int_amount = amount
        else:
            request.float_amount = amount
        response = self._call(self._stub.Increment, request, run_id, write=True)
        if response.WhichOneof("value") == "float_value":
            return float(response.float_value)
        return int(response.int_value)

    def get_document_bson(self, run_id: str, *, section: object = "data") -> bytes:
        """A whole section of the run's document as BSON: native values as they are, other
        values as their payload sub-documents (nothing unpickled)."""
        live = self._live_meta(run_id, "", section)
        if live is not None:
            return bson.encode(_bson_value(live.value, run_id))
        request = store_pb2.GetDocumentRequest(run_id=run_id, section=section_value(section))
        response = self._call(self._stub.GetDocument, request, run_id)
        return bytes(response.document_bson)

    def get_document(self, run_id: str, *, section: object = "data") -> dict[str, Any]:
        """A whole section of the run's document, every value decoded as `get` would."""
        raw = self.get_document_bson(run_id, section=section)
        try:
            document = bson.decode(raw)
        except (BSONError, ValueError) as err:
            raise ValueDecodingError(f"corrupt document of run {run_id!r}: {err}") from err
        decoded = unwrap(document)
        assert isinstance(decoded, dict)  # unwrap keeps a plain document a dict
        return decoded

    def _live_meta(
        self, run_id: str, key: str, section: object
    ) -> scheduler_pb2.ReadMetaResponse | None:
        """The schedulers' answer for a key of a run's meta section, or None when it is to be
        read from the store (the run ended, or no scheduler is known)."""
        if self._read_meta is None or section_value(section) != store_pb2.DOCUMENT_SECTION_META:
            return None
        try:
            answer = self._read_meta(run_id, key)
        except grpc.RpcError as err:
            code = err.code()
            if code == grpc.StatusCode.UNIMPLEMENTED:
                return None  # schedulers from before ReadMeta: the store holds what there is
            kind = _ERROR_OF_STATUS.get(code, StoreError)
            raise kind(err.details() or code.name, code) from err
        return None if answer.in_store else answer

    def _send_ahead(self, run_id: str, request: Any, payloads: list[common_pb2.Payload]) -> None:
        """Sends the largest of a write's `payloads` (parts of `request`) ahead as blobs, and
        puts references in their place, until the request is at most DIRECT_WRITE_BYTES."""
        excess = request.ByteSize() - DIRECT_WRITE_BYTES
        for payload in sorted(payloads, key=lambda p: len(p.data), reverse=True):
            if excess <= 0:
                return
            size = payload.ByteSize()
            payload.CopyFrom(self._upload(run_id, payload))
            excess -= size - payload.ByteSize()

    def _upload(self, run_id: str, payload: common_pb2.Payload) -> common_pb2.Payload:
        if self._documents is not None:
            self._documents.metadata(run_id)  # an upload is a use of the run's store too
        data = payload.data

        def put(_request: None, timeout: float, metadata: _Metadata) -> blob_pb2.PutBlobResponse:
            def chunks() -> Iterable[blob_pb2.PutBlobRequest]:
                yield blob_pb2.PutBlobRequest(run_id=run_id)
                for start in range(0, len(data), CHUNK_BYTES):
                    yield blob_pb2.PutBlobRequest(chunk=data[start : start + CHUNK_BYTES])

            response: blob_pb2.PutBlobResponse = self._blobs.PutBlob(
                iter(chunks()), timeout=timeout, metadata=metadata
            )
            return response

        try:
            response = self._attempt(put, None, ())
        except StoreConflictError as err:  # the run ended: it takes no more blobs
            raise StoreNotFoundError(str(err), err.code) from err
        reference = uploaded_reference(response.blob_id, payload.encoding)
        return common_pb2.Payload(encoding=ENCODING_UPLOADED, data=reference)

    def _call(
        self, method: Callable[..., _T], request: Any, run_id: str = "", *, write: bool = False
    ) -> _T:
        """Make one RPC on `run_id`'s document, with the metadata `documents` gives for its
        run. A `write` carries one request id on every attempt, so the store applies it at
        most once."""
        if write:  # the same request, so the same id, on every attempt
            request.request_id = uuid.uuid4().hex
        documents = self._documents
        metadata = documents.metadata(run_id) if run_id and documents is not None else ()
        return self._attempt(method, request, metadata)

    def _attempt(self, method: Callable[..., _T], request: Any, metadata: _Metadata) -> _T:
        """Make one RPC (`method` of the stub), retrying while it does not reach a working
        store (RETRYABLE_CODES); a failure becomes a StoreError."""
        give_up_at = time.monotonic() + self._retry_seconds
        backoff = _BACKOFF_FIRST_SECONDS
        while True:
            try:
                return method(request, timeout=self._call_timeout, metadata=metadata)
            except grpc.RpcError as err:
                code = err.code()
                # Only a call that did not reach a working server is retried (RETRYABLE_CODES).
                # After DEADLINE_EXCEEDED a push may have been applied: it is not repeated.
                if code in RETRYABLE_CODES and time.monotonic() + backoff < give_up_at:
                    time.sleep(backoff * random.uniform(0.5, 1.0))  # jitter spreads reconnects
                    backoff = min(backoff * 2, _BACKOFF_MAX_SECONDS)
                    continue
                kind = _ERROR_OF_STATUS.get(code, StoreError)
                message = err.details() or code.name
                if code in RETRYABLE_CODES:
                    message = f"store service at {self._address} is unavailable: {message}"
                raise kind(message, code) from err


def _bson_value(payload: common_pb2.Payload, run_id: str) -> Any:
    """The value of an "application/bson" payload as BSON decodes it (payload sub-documents
    left as they are)."""
    try:
        return bson.decode(payload.data)[BSON_FIELD]
    except (BSONError, ValueError, KeyError) as err:
        raise ValueDecodingError(f"corrupt provenance of run {run_id!r}: {err}") from err


def _encode(run_id: str, key: str, value: Any) -> common_pb2.Payload:
    try:
        return encode_value(value)
    except ValueEncodingError as err:
        raise StoreValueError(f"cannot store {key!r} in run {run_id!r}: {err}") from err


class TaskStore:
    """The store of one run, as a task callback sees it (`store` in
    `callback(data, store, signal, context)`).

    Values MongoDB holds natively (None, bool, int, float, str, bytes, datetime, and lists and
    dicts of those) are stored as they are; numpy arrays of plain element types as a
    language-neutral sub-document (dtype, shape, bytes); anything else (tuples, sets, class
    instances) is pickled by value and comes back as it was. Values larger than MongoDB's
    16 MB document limit work too. Sections are "data" (the default) and "meta", given as a
    string or a `DataStoreDocumentSection`.
    """

    def __init__(self, client: StoreClient, run_id: str) -> None:
        self._client = client
        self._run_id = run_id

    @property
    def run_id(self) -> str:
        """The run whose document this is."""
        return self._run_id

    def get(self, key: str, default: Any = None, *, section: object = "data") -> Any:
        """The value at the dotted `key` (e.g. "buffer.observable"), or `default` when missing."""
        return self._client.get(self._run_id, key, default, section=section)

    def set(self, key: str, value: Any, *, section: object = "data") -> None:
        """Set the value at the dotted `key`, creating the path."""
        self._client.set(self._run_id, key, value, section=section)

    def push(self, key: str, value: Any, *, section: object = "data") -> None:
        """Append `value` to the list at `key`, creating the list when the key is missing."""
        self._client.push(self._run_id, key, value, section=section)

    def extend(self, key: str, values: Iterable[Any], *, section: object = "data") -> None:
        """Append each of `values`, in order, to the list at `key`, creating it when missing."""
        self._client.extend(self._run_id, key, values, section=section)

    def delete(self, key: str, *, section: object = "data") -> None:
        """Remove the dotted `key`; a missing key is not an error."""
        self._client.delete(self._run_id, key, section=section)

    def exists(self, key: str, *, section: object = "data") -> bool:
        """Whether the dotted `key` holds a value (a stored None counts)."""
        return self._client.exists(self._run_id, key, section=section)

    def list_keys(
        self, prefix: str = "", *, recursive: bool = False, section: object = "data"
    ) -> list[str]:
        """The full dotted keys under `prefix` (the whole section when empty): its direct
        children, or every leaf below it when `recursive`; [] when `prefix` is missing."""
        return self._client.list_keys(self._run_id, prefix, recursive=recursive, section=section)

    def increment(
        self, key: str, amount: int | float = 1, *, section: object = "data"
    ) -> int | float:
        """Add `amount` to the number at `key` atomically, creating it at 0 when missing;
        returns the new value. Parallel tasks incrementing one counter lose nothing."""
        return self._client.increment(self._run_id, key, amount, section=section)

    def get_document(self, *, section: object = "data") -> dict[str, Any]:
        """The whole section (data by default), every value decoded."""
        return self._client.get_document(self._run_id, section=section)

    def __repr__(self) -> str:
        return f"TaskStore(run_id={self._run_id!r})"
