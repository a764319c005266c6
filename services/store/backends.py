"""Where run documents live: MongoDB, or a sqlite table embedded in the process.

Both sit behind `RunsCollection`, the few pymongo collection calls the core issues, and
`LargeValueStore`, where values too large for a document go (GridFS on MongoDB; files in
the data folder, or memory, for the embedded store). The adapters turn each library's errors into
`BackendWriteError` / `BackendUnavailableError`, so the core has one code path and never
imports pymongo or montydb.

The embedded store keeps each run's document as one BSON row of a sqlite table keyed by run id
(`<data_dir>/<database>.sqlite3`, or an in-memory database), and applies the core's queries,
updates and projections with montydb's engine, a Python implementation of MongoDB's
semantics (error codes included). montydb's own storage is not used: its sqlite engine opens
a connection, sets its pragmas and closes it on every call, and has no `_id` index, so a find
decodes every document of a collection; a collection (a file) per run made creating and
deleting a run's document cost 3 and 2 ms. Here one connection stays open, a document is
found by its primary key, and creating one is an INSERT (about 0.1 ms).

A document is read, changed and written back under its run's lock (striped by run id), so
two writers to one run never lose an update and runs on different stripes never wait for each
other beyond a sqlite statement.

Large values of the embedded store are files (`<data_dir>/large-values/<run digest>/<blob id>`)
rather than parts of the document: every write re-encodes the whole document.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import bson
import bson.errors
import gridfs
import gridfs.errors
import montydb.errors
import montydb.types
import pymongo
import pymongo.errors
import structlog

from lightflow_store.config import StoreConfig
from lightflow_store.files import make_private, private_file, private_folder

# montydb's engine on pymongo's bson types: Binary, datetime and int64 stay as MongoDB keeps
# them. Set before the engine modules are used.
montydb.types.init_bson(use_bson=True)

from montydb.engine.field_walker import FieldWalker  # noqa: E402
from montydb.engine.project import Projector  # noqa: E402
from montydb.engine.queries import QueryFilter  # noqa: E402
from montydb.engine.update import Updator  # noqa: E402

log = structlog.get_logger(__name__)

# MongoDB error codes the core gives a meaning to (montydb uses the same).
CODE_BAD_VALUE = 2  # e.g. $push onto a field that is not an array
CODE_PATH_NOT_VIABLE = 28  # a path goes through a value that is not a document
CODE_INVALID_DOCUMENT = 0  # refused before reaching the server (too large, unencodable)
CODE_TYPE_MISMATCH = 14  # e.g. $inc of a field that is not a number
CODE_OVERFLOW = -1  # ours: a number left the int64 range (montydb raises OverflowError)

_STRIPES = 64
# Runs whose lists the embedded store remembers, to append to them (see EmbeddedRuns._append).
_LISTS_REMEMBERED = 10_000
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MONGODB_TIMEOUT_MS = 5_000
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
        self,
        filter: Mapping[str, Any],
        update: Mapping[str, Any],
        upsert: bool = False,
        *,
        request_id: str = "",
    ) -> UpdateOutcome:
        """With a `request_id`, the update is applied at most once: it matches nothing when
        that id was applied to the run before (see `applied`); the id is recorded in the same
        atomic write."""
        ...

    def find_one_and_update(
        self,
        filter: Mapping[str, Any],
        update: Mapping[str, Any],
        projection: Mapping[str, Any],
        *,
        return_after: bool,
        request_id: str = "",
    ) -> Mapping[str, Any] | None:
        """Update one document atomically; the document (projected) before or after the
        update, None when no document matched (or `request_id` was applied before)."""
        ...

    def applied(self, run_id: str, request_id: str) -> bool:
        """Whether a write with `request_id` was applied to the run's document."""
        ...

    def delete_one(self, filter: Mapping[str, Any]) -> DeleteOutcome: ...

    def ping(self) -> bool:
        """Whether the backend is reachable (the health status)."""
        ...

    def close(self) -> None: ...


class LargeValueStore(Protocol):
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
    blobs: LargeValueStore

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
    blobs: LargeValueStore = (
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
        self,
        filter: Mapping[str, Any],
        update: Mapping[str, Any],
        upsert: bool = False,
        *,
        request_id: str = "",
    ) -> UpdateOutcome:
        filter, update = _once(filter, update, request_id)
        with _mongo_errors():
            return self._collection.update_one(filter, update, upsert=upsert)

    def find_one_and_update(
        self,
        filter: Mapping[str, Any],
        update: Mapping[str, Any],
        projection: Mapping[str, Any],
        *,
        return_after: bool,
        request_id: str = "",
    ) -> Mapping[str, Any] | None:
        filter, update = _once(filter, update, request_id)
        with _mongo_errors():
            return self._collection.find_one_and_update(
                filter,
                update,
                projection,
                return_document=(
                    pymongo.ReturnDocument.AFTER if return_after else pymongo.ReturnDocument.BEFORE
                ),
            )

    def applied(self, run_id: str, request_id: str) -> bool:
        with _mongo_errors():
            return (
                self._collection.find_one({"_id": run_id, REQUESTS_FIELD: request_id}, {"_id": 1})
                is not None
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


# On MongoDB a document holds the request ids of its latest writes beside data and meta.
REQUESTS_FIELD = "_requests"
_REQUESTS_KEPT = 100


def _once(
    filter: Mapping[str, Any], update: Mapping[str, Any], request_id: str
) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """On MongoDB, a write applied at most once per request id: it matches only while the
    document has not recorded the id, and records it in the same update (a crash can leave
    neither the write without the id nor the id without the write). The latest 100 ids are
    kept, far more than the writes that can land between a call and its retry."""
    if not request_id:
        return filter, update
    record = {"$each": [request_id], "$slice": -_REQUESTS_KEPT}
    return (
        {**filter, REQUESTS_FIELD: {"$ne": request_id}},
        {**update, "$push": {**update.get("$push", {}), REQUESTS_FIELD: record}},
    )


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
        private_folder(folder)

    def _run_folder(self, run_id: str) -> Path:
        return self._folder / hashlib.sha256(run_id.encode()).hexdigest()[:40]

    def put(self, run_id: str, data: bytes) -> Any:
        blob_id = uuid.uuid4().hex
        folder = self._run_folder(run_id)
        try:
            private_folder(folder)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")  # 0600
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


class _Outcome:
    """What an update or delete did: the documents it matched (or deleted)."""

    def __init__(self, count: int) -> None:
        self.matched_count = count
        self.deleted_count = count


class EmbeddedRuns:
    """The embedded store (see module doc): one sqlite table of BSON documents keyed by run id,
    changed by montydb's MongoDB query, update and projection engine."""

    def __init__(self, data_dir: Path | None, database: str, collection: str) -> None:
        self._data_dir = data_dir
        if data_dir is None:
            location = ":memory:"
        else:
            private_folder(data_dir, tighten=False)
            location = str(data_dir / f"{database}.sqlite3")
            # Owner-only before sqlite opens it: sqlite gives its -wal and -shm files the
            # database file's mode. An older store's files are made owner-only too.
            if not os.path.exists(location):
                with contextlib.suppress(FileExistsError):
                    os.close(private_file(Path(location)))
            for suffix in ("", "-wal", "-shm"):
                make_private(Path(location + suffix))
        # One connection, its statements serialized by a lock (each is a few µs); the
        # read-change-write of a document is serialized per run by the stripe locks.
        self._db = sqlite3.connect(location, check_same_thread=False, isolation_level=None)
        self._db_lock = threading.Lock()
        # WAL with synchronous=NORMAL: a commit is a write to the log, without an fsync; a
        # killed store process loses nothing, a power cut may lose the last commits.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        if not _TABLE_NAME.fullmatch(collection):
            raise ValueError(f"collection name {collection!r} is not a plain identifier")
        # The table's name is the collection's, checked above; values are always parameters.
        self._create = f"CREATE TABLE IF NOT EXISTS {collection} (id TEXT PRIMARY KEY, document BLOB NOT NULL) WITHOUT ROWID"  # noqa: E501
        self._select = f"SELECT document FROM {collection} WHERE id = ?"  # noqa: S608
        self._insert = f"INSERT INTO {collection} (id, document) VALUES (?, ?)"  # noqa: S608
        self._update_row = f"UPDATE {collection} SET document = ? WHERE id = ?"  # noqa: S608
        self._delete = f"DELETE FROM {collection} WHERE id = ?"  # noqa: S608
        self._db.execute(self._create)
        # The request ids of applied writes, by run: a retry of a write applied before a
        # crash is recognised (see RunsCollection.update_one). Written in the same
        # transaction as the document; kept an hour, and dropped with the run's document.
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS applied_requests (run_id TEXT NOT NULL,"
            " request_id TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (run_id, request_id))"
            " WITHOUT ROWID"
        )
        # Pushes and extends onto a list known to be one, not yet in the document: one row
        # per call, folded into the document by the next other call on the run (see
        # `_append`). A push then costs the same on a list of 10,000 items as of 10.
        self._appends = f"{collection}_appends"
        self._db.execute(
            f"CREATE TABLE IF NOT EXISTS {self._appends} (run_id TEXT NOT NULL,"
            " seq INTEGER NOT NULL, path TEXT NOT NULL, items BLOB NOT NULL,"
            " PRIMARY KEY (run_id, seq)) WITHOUT ROWID"
        )
        # Per run (touched under its stripe lock): the next seq of its appends, when it has
        # some; and the paths known to hold a list, with the filter the push that found the
        # list matched (a push with the same filter would match again).
        self._pending: dict[str, int] = {
            run_id: int(last) + 1
            for run_id, last in self._db.execute(
                f"SELECT run_id, MAX(seq) FROM {self._appends} GROUP BY run_id"  # noqa: S608
            ).fetchall()
        }
        self._lists: dict[str, dict[str, Mapping[str, Any]]] = {}
        self._writes = 0
        self._stripes = [threading.Lock() for _ in range(_STRIPES)]
        log.info(
            "backend_opened",
            backend="embedded",
            location=location,
            collection=collection,
        )

    def _stripe(self, run_id: str) -> threading.Lock:
        return self._stripes[zlib.crc32(run_id.encode()) % _STRIPES]

    def _sql(self, statement: str, *parameters: Any) -> list[Any]:
        with _db_errors(), self._db_lock:
            return self._db.execute(statement, parameters).fetchall()

    def _transaction(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Runs the statements as one transaction: all of them, or none."""
        with _db_errors(), self._db_lock:
            if len(statements) == 1:
                self._db.execute(*statements[0])
                return
            self._db.execute("BEGIN")
            try:
                for statement in statements:
                    self._db.execute(*statement)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _load(self, run_id: str) -> dict[str, Any] | None:
        rows = self._sql(self._select, run_id)
        return bson.decode(rows[0][0]) if rows else None

    def _save(
        self, run_id: str, document: Mapping[str, Any] | None, *, new: bool, request_id: str
    ) -> bool:
        """Writes the document (None: unchanged) and records `request_id`, in one
        transaction. False, and nothing written, when the request id was recorded before."""
        statements: list[tuple[str, tuple[Any, ...]]] = []
        if document is not None:
            with _engine_errors():
                encoded = bson.encode(document)
            if new:
                statements.append((self._insert, (run_id, encoded)))
            else:
                statements.append((self._update_row, (encoded, run_id)))
        return self._commit(run_id, statements, request_id)

    def _commit(
        self, run_id: str, statements: list[tuple[str, tuple[Any, ...]]], request_id: str
    ) -> bool:
        """Runs the statements and records `request_id`, in one transaction. False, and
        nothing written, when the request id was recorded before."""
        if request_id:
            # The primary key refuses an id recorded before: the write is a retry.
            statements.append(
                (
                    "INSERT INTO applied_requests VALUES (?, ?, ?)",
                    (run_id, request_id, time.time()),
                )
            )
            self._writes += 1
            if self._writes % 10_000 == 0:
                statements.append(
                    ("DELETE FROM applied_requests WHERE at < ?", (time.time() - 3600,))
                )
        try:
            self._transaction(statements)
        except sqlite3.IntegrityError:
            return False
        return True

    def applied(self, run_id: str, request_id: str) -> bool:
        rows = self._sql(
            "SELECT 1 FROM applied_requests WHERE run_id = ? AND request_id = ?",
            run_id,
            request_id,
        )
        return bool(rows)

    def _matching(self, filter: Mapping[str, Any]) -> tuple[Any, dict[str, Any] | None]:
        """The filter's query, and the run's document if it matches the filter."""
        query = QueryFilter(filter)
        if filter["_id"] in self._pending:
            self._fold(filter["_id"])
        document = self._load(filter["_id"])
        if document is None:
            return query, None
        with _engine_errors():
            return query, document if query(document) else None

    @staticmethod
    def _project(
        document: dict[str, Any], projection: Mapping[str, Any] | None, query: Any
    ) -> dict[str, Any]:
        if not projection:
            return document
        walker = FieldWalker(document)
        with _engine_errors():
            Projector(projection, query)(walker)
        projected: dict[str, Any] = walker.doc
        return projected

    def find_one(
        self, filter: Mapping[str, Any], projection: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any] | None:
        with self._stripe(filter["_id"]):
            query, document = self._matching(filter)
            return None if document is None else self._project(document, projection, query)

    def _update(
        self,
        filter: Mapping[str, Any],
        update: Mapping[str, Any],
        *,
        upsert: bool,
        request_id: str = "",
    ) -> tuple[Any, dict[str, Any] | None, dict[str, Any] | None]:
        """(the filter's query, the document before, after); before is None when nothing
        matched or `request_id` was applied before (after too, unless upserted). Call it
        under the run's stripe lock."""
        with _engine_errors():
            steps = [Updator(step) for step in _with_empty_documents_first(update)]
        query, before = self._matching(filter)
        if before is None and not upsert:
            return query, None, None
        walker = FieldWalker({"_id": filter["_id"]} if before is None else before)
        changed = False
        with _engine_errors():
            for updator in steps:  # each returns a new document; `before` stays as it was
                changed = updator(walker, do_insert=before is None) or changed
                walker = FieldWalker(walker.doc)
        if changed or before is None or request_id:
            document = walker.doc if changed or before is None else None
            if not self._save(filter["_id"], document, new=before is None, request_id=request_id):
                return query, None, None  # applied before: this is a retry
        return query, before, walker.doc

    def update_one(
        self,
        filter: Mapping[str, Any],
        update: Mapping[str, Any],
        upsert: bool = False,
        *,
        request_id: str = "",
    ) -> UpdateOutcome:
        run_id = filter["_id"]
        with self._stripe(run_id):
            appended = self._append(filter, update, upsert=upsert, request_id=request_id)
            if appended is not None:
                return _Outcome(1 if appended else 0)
            self._forget_lists(run_id, update)
            _, before, _ = self._update(filter, update, upsert=upsert, request_id=request_id)
            path = _pushed_path(update)
            if before is not None and path is not None:
                if len(self._lists) >= _LISTS_REMEMBERED:  # a cache: start it again
                    self._lists.clear()
                self._lists.setdefault(run_id, {})[path] = filter
        return _Outcome(0 if before is None else 1)

    def _append(
        self,
        filter: Mapping[str, Any],
        update: Mapping[str, Any],
        *,
        upsert: bool,
        request_id: str,
    ) -> bool | None:
        """A push (or extend) onto a list a push with the same filter found before, kept as
        a row of its own instead of a rewrite of the document: whether it was applied (False:
        `request_id` was, before); None when it is not such a push (the caller applies it).
        Call it under the run's stripe lock."""
        run_id = filter["_id"]
        path = _pushed_path(update)
        if upsert or path is None or self._lists.get(run_id, {}).get(path) != filter:
            return None
        operand = update["$push"][path]
        each = isinstance(operand, Mapping) and set(operand) == {"$each"}
        items = operand["$each"] if each else [operand]
        if not isinstance(items, list) or not _plain_values(items):
            return None  # the engine explains what is wrong with it
        with _engine_errors():
            encoded = bson.encode({"v": items})
        seq = self._pending.get(run_id, 0)
        insert = f"INSERT INTO {self._appends} VALUES (?, ?, ?, ?)"  # noqa: S608
        if not self._commit(run_id, [(insert, (run_id, seq, path, encoded))], request_id):
            return False
        self._pending[run_id] = seq + 1
        return True

    def _fold(self, run_id: str) -> None:
        """Writes the run's pending appends into its document, in one transaction. Call it
        under the run's stripe lock."""
        rows = self._sql(
            f"SELECT path, items FROM {self._appends} WHERE run_id = ? ORDER BY seq",  # noqa: S608
            run_id,
        )
        document = self._load(run_id)
        statements: list[tuple[str, tuple[Any, ...]]] = []
        if document is not None:
            for path, items in rows:
                node: Any = document
                for segment in path.split("."):
                    node = node.get(segment) if isinstance(node, dict) else None
                if not isinstance(node, list):  # cannot be: only lists get appends
                    raise BackendUnavailableError(f"a pending push onto {path!r} found no list")
                node.extend(bson.decode(items)["v"])
            with _engine_errors():
                statements.append((self._update_row, (bson.encode(document), run_id)))
        delete = f"DELETE FROM {self._appends} WHERE run_id = ?"  # noqa: S608
        self._transaction([*statements, (delete, (run_id,))])
        self._pending.pop(run_id, None)

    def _forget_lists(self, run_id: str, update: Mapping[str, Any]) -> None:
        """Forgets the lists an update may change into something else (any path it writes
        at, above or below them). Call it under the run's stripe lock."""
        lists = self._lists.get(run_id)
        if not lists:
            return
        written = [
            path for fields in update.values() if isinstance(fields, Mapping) for path in fields
        ]
        for known in list(lists):
            if any(_overlap(known, path) for path in written):
                del lists[known]

    def find_one_and_update(
        self,
        filter: Mapping[str, Any],
        update: Mapping[str, Any],
        projection: Mapping[str, Any],
        *,
        return_after: bool,
        request_id: str = "",
    ) -> Mapping[str, Any] | None:
        with self._stripe(filter["_id"]):
            self._forget_lists(filter["_id"], update)
            query, before, after = self._update(filter, update, upsert=False, request_id=request_id)
        if before is None or after is None:
            return None
        return self._project(after if return_after else before, projection, query)

    def delete_one(self, filter: Mapping[str, Any]) -> DeleteOutcome:
        with self._stripe(filter["_id"]):
            self._lists.pop(filter["_id"], None)
            _, document = self._matching(filter)
            if document is None:
                return _Outcome(0)
            self._transaction(
                [
                    (self._delete, (filter["_id"],)),
                    ("DELETE FROM applied_requests WHERE run_id = ?", (filter["_id"],)),
                ]
            )
        return _Outcome(1)

    def ping(self) -> bool:
        return self._data_dir is None or os.access(self._data_dir, os.W_OK)

    def close(self) -> None:
        with self._db_lock:
            self._db.close()


def _pushed_path(update: Mapping[str, Any]) -> str | None:
    """The path of an update that is one push (or extend, `$each` alone) onto a path without
    list indexes; None for any other update."""
    if len(update) != 1 or "$push" not in update or len(update["$push"]) != 1:
        return None
    path, operand = next(iter(update["$push"].items()))
    modifiers = isinstance(operand, Mapping) and any(name.startswith("$") for name in operand)
    if modifiers and set(operand) != {"$each"}:
        return None  # $position, $slice, ...: the engine's work
    if any(segment.isdigit() for segment in path.split(".")):
        return None
    return str(path)


def _plain_values(values: list[Any]) -> bool:
    """Whether no document in `values` has a field name the engine would refuse ($x, a.b)."""
    for value in values:
        if isinstance(value, Mapping):
            if any(name.startswith("$") or "." in name for name in value):
                return False
            if not _plain_values(list(value.values())):
                return False
        elif isinstance(value, list) and not _plain_values(value):
            return False
    return True


def _overlap(one: str, other: str) -> bool:
    """Whether two dotted paths are one, or one lies under the other."""
    return one == other or one.startswith(f"{other}.") or other.startswith(f"{one}.")


@contextlib.contextmanager
def _db_errors() -> Iterator[None]:
    """sqlite's errors as backend errors, but for IntegrityError: a request id recorded
    before, which the caller handles."""
    try:
        yield
    except sqlite3.IntegrityError:
        raise
    except sqlite3.Error as err:
        log.error("embedded_store_failed", error=str(err))
        raise BackendUnavailableError(f"the embedded store cannot be used: {err}") from err


@contextlib.contextmanager
def _engine_errors() -> Iterator[None]:
    """montydb's engine and bson errors as backend errors (the same codes MongoDB uses)."""
    try:
        yield
    except montydb.errors.OperationFailure as err:
        raise BackendWriteError(err.code or 0, str(err)) from err
    except bson.errors.InvalidDocument as err:
        raise BackendWriteError(CODE_INVALID_DOCUMENT, str(err)) from err
    except OverflowError as err:
        raise BackendWriteError(CODE_OVERFLOW, str(err)) from err


def _with_empty_documents_first(update: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The update as steps, working around montydb taking `$set: {path: {}}` of a missing
    field for no change (it reads a missing field as {}): such fields are first set to null,
    on the paths of the real update, so the steps fail wherever the real update would."""
    placeholders = {
        path: None
        for path, value in update.get("$set", {}).items()
        if isinstance(value, Mapping) and not value
    }
    return [{"$set": placeholders}, update] if placeholders else [update]
