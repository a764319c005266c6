"""A run's store document: created late, or never (document.lua arbitrates who creates it),
and removed when the run ends, unless the run keeps its data: then its provenance is written
into it. The store calls run off the task's path, on this module's own threads."""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

import structlog

from lightflow._codec import encode_document
from lightflow._store import StoreError
from lightflow._store import StoreUnavailableError as StoreClientUnavailable
from lightflow.v1 import common_pb2
from lightflow_scheduler import convert
from lightflow_scheduler.errors import (
    InternalError,
    InvalidArgumentError,
    StoreUnavailableError,
    require_run_id,
)
from lightflow_scheduler.keys import Keys
from lightflow_scheduler.provenance import Provenance
from lightflow_scheduler.schema import RunField
from lightflow_scheduler.scripts import DocumentState, Scripts
from lightflow_scheduler.seals import DataSeal

log = structlog.get_logger(__name__)

# How long a replica may take to create a run's document before another may try.
_CLAIM_MS = 60_000


class RunStore(Protocol):
    """What the scheduler needs of the store service (lightflow._store.StoreClient): a run's
    document comes and goes, and a kept run's provenance goes into its meta section."""

    def create_document_bson(
        self, run_id: str, initial_data_bson: bytes, initial_meta_bson: bytes
    ) -> None: ...

    def delete_document(self, run_id: str, *, with_task_data: bool = False) -> None: ...

    def set_many_payloads(
        self, run_id: str, items: Mapping[str, common_pb2.Payload], *, section: object = "data"
    ) -> None: ...


class RunBlobs(Protocol):
    """The store service's blobs (lightflow._taskdata.BlobClient): large task data."""

    def delete_run(self, run_id: str) -> None: ...


class Documents:
    def __init__(
        self,
        client: Any,
        keys: Keys,
        scripts: Scripts,
        seal: DataSeal,
        store: RunStore,
        blobs: RunBlobs,
        provenance: Provenance,
    ) -> None:
        self._redis = client
        self._keys = keys
        self._scripts = scripts
        self._seal = seal
        self._store = store
        self._blobs = blobs
        self._provenance = provenance
        # Store calls that need not hold up a task hop or a timer: clean-ups of ended runs.
        self._background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="background")
        # Document creations of runs started here, so that a clean-up waits for its creation.
        self._creations = ThreadPoolExecutor(max_workers=4, thread_name_prefix="create")
        self._created: dict[str, Future[None]] = {}

    def ensure(self, run_id: str) -> bool:
        """Creates the run's store document if it is still to be created. True when it now
        exists or another replica is creating it (the store holds calls back until it is);
        False when the run ended without one, or is unknown."""
        if not run_id:
            raise InvalidArgumentError("run_id is empty")
        require_run_id(run_id)
        claimed = self._claim(run_id)
        if isinstance(claimed, bytes):
            try:
                self._create_claimed(run_id, claimed)
            except StoreClientUnavailable as err:
                raise StoreUnavailableError(
                    f"the store could not create the document of run '{run_id}': {err}"
                ) from err
            except StoreError as err:
                raise InternalError(
                    f"the store refused to create the document of run '{run_id}': {err}"
                ) from err
            return True
        return claimed

    def create_soon(self, run_id: str) -> None:
        """Creates the document of a run started here, off the caller's thread (its first
        tasks read its arguments)."""
        creation = self._creations.submit(self._create_logged, run_id)
        self._created[run_id] = creation
        creation.add_done_callback(lambda _: self._created.pop(run_id, None))

    def create_due(self, now_ms: int) -> None:
        """Claims the documents that are due (here, so a timer does not see them again) and
        creates them off the timer's thread."""
        due = self._redis.zrangebyscore(self._keys.documents_due, "-inf", now_ms, start=0, num=100)
        for raw in due:
            run_id = raw.decode()
            claimed = self._claim(run_id)
            if isinstance(claimed, bytes):
                self._creations.submit(self._create_logged, run_id, claimed)

    def _claim(self, run_id: str) -> bytes | bool:
        """The data section to create the document with, if this replica is to create it;
        else whether it exists or is on its way. Its meta section stays empty until the run
        ends (and is written then if the run keeps its data)."""
        expiry = int(time.time() * 1000) + _CLAIM_MS
        claimed = self._scripts.document_claim(run_id=run_id, expiry_ms=expiry)
        if claimed.state == DocumentState.CLAIMED and claimed.data is not None:
            data = self._seal.unseal(run_id, claimed.data)
            if data is None:
                log.error("document_contents_unsealed", run_id=run_id)
                return encode_document({})
            return data
        return claimed.state in (DocumentState.BUSY, DocumentState.CREATED)

    def _create_claimed(self, run_id: str, data: bytes) -> None:
        try:
            self._store.create_document_bson(run_id, data, b"")
        except Exception:
            self._scripts.document_release(run_id=run_id)
            raise
        self._scripts.document_created(run_id=run_id)

    def _create_logged(self, run_id: str, contents: bytes | None = None) -> None:
        try:
            if contents is None:
                self.ensure(run_id)
            else:
                self._create_claimed(run_id, contents)
        except Exception as err:  # due again: a timer tries later
            log.error("store_document_not_created", run_id=run_id, error=str(err))

    def clean_up_soon(self, run_id: str) -> None:
        """clean_up, off the caller's thread (a worker's stream, a timer): a slow store must
        not delay them."""
        self._background.submit(self.clean_up, run_id)

    def clean_up(self, run_id: str) -> None:
        """Removes an ended run's store document unless it is to be kept. Idempotent; a
        replica that dies half-way leaves the run in the cleanup set for the sweeper."""
        creation = self._created.pop(run_id, None)
        if creation is not None:
            creation.result()  # never race a creation started here
        keep, blobs = self._redis.hmget(self._keys.run(run_id), [RunField.KEEP, RunField.BLOBS])
        try:
            if keep == b"1":
                # A kept run's provenance, complete, in one write.
                self._write_meta(run_id)
                # Task data dies with the run, like its copy in redis.
                self._blobs.delete_run(run_id)
            else:
                document = self._scripts.document_finish(run_id=run_id)
                if document == DocumentState.BUSY:
                    return  # another replica is creating it; the sweeper comes back
                if document == DocumentState.CREATED:
                    self._store.delete_document(run_id, with_task_data=True)
                elif blobs == b"1":  # no document, but task data in blobs
                    self._blobs.delete_run(run_id)
        except Exception as err:
            log.warning("store_cleanup_failed", run_id=run_id, error=str(err))
            return
        self._redis.zrem(self._keys.cleanup, run_id)

    def _write_meta(self, run_id: str) -> None:
        """Writes an ended run's whole meta section into its store document (created first if
        it is still to be created), in one store call; from then on its meta is read there."""
        section = self._provenance.whole_section(run_id)
        if section is None:
            return
        self.ensure(run_id)
        self._store.set_many_payloads(run_id, convert.bson_payloads(section), section="meta")
        self._redis.hset(self._keys.run(run_id), RunField.META, 1)
