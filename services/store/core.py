"""The store's logic: one document per run, `{_id: run_id, data: {...}, meta: {...}}`,
addressed by dotted keys. Knows nothing of gRPC.

Every operation is a single pymongo-style call on one document, so it is atomic in MongoDB
and under the embedded backend's per-run lock: a refused write changes nothing.

BSON values are kept natively (readable from the mongo shell and any language); an ndarray is
kept as a sub-document of its dtype, shape and bytes; any other encoding is kept as a wrapper
sub-document of opaque bytes, never decoded here: the store does not run user pickles.

Values too large for a document go to the backend's `LargeValueStore` and the document holds a
reference sub-document in their place: {WRAPPER_KEY: encoding, "chunked": blob id, "size": n,
...the wrapper's other fields}. A blob is written before the document refers to it and removed
after the document stopped referring to it (the old value comes back from the same atomic
update), so a reader finds every blob it is pointed to, unless a writer replaced the value
between its two reads: then it reads again. A blob orphaned by a crash between the two steps
goes with the run's document.
"""

from __future__ import annotations

import enum
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import bson
import bson.errors
import structlog
from bson.binary import Binary
from bson.decimal128 import Decimal128

from lightflow._codec import ValueDecodingError, as_wrapper, wrap
from lightflow._wire.documents import (
    MAX_KEY_CHARS,
    MAX_KEY_SEGMENTS,
    WRAPPER_DATA_KEY,
    WRAPPER_KEY,
    collect_keys,
    is_document,
)
from lightflow._wire.encodings import BSON_FIELD, ENCODING_BSON
from lightflow_store.backends import (
    CODE_BAD_VALUE,
    CODE_OVERFLOW,
    CODE_PATH_NOT_VIABLE,
    CODE_TYPE_MISMATCH,
    BackendUnavailableError,
    BackendWriteError,
    LargeValueStore,
    RunsCollection,
)

log = structlog.get_logger(__name__)

_T = TypeVar("_T")

# A binary (a pickle, an array's bytes) larger than this is kept outside the document.
INLINE_LIMIT_BYTES = 1024 * 1024
# A BSON value larger than this is kept outside the document: MongoDB caps a document at
# 16 MiB. Higher than INLINE_LIMIT_BYTES because a value kept outside is no longer a list a
# push can append to.
NATIVE_INLINE_LIMIT_BYTES = 8 * 1024 * 1024
# Fields of a reference sub-document (beside WRAPPER_KEY and the wrapper's other fields).
REF_KEY = "chunked"
REF_SIZE_KEY = "size"
# Reads of a value whose blob a concurrent write removed meanwhile.
_READ_ATTEMPTS = 5
# How many deleted runs the store remembers, to fail calls on them at once.
_DELETED_REMEMBERED = 100_000
# Locks a document's creation on a task's call and its deletion take (by run).
_STRIPES = 64


class MissingDocument(enum.Enum):
    """What a call does on a run whose document is not there (StoreCore.on_document)."""

    WAIT = "wait"
    CREATE = "create"
    FAIL = "fail"


class StoreError(Exception):
    """Root of the store's domain errors."""


class InvalidArgumentError(StoreError):
    """The request itself is wrong: a bad run id, key or value."""


class InvalidKeyError(InvalidArgumentError):
    """A dotted key that cannot address a field."""


class InvalidValueError(InvalidArgumentError):
    """A value that cannot be stored: corrupt, missing, or refused by the backend."""


class RunNotFoundError(StoreError):
    """No document for this run (never created, or already deleted)."""


class ConflictError(StoreError):
    """The key exists but holds something the operation cannot work on."""


class NotAListError(ConflictError):
    """Push or extend onto a key holding a value that is not a list."""


class PathConflictError(ConflictError):
    """A key goes through a value that is not a document (e.g. "a.b" when "a" is 1)."""


class NotADocumentError(ConflictError):
    """Listing the keys of a key holding a value that is not a document."""


class NotANumberError(ConflictError):
    """Incrementing a key holding a value that is not a number."""


class NumberOverflowError(ConflictError):
    """An increment whose result leaves the 64-bit integer range."""


class MissingValueError(StoreError):
    """A large value's blob is gone although the document still refers to it."""


class _BlobGoneError(Exception):
    """A blob the document referred to when read was gone when fetched."""


class StoreUnavailableError(StoreError):
    """The backend cannot be reached now; the call may succeed later."""


class Section(enum.StrEnum):
    """The two parts of a run's document."""

    DATA = "data"  # what tasks store
    META = "meta"  # the run's provenance, written by the engine


@dataclass(frozen=True)
class Value:
    """An encoded value, as it travels: `encoding` says how `data` is to be read."""

    encoding: str
    data: bytes


def validate_key(key: str, run_id: str) -> list[str]:
    """The segments of a dotted key; raises InvalidKeyError naming what is wrong."""
    if len(key) > MAX_KEY_CHARS:
        raise InvalidKeyError(
            f"invalid key {key[:40]!r}... ({len(key)} characters) for run {run_id!r}:"
            f" a key has at most {MAX_KEY_CHARS} characters"
        )
    if key.count(".") >= MAX_KEY_SEGMENTS:
        raise InvalidKeyError(
            f"invalid key {key[:40]!r}... for run {run_id!r}: a key has at most"
            f" {MAX_KEY_SEGMENTS} segments"
        )
    if not key:
        problem = "it is empty"
    elif "\x00" in key:
        problem = "it contains a NUL character"
    elif any(not segment for segment in key.split(".")):
        problem = "it has an empty segment"
    elif any(segment.startswith("$") for segment in key.split(".")):
        problem = "a segment starts with '$'"
    elif WRAPPER_KEY in key.split("."):
        # The field marking a payload sub-document: a key naming it would turn the
        # document around it into a (broken) payload, or write into one.
        problem = f"the segment {WRAPPER_KEY!r} is reserved"
    else:
        return key.split(".")
    raise InvalidKeyError(f"invalid key {key!r} for run {run_id!r}: {problem}")


def _validate_run_id(run_id: str) -> None:
    if not run_id:
        raise InvalidArgumentError("the run id is empty")


class StoreCore:
    """The store's operations over a collection of run documents and their blobs."""

    def __init__(
        self,
        runs: RunsCollection,
        blobs: LargeValueStore,
        *,
        inline_limit: int = INLINE_LIMIT_BYTES,
        native_inline_limit: int = NATIVE_INLINE_LIMIT_BYTES,
        create_wait_s: float = 2.0,
        ended_runs: Callable[[str], bool] | None = None,
    ) -> None:
        """`ended_runs(run_id)`: whether a run ended as someone else remembers it (the blob
        folder, across restarts), besides the documents deleted since this start."""
        self._runs = runs
        # Runs whose document a call waits for, or that were created since this start.
        self._created: dict[str, threading.Event] = {}
        # Runs whose document was deleted since this start (the latest few): a call on one
        # fails at once rather than waiting for a creation that will not come.
        self._deleted: OrderedDict[str, None] = OrderedDict()
        self._created_lock = threading.Lock()
        # A run's document is created on a task's call, or deleted, under its stripe's lock.
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]
        self._create_wait_s = create_wait_s
        self._ended_runs = ended_runs
        self._blobs = blobs
        self._inline_limit = inline_limit
        self._native_inline_limit = max(native_inline_limit, inline_limit)

    def on_document(
        self, run_id: str, action: Callable[[], _T], missing: MissingDocument = MissingDocument.WAIT
    ) -> _T:
        """Runs a call on a run's document. When the document is not there, `missing` says
        what happens: WAIT (up to `create_wait_s`) for the creation a scheduler sent without
        waiting for it, CREATE it empty (a task's first call in a run without arguments), or
        FAIL at once; the call then runs again."""
        try:
            return action()
        except RunNotFoundError:
            if missing == MissingDocument.CREATE:
                self._create_for_live_run(run_id)
            elif missing == MissingDocument.FAIL or not self._wait_for_document(run_id):
                raise
            return action()
        except PathConflictError:
            # A write that found no document, and then one when it asked why (created in
            # between), reads as a path conflict. It changed nothing: once more tells.
            return action()

    def _create_for_live_run(self, run_id: str) -> None:
        """Creates a run's empty document, unless the run ended (its document was deleted):
        a late call of its task must not leave a document nobody removes. Checked and made
        under the run's stripe lock, which a deletion holds too."""
        with self._stripe(run_id):
            if self.was_deleted(run_id) or (self._ended_runs and self._ended_runs(run_id)):
                raise RunNotFoundError(f"run {run_id!r} ended: its store document was removed")
            self.create_document(run_id)

    def _stripe(self, run_id: str) -> threading.Lock:
        return self._stripes[hash(run_id) % len(self._stripes)]

    def _wait_for_document(self, run_id: str) -> bool:
        with self._created_lock:
            if run_id in self._deleted:
                return False
            created = self._created.setdefault(run_id, threading.Event())
        if created.wait(self._create_wait_s):
            return True
        with self._created_lock:  # an unknown run: forget it
            self._created.pop(run_id, None)
        return False

    def _announce_document(self, run_id: str) -> None:
        with self._created_lock:
            self._deleted.pop(run_id, None)
            created = self._created.setdefault(run_id, threading.Event())
        created.set()

    def was_deleted(self, run_id: str) -> bool:
        """Whether the run's document was deleted (since this start, the latest few): the
        run ended."""
        with self._created_lock:
            return run_id in self._deleted

    def document_exists(self, run_id: str) -> bool:
        """Whether the run has a document now."""
        try:
            self._require_document(run_id)
        except RunNotFoundError:
            return False
        return True

    def create_document(
        self, run_id: str, initial_data_bson: bytes = b"", initial_meta_bson: bytes = b""
    ) -> None:
        """Create the run's document; an existing one is left as it is."""
        _validate_run_id(run_id)
        try:
            data = bson.decode(initial_data_bson) if initial_data_bson else {}
            meta = bson.decode(initial_meta_bson) if initial_meta_bson else {}
        except (bson.errors.BSONError, ValueError) as err:
            raise InvalidValueError(
                f"the initial data of run {run_id!r} is not a BSON document: {err}"
            ) from err
        new_blobs: list[Any] = []
        if len(initial_data_bson) > self._inline_limit:
            for name, value in data.items():
                data[name] = self._externalize(run_id, name, value, new_blobs)
        try:
            outcome = self._backend(
                lambda: self._runs.update_one(
                    {"_id": run_id}, {"$setOnInsert": {"data": data, "meta": meta}}, upsert=True
                ),
                run_id=run_id,
                key=None,
                action="create the document of",
            )
        except StoreError:
            self._drop_blobs(run_id, new_blobs)
            raise
        if outcome.matched_count > 0:
            self._drop_blobs(run_id, new_blobs)  # the existing document stays as it was
        log.debug("document_created", run_id=run_id, existed=outcome.matched_count > 0)
        self._announce_document(run_id)

    def delete_document(self, run_id: str) -> None:
        """Remove the run's document and its blobs; a missing one is not an error."""
        _validate_run_id(run_id)
        with self._stripe(run_id):
            with self._created_lock:
                self._created.pop(run_id, None)
                self._deleted[run_id] = None
                while len(self._deleted) > _DELETED_REMEMBERED:
                    self._deleted.popitem(last=False)
            outcome = self._backend(
                lambda: self._runs.delete_one({"_id": run_id}),
                run_id=run_id,
                key=None,
                action="delete the document of",
            )
        self._backend(
            lambda: self._blobs.delete_run(run_id),
            run_id=run_id,
            key=None,
            action="delete the large values of",
        )
        log.debug("document_deleted", run_id=run_id, existed=outcome.deleted_count > 0)

    def get(self, run_id: str, key: str, section: Section = Section.DATA) -> Value | None:
        """The value at `key`, or None when the key is missing."""
        _validate_run_id(run_id)
        segments = validate_key(key, run_id)
        for _ in range(_READ_ATTEMPTS):
            found, node = self._read(run_id, key, section, segments)
            if not found:
                return None
            try:
                return self._value_of(run_id, node)
            except _BlobGoneError:
                continue  # replaced between the two reads: read the new value
        raise MissingValueError(f"the large value of {key!r} in run {run_id!r} is missing")

    def exists(self, run_id: str, key: str, section: Section = Section.DATA) -> bool:
        """Whether `key` holds a value (a null included)."""
        _validate_run_id(run_id)
        segments = validate_key(key, run_id)
        found, _ = self._read(run_id, key, section, segments)
        return found

    def list_keys(
        self, run_id: str, prefix: str, section: Section = Section.DATA, *, recursive: bool = False
    ) -> list[str] | None:
        """The full dotted keys of the direct children of `prefix` (the section when empty),
        or of every leaf below it when `recursive`; None when `prefix` is missing."""
        _validate_run_id(run_id)
        segments = validate_key(prefix, run_id) if prefix else []
        found, node = self._read(run_id, prefix or None, section, segments)
        if not found:
            return None
        if not is_document(node):
            raise NotADocumentError(
                f"cannot list the keys of {prefix!r} in run {run_id!r}: the key holds a value "
                "that is not a document"
            )
        return collect_keys(node, prefix, recursive=recursive)

    def get_document(self, run_id: str, section: Section = Section.DATA) -> bytes:
        """A section of the run's document as BSON, large values resolved."""
        _validate_run_id(run_id)
        for _ in range(_READ_ATTEMPTS):
            found, node = self._read(run_id, None, section, [])
            try:
                resolved = self._resolve(run_id, node if found else {})
            except _BlobGoneError:
                continue
            if not isinstance(resolved, Mapping):
                raise InvalidValueError(f"the {section.value} section of run {run_id!r} is broken")
            return bson.encode(resolved)
        raise MissingValueError(f"a large value in run {run_id!r} is missing")

    def set(
        self,
        run_id: str,
        key: str,
        value: Value,
        section: Section = Section.DATA,
        *,
        request_id: str = "",
    ) -> None:
        """Set the value at `key`, creating the path."""
        self.set_many(run_id, [(key, value)], section, request_id=request_id)

    def set_many(
        self,
        run_id: str,
        items: list[tuple[str, Value]],
        section: Section = Section.DATA,
        *,
        request_id: str = "",
    ) -> None:
        """Set several keys in one write: all of them, or none on an error. A `request_id`
        applied before (a retry) changes nothing (see RunsCollection.update_one)."""
        _validate_run_id(run_id)
        if not items:
            self._require_document(run_id)
            return
        keys = [key for key, _ in items]
        segments = [validate_key(key, run_id) for key in keys]
        for key in keys:
            clash = next((o for o in keys if o != key and o.startswith(f"{key}.")), None)
            if clash is not None or keys.count(key) > 1:
                raise InvalidKeyError(
                    f"cannot set {key!r} and {clash or key!r} of run {run_id!r} in one write"
                )
        new_blobs: list[Any] = []
        stored = {
            f"{section.value}.{key}": self._to_stored(value, run_id, key, new_blobs)
            for key, value in items
        }
        target: dict[str, Any] = {}
        projection: dict[str, int] = {}
        for parts in segments:
            target.update(_target(run_id, section, parts))
            projection.update(_projection(section, parts))
        try:
            before = self._backend(
                lambda: self._runs.find_one_and_update(
                    target,
                    {"$set": stored},
                    projection,
                    return_after=False,
                    request_id=request_id,
                ),
                run_id=run_id,
                key=keys[0],
                action="set",
            )
        except StoreError:
            self._drop_blobs(run_id, new_blobs)
            raise
        if before is None:
            self._drop_blobs(run_id, new_blobs)
            if self._applied(run_id, request_id):
                return
            self._explain_no_match(run_id, keys[0], "set")
        for parts in segments:
            found, old = _navigate(before, section, parts)
            if found:
                self._drop_blobs(run_id, _blob_refs(old))

    def push(
        self,
        run_id: str,
        key: str,
        value: Value,
        section: Section = Section.DATA,
        *,
        request_id: str = "",
    ) -> None:
        """Append a value to the list at `key`, creating the list when missing; once per
        `request_id`."""
        _validate_run_id(run_id)
        validate_key(key, run_id)
        new_blobs: list[Any] = []
        stored = self._to_stored(value, run_id, key, new_blobs)
        self._update(
            run_id,
            key,
            section,
            operator="$push",
            operand=stored,
            action="push to",
            new_blobs=new_blobs,
            request_id=request_id,
        )

    def extend(
        self,
        run_id: str,
        key: str,
        values: Sequence[Value],
        section: Section = Section.DATA,
        *,
        request_id: str = "",
    ) -> None:
        """Append each value, in order, to the list at `key`, creating it when missing; once
        per `request_id`."""
        _validate_run_id(run_id)
        validate_key(key, run_id)
        new_blobs: list[Any] = []
        try:
            stored = [self._to_stored(value, run_id, key, new_blobs) for value in values]
        except StoreError:
            self._drop_blobs(run_id, new_blobs)
            raise
        self._update(
            run_id,
            key,
            section,
            operator="$push",
            operand={"$each": stored},
            action="extend",
            new_blobs=new_blobs,
            request_id=request_id,
        )

    def increment(
        self,
        run_id: str,
        key: str,
        amount: int | float,
        section: Section = Section.DATA,
        *,
        request_id: str = "",
    ) -> int | float:
        """Add `amount` to the number at `key` (0 when missing) atomically; the new value.
        Once per `request_id`: a retry of an applied increment returns the value now."""
        _validate_run_id(run_id)
        segments = validate_key(key, run_id)
        path = f"{section.value}.{key}"
        after = self._backend(
            lambda: self._runs.find_one_and_update(
                _target(run_id, section, segments),
                {"$inc": {path: amount}},
                _projection(section, segments),
                return_after=True,
                request_id=request_id,
            ),
            run_id=run_id,
            key=key,
            action="increment",
        )
        if after is None:
            if not self._applied(run_id, request_id):
                self._explain_no_match(run_id, key, "increment")
            found, node = self._read(run_id, key, section, segments)
        else:
            found, node = _navigate(after, section, segments)
        if isinstance(node, Decimal128):
            return float(node.to_decimal())
        if not found or isinstance(node, bool) or not isinstance(node, int | float):
            raise StoreError(f"increment of {key!r} in run {run_id!r} left {node!r}")
        return node if isinstance(node, float) else int(node)

    def delete(self, run_id: str, key: str, section: Section = Section.DATA) -> None:
        """Remove `key`; a missing key is not an error."""
        _validate_run_id(run_id)
        segments = validate_key(key, run_id)
        path = f"{section.value}.{key}"
        # Match the key's existence too: montydb's $unset creates the missing parents of a
        # missing key as empty documents.
        before = self._backend(
            lambda: self._runs.find_one_and_update(
                {**_target(run_id, section, segments), path: {"$exists": True}},
                {"$unset": {path: ""}},
                _projection(section, segments),
                return_after=False,
            ),
            run_id=run_id,
            key=key,
            action="delete",
        )
        if before is None:
            self._require_document(run_id)
            return
        found, old = _navigate(before, section, segments)
        if found:
            self._drop_blobs(run_id, _blob_refs(old))

    def _read(
        self, run_id: str, key: str | None, section: Section, segments: list[str]
    ) -> tuple[bool, Any]:
        """(found, the stored value at the key) of the run's document."""
        document = self._backend(
            lambda: self._runs.find_one({"_id": run_id}, _projection(section, segments)),
            run_id=run_id,
            key=key,
            action="read",
        )
        if document is None:
            raise RunNotFoundError(f"run {run_id!r} has no store document")
        return _navigate(document, section, segments)

    def _update(
        self,
        run_id: str,
        key: str,
        section: Section,
        *,
        operator: str,
        operand: Any,
        action: str,
        new_blobs: list[Any],
        request_id: str = "",
    ) -> None:
        path = f"{section.value}.{key}"
        target = _target(run_id, section, key.split("."))
        try:
            outcome = self._backend(
                lambda: self._runs.update_one(
                    target, {operator: {path: operand}}, request_id=request_id
                ),
                run_id=run_id,
                key=key,
                action=action,
                expects_list=True,
            )
            if outcome.matched_count == 0:
                if self._applied(run_id, request_id):
                    self._drop_blobs(run_id, new_blobs)
                    return
                self._explain_no_match(run_id, key, action)
        except StoreError:
            self._drop_blobs(run_id, new_blobs)
            raise

    def applied(self, run_id: str, request_id: str) -> bool:
        """Whether the write `request_id` was applied to the run's document already."""
        _validate_run_id(run_id)
        return self._applied(run_id, request_id)

    def _applied(self, run_id: str, request_id: str) -> bool:
        """Whether the write `request_id` was applied to the run's document already."""
        if not request_id:
            return False
        applied: bool = self._backend(
            lambda: self._runs.applied(run_id, request_id),
            run_id=run_id,
            key=None,
            action="read",
        )
        return applied

    def _explain_no_match(self, run_id: str, key: str, action: str) -> NoReturn:
        """Raise why a write matched no document: there is none, or the key goes through a
        wrapped value (see `_target`)."""
        self._require_document(run_id)
        raise PathConflictError(
            f"cannot {action} {key!r} in run {run_id!r}: part of the key holds a value that is "
            "not a document"
        )

    def _require_document(self, run_id: str) -> None:
        document = self._backend(
            lambda: self._runs.find_one({"_id": run_id}, {"_id": 1}),
            run_id=run_id,
            key=None,
            action="read",
        )
        if document is None:
            raise RunNotFoundError(f"run {run_id!r} has no store document")

    def _to_stored(self, value: Value, run_id: str, key: str, new_blobs: list[Any]) -> Any:
        """What the document holds for a value: the value itself for BSON, else a wrapper;
        a reference in place of either when it is too large. New blob ids go to `new_blobs`."""
        if value.encoding == ENCODING_BSON:
            try:
                document = bson.decode(value.data)
            except (bson.errors.BSONError, ValueError) as err:
                raise InvalidValueError(
                    f"the value for {key!r} in run {run_id!r} is not valid BSON: {err}"
                ) from err
            if BSON_FIELD not in document:
                raise InvalidValueError(
                    f"the BSON value for {key!r} in run {run_id!r} has no {BSON_FIELD!r} field"
                )
            if len(value.data) > self._native_inline_limit:
                return self._reference(
                    run_id, key, {WRAPPER_KEY: ENCODING_BSON}, value.data, new_blobs
                )
            return document[BSON_FIELD]
        if not value.encoding:
            raise InvalidValueError(f"no value given for {key!r} in run {run_id!r}")
        try:
            wrapper = wrap(value.encoding, value.data)
        except ValueDecodingError as err:
            raise InvalidValueError(
                f"the {value.encoding} value for {key!r} in run {run_id!r} is invalid: {err}"
            ) from err
        return self._externalize(run_id, key, wrapper, new_blobs)

    def _externalize(self, run_id: str, key: str, stored: Any, new_blobs: list[Any]) -> Any:
        """`stored`, or a reference to a blob holding its bytes when they are too large."""
        if type(stored) is dict and isinstance(stored.get(WRAPPER_KEY), str):
            data = stored.get(WRAPPER_DATA_KEY)
            if isinstance(data, bytes) and len(data) > self._inline_limit:
                fields = {name: item for name, item in stored.items() if name != WRAPPER_DATA_KEY}
                return self._reference(run_id, key, fields, bytes(data), new_blobs)
            return stored
        encoded = bson.encode({BSON_FIELD: stored})
        if len(encoded) > self._native_inline_limit:
            return self._reference(run_id, key, {WRAPPER_KEY: ENCODING_BSON}, encoded, new_blobs)
        return stored

    def _reference(
        self, run_id: str, key: str, fields: dict[str, Any], data: bytes, new_blobs: list[Any]
    ) -> dict[str, Any]:
        blob_id = self._backend(
            lambda: self._blobs.put(run_id, data), run_id=run_id, key=key, action="store"
        )
        new_blobs.append(blob_id)
        return {**fields, REF_KEY: blob_id, REF_SIZE_KEY: len(data)}

    def _value_of(self, run_id: str, node: Any) -> Value:
        """The payload of a stored value, its blobs fetched."""
        if _is_reference(node) and node[WRAPPER_KEY] == ENCODING_BSON:
            return Value(ENCODING_BSON, self._fetch(run_id, node))  # the payload as it came
        resolved = self._resolve(run_id, node)
        wrapped = as_wrapper(resolved)
        if wrapped is not None:
            return Value(*wrapped)
        return Value(ENCODING_BSON, bson.encode({BSON_FIELD: resolved}))

    def _resolve(self, run_id: str, node: Any) -> Any:
        """`node` with every reference replaced by what it refers to: a BSON value inline, a
        wrapper with its bytes back. Raises _BlobGoneError when a blob is missing."""
        if _is_reference(node):
            data = self._fetch(run_id, node)
            if node[WRAPPER_KEY] == ENCODING_BSON:
                return bson.decode(data)[BSON_FIELD]
            fields = {name: item for name, item in node.items() if name not in _REF_FIELDS}
            return {**fields, WRAPPER_DATA_KEY: Binary(data)}
        if isinstance(node, Mapping):
            if WRAPPER_KEY in node:
                return node
            return {name: self._resolve(run_id, item) for name, item in node.items()}
        if isinstance(node, list):
            return [self._resolve(run_id, item) for item in node]
        return node

    def _fetch(self, run_id: str, reference: Mapping[str, Any]) -> bytes:
        data = self._backend(
            lambda: self._blobs.get(run_id, reference[REF_KEY]),
            run_id=run_id,
            key=None,
            action="read a large value of",
        )
        if data is None:
            raise _BlobGoneError
        return data

    def _drop_blobs(self, run_id: str, blob_ids: list[Any]) -> None:
        """Remove blobs no document refers to any more. A failure leaves them to the removal
        of the run's document: the call that changed the document succeeded."""
        if not blob_ids:
            return
        try:
            self._blobs.delete(run_id, blob_ids)
        except Exception:  # any failure: the blobs stay until the document goes
            log.warning("blob_delete_failed", run_id=run_id, count=len(blob_ids), exc_info=True)

    @staticmethod
    def _backend(
        call: Callable[[], _T],
        *,
        run_id: str,
        key: str | None,
        action: str,
        expects_list: bool = False,
    ) -> _T:
        """Run one backend call, turning backend errors into domain errors that name the
        key and the run."""
        target = f"{key!r} in run {run_id!r}" if key is not None else f"run {run_id!r}"
        try:
            return call()
        except BackendUnavailableError as err:
            raise StoreUnavailableError(f"cannot {action} {target}: {err}") from err
        except BackendWriteError as err:
            if err.code == CODE_BAD_VALUE and expects_list:
                raise NotAListError(
                    f"cannot {action} {target}: the key holds a value that is not a list"
                ) from err
            if err.code == CODE_TYPE_MISMATCH and action == "increment":
                raise NotANumberError(
                    f"cannot {action} {target}: the key holds a value that is not a number"
                ) from err
            if err.code in (CODE_OVERFLOW, CODE_BAD_VALUE) and action == "increment":
                raise NumberOverflowError(
                    f"cannot {action} {target}: the result does not fit in a 64-bit integer"
                ) from err
            if err.code == CODE_PATH_NOT_VIABLE:
                raise PathConflictError(
                    f"cannot {action} {target}: part of the key holds a value that is not a "
                    "document"
                ) from err
            raise InvalidValueError(f"cannot {action} {target}: {err.message}") from err


_REF_FIELDS = frozenset({REF_KEY, REF_SIZE_KEY})


def _is_reference(node: Any) -> bool:
    return (
        isinstance(node, Mapping)
        and isinstance(node.get(WRAPPER_KEY), str)
        and REF_KEY in node
        and WRAPPER_DATA_KEY not in node
    )


def _blob_refs(node: Any) -> list[Any]:
    """The blob ids referred to anywhere in a stored value."""
    if _is_reference(node):
        return [node[REF_KEY]]
    if isinstance(node, Mapping):
        return [ref for item in node.values() for ref in _blob_refs(item)]
    if isinstance(node, list):
        return [ref for item in node for ref in _blob_refs(item)]
    return []


def _projection(section: Section, segments: list[str]) -> dict[str, int]:
    """The fields to read for a key: down to its first list index (a projection does not
    index arrays), and the wrapper marker of each parent, so that `_navigate` can tell a
    wrapped value (whose fields are no keys) from a document."""
    prefix: list[str] = []
    for segment in segments:
        if _is_index(segment):
            break
        prefix.append(segment)
    fields = {".".join([section.value, *prefix]): 1}
    for length in range(1, len(prefix)):
        fields[".".join([section.value, *prefix[:length], WRAPPER_KEY])] = 1
    return fields


def _target(run_id: str, section: Section, segments: list[str]) -> dict[str, Any]:
    """The filter of a write to a key: the run's document, as long as no parent of the key (up
    to its first list index) is a wrapped value. MongoDB would write into a wrapper as into any
    sub-document, and corrupt the value it holds."""
    target: dict[str, Any] = {"_id": run_id}
    for length in range(1, len(segments)):
        if _is_index(segments[length - 1]):
            break
        parent = ".".join([section.value, *segments[:length]])
        target[f"{parent}.{WRAPPER_KEY}"] = {"$exists": False}
    return target


def _navigate(
    document: Mapping[str, Any], section: Section, segments: list[str]
) -> tuple[bool, Any]:
    """(found, the value at the key's segments) in a document read with `_projection`."""
    node: Any = document.get(section.value, {})
    for segment in segments:
        if isinstance(node, Mapping) and WRAPPER_KEY not in node and segment in node:
            node = node[segment]
        elif isinstance(node, list) and _is_index(segment) and int(segment) < len(node):
            node = node[int(segment)]
        else:
            return False, None
    return True, node


def _is_index(segment: str) -> bool:
    return segment.isascii() and segment.isdigit()
