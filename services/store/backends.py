"""Where run documents live: MongoDB, or montydb embedded in the process.

Both sit behind `RunsCollection`, the few pymongo collection calls the core issues, and
`BlobStore`, where values too large for a document go (GridFS on MongoDB; files in the data
folder, or memory, for the embedded store). The adapters turn each library's errors into
`BackendWriteError` / `BackendUnavailableError`, so the core has one code path and never
imports pymongo or montydb.

The embedded store is montydb on its sqlite engine, with one collection (one sqlite file)
per run, reached through striped locks that each own a montydb client:
- montydb has no `_id` index: every find/update decodes every document of the collection, so a
  collection shared by all runs would make each call cost the data of all live runs;
- montydb's sqlite engine keeps one connection per client in a plain attribute, so a client
  used from two threads at once fails even on different documents; and `update_one` reads,
  changes and rewrites the whole document, so two writers to one run would lose an update.
  A lock per stripe (by hash of the run id) with a client of its own fixes both, and runs on
  different stripes never wait for each other;
- sqlite writes a row per update (WAL journal) and survives a crash mid-write; the flatfile
  engine rewrites the whole file on every change and loses everything when killed while
  writing.

Large values of the embedded store are files (`<data_dir>/large-values/<run digest>/<blob id>`)
rather than chunk documents in montydb: without an index a chunk lookup would decode every
chunk of the run, and each montydb write re-encodes a whole document.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import bson.errors
import gridfs
import gridfs.errors
import montydb
import montydb.errors
import pymongo
import pymongo.errors
import structlog

from lightflow_store.config import StoreConfig

log = structlog.get_logger(__name__)

# MongoDB error codes the core gives a meaning to (montydb uses the same).
CODE_BAD_VALUE = 2  # e.g. $push onto a field that is not an array
CODE_PATH_NOT_VIABLE = 28  # a path goes through a value that is not a document
CODE_INVALID_DOCUMENT = 0  # refused before reaching the server (too large, unencodable)
CODE_TYPE_MISMATCH = 14  # e.g. $inc of a field that is not a number
CODE_OVERFLOW = -1  # ours: a number left the int64 range (montydb raises OverflowError)

_STRIPES = 64
_MONGODB_TIMEOUT_MS = 5_000
_PROBE_COLLECTION = "__lightflow_probe__"
# Under the data folder: the large values of documents (not the task-data blobs of BlobService).
LARGE_VALUES_FOLDER = "large-values"


class BackendError(Exception):
    """Root of the errors a backend raises on behalf of its library."""


class BackendWriteError(BackendError):
    """The backend refused a write; nothing was changed."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class BackendUnavailableError(BackendError):
    """The backend cannot be reached now; the call may succeed later."""


class UpdateOutcome(Protocol):
    @property
    def matched_count(self) -> int: ...


class DeleteOutcome(Protocol):
    @property
    def deleted_count(self) -> int: ...


class RunsCollection(Protocol):
    """The pymongo collection calls the core issues. Every filter names one run by `_id`."""

    def find_one(
        self, filter: Mapping[str, Any], projection: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any] | None: ...

    def update_one(
        self, filter: Mapping[str, Any], update: Mapping[str, Any], upsert: bool = False
    ) -> UpdateOutcome: ...

    def find_one_and_update(
        self,
        filter: Mapping[str, Any],
        update: Mapping[str, Any],
        projection: Mapping[str, Any],
        *,
        return_after: bool,
    ) -> Mapping[str, Any] | None:
        """Update one document atomically; the document (projected) before or after the
        update, None when no document matched."""
        ...

    def delete_one(self, filter: Mapping[str, Any]) -> DeleteOutcome: ...

    def ping(self) -> bool:
        """Whether the backend is reachable (the health status)."""
        ...

    def close(self) -> None: ...


class BlobStore(Protocol):
    """Where values too large for a document live, each under a BSON-native id, grouped by
    run so a run's blobs go with its document."""

    def put(self, run_id: str, data: bytes) -> Any:
        """Store `data`; returns its id."""
        ...

    def get(self, run_id: str, blob_id: Any) -> bytes | None:
        """The data of a blob; None when it is gone."""
        ...

    def delete(self, run_id: str, blob_ids: Iterable[Any]) -> None:
        """Remove blobs; missing ones are not an error."""
        ...

    def delete_run(self, run_id: str) -> None:
        """Remove every blob of a run."""
        ...


@dataclass(frozen=True)
class Backend:
    """The documents and the blobs of one database."""

    runs: RunsCollection
    blobs: BlobStore

    def ping(self) -> bool:
        return self.runs.ping()

    def close(self) -> None:
        self.runs.close()


def open_backend(config: StoreConfig) -> Backend:
    """MongoDB when `config.mongodb_uri` is set, else the embedded store: in `data_dir`,
    or in memory when that is None."""
    if config.mongodb_uri:
        mongo = MongoRuns(config.mongodb_uri, config.database, config.collection)
        return Backend(mongo, mongo.blobs)
    embedded = EmbeddedRuns(config.data_dir, config.database, config.collection)
    blobs: BlobStore = (
        MemoryBlobs()
        if config.data_dir is None
        else FileBlobs(config.data_dir / LARGE_VALUES_FOLDER)
    )
    return Backend(embedded, blobs)


class MongoRuns:
    """A pymongo collection, with pymongo's errors turned into backend errors."""

    def __init__(self, uri: str, database: str, collection: str) -> None:
        # connect=False: the first call (the health probe) connects; start-up never blocks.
        self._client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            uri,
            connect=False,
            serverSelectionTimeoutMS=_MONGODB_TIMEOUT_MS,
            tz_aware=False,
        )
        self._collection = self._client[database][collection]
        self.blobs = GridFSBlobs(self._client[database], f"{collection}_blobs")
        log.info("backend_opened", backend="mongodb", database=database, collection=collection)

    def find_one(
        self, filter: Mapping[str, Any], projection: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any] | None:
        with _mongo_errors():
            return self._collection.find_one(filter, projection)

    def update_one(
        self, filter: Mapping[str, Any], update: Mapping[str, Any], upsert: bool = False
    ) -> UpdateOutcome:
        with _mongo_errors():
            return self._collection.update_one(filter, update, upsert=upsert)

    def find_one_and_update(
        self,
        filter: Mapping[str, Any],
        update: Mapping[str, Any],
        projection: Mapping[str, Any],
        *,
        return_after: bool,
    ) -> Mapping[str, Any] | None:
        with _mongo_errors():
            return self._collection.find_one_and_update(
                filter,
                update,
                projection,
                return_document=(
                    pymongo.ReturnDocument.AFTER if return_after else pymongo.ReturnDocument.BEFORE
                ),
            )

    def delete_one(self, filter: Mapping[str, Any]) -> DeleteOutcome:
        with _mongo_errors():
            return self._collection.delete_one(filter)

    def ping(self) -> bool:
        try:
            self._client.admin.command("ping")
        except pymongo.errors.PyMongoError:
            return False
        return True

    def close(self) -> None:
        self._client.close()


@contextlib.contextmanager
def _mongo_errors() -> Iterator[None]:
    try:
        yield
    except (pymongo.errors.ConnectionFailure, pymongo.errors.ExecutionTimeout) as err:
        # pymongo's message carries the whole topology description: log it, send a short one.
        log.warning("mongodb_unavailable", error=str(err))
        raise BackendUnavailableError(f"MongoDB is unavailable ({type(err).__name__})") from err
    except pymongo.errors.OperationFailure as err:
        details = err.details or {}
        raise BackendWriteError(err.code or 0, str(details.get("errmsg", err))) from err
    except bson.errors.InvalidDocument as err:  # includes DocumentTooLarge
        raise BackendWriteError(CODE_INVALID_DOCUMENT, str(err)) from err
    except OverflowError as err:
        raise BackendWriteError(CODE_OVERFLOW, str(err)) from err


class GridFSBlobs:
    """Blobs in a GridFS bucket of the runs' database; each file's metadata names its run.

    A file is referenced by a document only once it is wholly written, so a reader never sees
    a partial one."""

    def __init__(self, database: Any, bucket: str) -> None:
        self._database = database
        self._bucket_name = bucket
        self._bucket = gridfs.GridFSBucket(database, bucket_name=bucket)
        self._indexed = False

    def _ensure_index(self) -> None:
        # Not at start-up: that would connect before the first call (see MongoRuns).
        if not self._indexed:
            self._database[f"{self._bucket_name}.files"].create_index("metadata.run_id")
            self._indexed = True

    def put(self, run_id: str, data: bytes) -> Any:
        with _mongo_errors():
            self._ensure_index()
            return self._bucket.upload_from_stream(
                "value", data, metadata={"run_id": run_id, "size": len(data)}
            )

    def get(self, run_id: str, blob_id: Any) -> bytes | None:
        with _mongo_errors():
            try:
                stream = self._bucket.open_download_stream(blob_id)
            except gridfs.errors.NoFile:
                return None
            try:
                data: bytes = stream.read()
            finally:
                stream.close()
            return data

    def delete(self, run_id: str, blob_ids: Iterable[Any]) -> None:
        with _mongo_errors():
            for blob_id in blob_ids:
                with contextlib.suppress(gridfs.errors.NoFile):
                    self._bucket.delete(blob_id)

    def delete_run(self, run_id: str) -> None:
        with _mongo_errors():
            for file in self._bucket.find({"metadata.run_id": run_id}):
                with contextlib.suppress(gridfs.errors.NoFile):
                    self._bucket.delete(file._id)


def _blob_id(blob_id: Any) -> str:
    """A blob id of the embedded stores, checked: it becomes a file name."""
    if not isinstance(blob_id, str) or len(blob_id) != 32 or not blob_id.isalnum():
        raise BackendWriteError(CODE_INVALID_DOCUMENT, f"invalid blob id {blob_id!r}")
    return blob_id


class MemoryBlobs:
    """Blobs of the in-memory embedded store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, dict[str, bytes]] = {}

    def put(self, run_id: str, data: bytes) -> Any:
        blob_id = uuid.uuid4().hex
        with self._lock:
            self._runs.setdefault(run_id, {})[blob_id] = bytes(data)
        return blob_id

    def get(self, run_id: str, blob_id: Any) -> bytes | None:
        with self._lock:
            return self._runs.get(run_id, {}).get(_blob_id(blob_id))

    def delete(self, run_id: str, blob_ids: Iterable[Any]) -> None:
        with self._lock:
            blobs = self._runs.get(run_id, {})
            for blob_id in blob_ids:
                blobs.pop(_blob_id(blob_id), None)

    def delete_run(self, run_id: str) -> None:
        with self._lock:
            self._runs.pop(run_id, None)


class FileBlobs:
    """Blobs of the embedded store: one file each, in a folder per run.

    A blob is written to a temporary file, flushed to disk and renamed into place before any
    document refers to it, so a crash leaves no half-written blob behind a reference."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def _run_folder(self, run_id: str) -> Path:
        return self._folder / hashlib.sha256(run_id.encode()).hexdigest()[:40]

    def put(self, run_id: str, data: bytes) -> Any:
        blob_id = uuid.uuid4().hex
        folder = self._run_folder(run_id)
        try:
            folder.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, folder / blob_id)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as err:
            raise BackendUnavailableError(f"cannot write a large value: {err}") from err
        return blob_id

    def get(self, run_id: str, blob_id: Any) -> bytes | None:
        try:
            return (self._run_folder(run_id) / _blob_id(blob_id)).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise BackendUnavailableError(f"cannot read a large value: {err}") from err

    def delete(self, run_id: str, blob_ids: Iterable[Any]) -> None:
        for blob_id in blob_ids:
            (self._run_folder(run_id) / _blob_id(blob_id)).unlink(missing_ok=True)

    def delete_run(self, run_id: str) -> None:
        shutil.rmtree(self._run_folder(run_id), ignore_errors=True)


@dataclass
class _Stripe:
    lock: threading.Lock
    client: Any = None  # a montydb.MontyClient, made on first use


class EmbeddedRuns:
    """montydb, one collection per run, one client and lock per stripe (see module doc)."""

    def __init__(self, data_dir: Path | None, database: str, collection: str) -> None:
        self._database = database
        self._collection = collection
        self._data_dir = data_dir
        # use_bson: pymongo's bson keeps Binary, datetime and int64 exactly as MongoDB would.
        if data_dir is None:
            self._repository = ":memory:"
            montydb.set_storage(self._repository, storage="memory", use_bson=True)
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            self._repository = str(data_dir)
            montydb.set_storage(self._repository, storage="sqlite", use_bson=True)
        self._stripes = [_Stripe(threading.Lock()) for _ in range(_STRIPES)]
        # Creating the database folder is not safe against two first writers at once: make
        # it now, while there is only one thread.
        probe = self._new_client()[database]
        probe[_PROBE_COLLECTION].insert_one({})
        probe.drop_collection(_PROBE_COLLECTION)
        log.info(
            "backend_opened",
            backend="embedded",
            engine="memory" if data_dir is None else "sqlite",
            data_dir=self._repository,
            database=database,
        )

    def _new_client(self) -> Any:
        return montydb.MontyClient(self._repository)

    def _run_collection_name(self, run_id: str) -> str:
        # Run ids are free text; a digest makes a safe, fixed-length file name.
        digest = hashlib.sha256(run_id.encode()).hexdigest()[:40]
        return f"{self._collection}.{digest}"

    def _call(self, filter: Mapping[str, Any], action: Callable[[Any], Any]) -> Any:
        run_id = filter["_id"]
        stripe = self._stripes[zlib.crc32(run_id.encode()) % _STRIPES]
        with stripe.lock:
            if stripe.client is None:
                stripe.client = self._new_client()
            collection = stripe.client[self._database][self._run_collection_name(run_id)]
            try:
                return action(collection)
            except montydb.errors.OperationFailure as err:
                raise BackendWriteError(err.code or 0, str(err)) from err
            except bson.errors.InvalidDocument as err:
                raise BackendWriteError(CODE_INVALID_DOCUMENT, str(err)) from err
            except OverflowError as err:
                raise BackendWriteError(CODE_OVERFLOW, str(err)) from err

    def find_one(
        self, filter: Mapping[str, Any], projection: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any] | None:
        result: Mapping[str, Any] | None = self._call(
            filter, lambda collection: collection.find_one(filter, projection)
        )
        return result

    def update_one(
        self, filter: Mapping[str, Any], update: Mapping[str, Any], upsert: bool = False
    ) -> UpdateOutcome:
        def action(collection: Any) -> UpdateOutcome:
            _set_empty_documents_first(collection, filter, update)
            result: UpdateOutcome = collection.update_one(filter, update, upsert=upsert)
            return result

        result: UpdateOutcome = self._call(filter, action)
        return result

    def find_one_and_update(
        self,
        filter: Mapping[str, Any],
        update: Mapping[str, Any],
        projection: Mapping[str, Any],
        *,
        return_after: bool,
    ) -> Mapping[str, Any] | None:
        def action(collection: Any) -> Mapping[str, Any] | None:
            before = _set_empty_documents_first(collection, filter, update, projection)
            result: Mapping[str, Any] | None = collection.find_one_and_update(
                filter, update, projection, return_document=return_after
            )
            return result if return_after or before is None else before

        result: Mapping[str, Any] | None = self._call(filter, action)
        return result

    def delete_one(self, filter: Mapping[str, Any]) -> DeleteOutcome:
        def delete(collection: Any) -> DeleteOutcome:
            result: DeleteOutcome = collection.delete_one(filter)
            # The run's collection held only this document: free its file too.
            collection.database.drop_collection(collection.name)
            return result

        result: DeleteOutcome = self._call(filter, delete)
        return result

    def ping(self) -> bool:
        return self._data_dir is None or os.access(self._data_dir, os.W_OK)

    def close(self) -> None:
        for stripe in self._stripes:
            with stripe.lock:
                if stripe.client is not None:
                    stripe.client.close()
                    stripe.client = None


def _set_empty_documents_first(
    collection: Any,
    filter: Mapping[str, Any],
    update: Any,
    projection: Mapping[str, Any] | None = None,
) -> Mapping[str, Any] | None:
    """Work around montydb taking `$set: {path: {}}` of a missing field for no change (it
    reads a missing field as {}): set such fields to null first, in the same locked call, so
    the real update sees a change. On the paths of the real update, so it fails the same way
    (leaving nothing changed) wherever the real update would. Returns the document before
    (projected), or None when nothing was done."""
    placeholders = {
        path: None
        for path, value in update.get("$set", {}).items()
        if isinstance(value, Mapping) and not value
    }
    if not placeholders:
        return None
    before: Mapping[str, Any] | None = collection.find_one_and_update(
        filter, {"$set": placeholders}, projection, return_document=False
    )
    return before
