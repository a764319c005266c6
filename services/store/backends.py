"""Where run documents live: MongoDB, or montydb embedded in the process.

Both sit behind `RunsCollection`, the few pymongo collection calls the core issues. The
adapters turn each library's errors into `BackendWriteError` / `BackendUnavailableError`, so
the core has one code path and never imports pymongo or montydb.

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
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import bson.errors
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

_STRIPES = 64
_MONGODB_TIMEOUT_MS = 5_000
_PROBE_COLLECTION = "__lightflow_probe__"


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

    def delete_one(self, filter: Mapping[str, Any]) -> DeleteOutcome: ...

    def ping(self) -> bool:
        """Whether the backend is reachable (the health status)."""
        ...

    def close(self) -> None: ...


def open_collection(config: StoreConfig) -> RunsCollection:
    """MongoDB when `config.mongodb_uri` is set, else the embedded store: in `data_dir`,
    or in memory when that is None."""
    if config.mongodb_uri:
        return MongoRuns(config.mongodb_uri, config.database, config.collection)
    return EmbeddedRuns(config.data_dir, config.database, config.collection)


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
        result: UpdateOutcome = self._call(
            filter, lambda collection: collection.update_one(filter, update, upsert=upsert)
        )
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
