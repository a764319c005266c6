"""The store's logic: one document per run, `{_id: run_id, data: {...}, meta: {...}}`,
addressed by dotted keys. Knows nothing of gRPC.

Every operation is a single pymongo-style call on one document, so it is atomic in MongoDB
and under the embedded backend's per-run lock: a refused write changes nothing.

BSON values are kept natively (readable from the mongo shell and any language); any other
encoding is kept as a wrapper sub-document of opaque bytes, never decoded here: the store does
not run user pickles.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import bson
import bson.errors
import structlog

from lightflow._codec import ENCODING_BSON, as_wrapper, wrap
from lightflow_store.backends import (
    CODE_BAD_VALUE,
    CODE_PATH_NOT_VIABLE,
    BackendUnavailableError,
    BackendWriteError,
    RunsCollection,
)

log = structlog.get_logger(__name__)

_T = TypeVar("_T")
_BSON_FIELD = "v"


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
    if not key:
        problem = "it is empty"
    elif "\x00" in key:
        problem = "it contains a NUL character"
    elif any(not segment for segment in key.split(".")):
        problem = "it has an empty segment"
    elif any(segment.startswith("$") for segment in key.split(".")):
        problem = "a segment starts with '$'"
    else:
        return key.split(".")
    raise InvalidKeyError(f"invalid key {key!r} for run {run_id!r}: {problem}")


def _validate_run_id(run_id: str) -> None:
    if not run_id:
        raise InvalidArgumentError("the run id is empty")


class StoreCore:
    """The store's operations over a collection of run documents."""

    def __init__(self, runs: RunsCollection) -> None:
        self._runs = runs

    def create_document(self, run_id: str, initial_data_bson: bytes = b"") -> None:
        """Create the run's document; an existing one is left as it is."""
        _validate_run_id(run_id)
        try:
            data = bson.decode(initial_data_bson) if initial_data_bson else {}
        except (bson.errors.BSONError, ValueError) as err:
            raise InvalidValueError(
                f"the initial data of run {run_id!r} is not a BSON document: {err}"
            ) from err
        outcome = self._backend(
            lambda: self._runs.update_one(
                {"_id": run_id}, {"$setOnInsert": {"data": data, "meta": {}}}, upsert=True
            ),
            run_id=run_id,
            key=None,
            action="create the document of",
        )
        log.info("document_created", run_id=run_id, existed=outcome.matched_count > 0)

    def delete_document(self, run_id: str) -> None:
        """Remove the run's document; a missing one is not an error."""
        _validate_run_id(run_id)
        outcome = self._backend(
            lambda: self._runs.delete_one({"_id": run_id}),
            run_id=run_id,
            key=None,
            action="delete the document of",
        )
        log.info("document_deleted", run_id=run_id, existed=outcome.deleted_count > 0)

    def get(self, run_id: str, key: str, section: Section = Section.DATA) -> Value | None:
        """The value at `key`, or None when the key is missing."""
        _validate_run_id(run_id)
        segments = validate_key(key, run_id)
        # Project only down to the first list index: a projection does not index arrays.
        prefix: list[str] = []
        for segment in segments:
            if _is_index(segment):
                break
            prefix.append(segment)
        projection = {".".join([section.value, *prefix]): 1}
        document = self._backend(
            lambda: self._runs.find_one({"_id": run_id}, projection),
            run_id=run_id,
            key=key,
            action="read",
        )
        if document is None:
            raise RunNotFoundError(f"run {run_id!r} has no store document")
        node: Any = document.get(section.value, {})
        for segment in segments:
            if isinstance(node, Mapping) and segment in node:
                node = node[segment]
            elif isinstance(node, list) and _is_index(segment) and int(segment) < len(node):
                node = node[int(segment)]
            else:
                return None
        return _from_stored(node)

    def set(self, run_id: str, key: str, value: Value, section: Section = Section.DATA) -> None:
        """Set the value at `key`, creating the path."""
        stored = _to_stored(value, run_id, key)
        self._update(run_id, key, section, operator="$set", operand=stored, action="set")

    def push(self, run_id: str, key: str, value: Value, section: Section = Section.DATA) -> None:
        """Append a value to the list at `key`, creating the list when missing."""
        stored = _to_stored(value, run_id, key)
        self._update(
            run_id,
            key,
            section,
            operator="$push",
            operand=stored,
            action="push to",
            expects_list=True,
        )

    def extend(
        self, run_id: str, key: str, values: Sequence[Value], section: Section = Section.DATA
    ) -> None:
        """Append each value, in order, to the list at `key`, creating it when missing."""
        stored = [_to_stored(value, run_id, key) for value in values]
        self._update(
            run_id,
            key,
            section,
            operator="$push",
            operand={"$each": stored},
            action="extend",
            expects_list=True,
        )

    def delete(self, run_id: str, key: str, section: Section = Section.DATA) -> None:
        """Remove `key`; a missing key is not an error."""
        _validate_run_id(run_id)
        validate_key(key, run_id)
        path = f"{section.value}.{key}"
        # Match the key's existence too: montydb's $unset creates the missing parents of a
        # missing key as empty documents.
        outcome = self._backend(
            lambda: self._runs.update_one(
                {"_id": run_id, path: {"$exists": True}}, {"$unset": {path: ""}}
            ),
            run_id=run_id,
            key=key,
            action="delete",
        )
        if outcome.matched_count == 0:
            self._require_document(run_id)

    def _update(
        self,
        run_id: str,
        key: str,
        section: Section,
        *,
        operator: str,
        operand: Any,
        action: str,
        expects_list: bool = False,
    ) -> None:
        _validate_run_id(run_id)
        validate_key(key, run_id)
        path = f"{section.value}.{key}"
        outcome = self._backend(
            lambda: self._runs.update_one({"_id": run_id}, {operator: {path: operand}}),
            run_id=run_id,
            key=key,
            action=action,
            expects_list=expects_list,
        )
        if outcome.matched_count == 0:
            raise RunNotFoundError(f"run {run_id!r} has no store document")

    def _require_document(self, run_id: str) -> None:
        document = self._backend(
            lambda: self._runs.find_one({"_id": run_id}, {"_id": 1}),
            run_id=run_id,
            key=None,
            action="read",
        )
        if document is None:
            raise RunNotFoundError(f"run {run_id!r} has no store document")

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
            if err.code == CODE_PATH_NOT_VIABLE:
                raise PathConflictError(
                    f"cannot {action} {target}: part of the key holds a value that is not a "
                    "document"
                ) from err
            raise InvalidValueError(f"cannot {action} {target}: {err.message}") from err


def _is_index(segment: str) -> bool:
    return segment.isascii() and segment.isdigit()


def _to_stored(value: Value, run_id: str, key: str) -> Any:
    """What the document holds for a value: the value itself for BSON, else a wrapper."""
    if value.encoding == ENCODING_BSON:
        try:
            document = bson.decode(value.data)
        except (bson.errors.BSONError, ValueError) as err:
            raise InvalidValueError(
                f"the value for {key!r} in run {run_id!r} is not valid BSON: {err}"
            ) from err
        if _BSON_FIELD not in document:
            raise InvalidValueError(
                f"the BSON value for {key!r} in run {run_id!r} has no {_BSON_FIELD!r} field"
            )
        return document[_BSON_FIELD]
    if not value.encoding:
        raise InvalidValueError(f"no value given for {key!r} in run {run_id!r}")
    return wrap(value.encoding, value.data)


def _from_stored(stored: Any) -> Value:
    wrapped = as_wrapper(stored)
    if wrapped is not None:
        return Value(*wrapped)
    return Value(ENCODING_BSON, bson.encode({_BSON_FIELD: stored}))
