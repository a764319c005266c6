"""Blobs: large task data on its way from the task that made it to the tasks that use it.

Kept as files in `<data dir>/blobs`, laid out as `lightflow._wire.blobs` says, when the store
has a folder (so they outlive a restart of the service, like the documents), in memory
otherwise. Written once, read any number of times, removed with their run. Folders are 0700
and files 0600, whatever the umask: only the store's user (and task processes running as that
user, through the local fast path) reads them.

A run's blobs go when its run ends (DeleteBlobs, or DeleteDocument with its task data); a
PutBlob for a run that went is refused. Blobs nobody removes (a run whose end was never
cleaned up, a crash, a blob for a run that never existed) are swept: `sweep` removes a run's
blobs once they are untouched for `max_idle` seconds and the run has no store document."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import structlog

from lightflow._wire.blobs import (
    CHUNK_BYTES,
    FILE_MODE,
    FOLDER_MARKER,
    blob_path,
    is_blob_id,
    new_blob_id,
    partial_path,
)
from lightflow.v1 import blob_pb2, blob_pb2_grpc
from lightflow_common.server import check_run_access
from lightflow_store.files import private_file, private_folder

log = structlog.get_logger(__name__)

# Run ids become folder names: nothing that could leave the blob folder.
_SAFE_RUN_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
# How many removed runs are remembered, to refuse blobs for them.
_GONE_REMEMBERED = 100_000
# In the blob folder: the runs whose blobs were removed, one a line, so that a restarted
# store still refuses blobs for them.
ENDED_RUNS_FILE = ".ended-runs"


class BlobNotFoundError(KeyError):
    pass


class RunGoneError(Exception):
    """Blobs for a run whose blobs (or document) were removed: it ended."""


class BlobStore:
    def __init__(self, folder: Path | None) -> None:
        self._folder = folder.resolve() if folder is not None else None
        self._memory: dict[str, dict[str, list[bytes]]] = {}
        # When each run's blobs in memory were last written or read (time.time()).
        self._touched: dict[str, float] = {}
        self._lock = threading.Lock()
        # Runs whose blobs were removed (the latest few), also before a restart when the
        # blobs are in a folder.
        self._gone: OrderedDict[str, None] = OrderedDict()
        self._ended_lines = 0
        self.token = ""
        if self._folder is not None:
            private_folder(self._folder)
            self._load_ended()
            token_file = self._folder / FOLDER_MARKER
            if not token_file.exists():
                with os.fdopen(private_file(token_file), "w") as out:
                    out.write(uuid.uuid4().hex)
            os.chmod(token_file, FILE_MODE)
            self.token = token_file.read_text().strip()

    @property
    def folder(self) -> Path | None:
        return self._folder

    @staticmethod
    def check_run_id(run_id: str) -> None:
        if not _SAFE_RUN_ID.match(run_id) or run_id in (".", ".."):
            raise ValueError(f"invalid run id {run_id!r}")

    def gone(self, run_id: str) -> bool:
        """Whether the run's blobs were removed (since this start): the run ended."""
        with self._lock:
            return run_id in self._gone

    def mark_gone(self, run_id: str) -> None:
        with self._lock:
            known = run_id in self._gone
            self._gone[run_id] = None
            self._gone.move_to_end(run_id)
            while len(self._gone) > _GONE_REMEMBERED:
                self._gone.popitem(last=False)
            if self._folder is None or known:
                return
            try:
                fd = os.open(
                    self._folder / ENDED_RUNS_FILE,
                    os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
                    FILE_MODE,
                )
                os.fchmod(fd, FILE_MODE)
                with os.fdopen(fd, "a") as out:
                    out.write(f"{run_id}\n")
            except OSError:
                log.warning("ended_run_not_recorded", run_id=run_id, exc_info=True)
                return
            self._ended_lines += 1
            if self._ended_lines > 2 * _GONE_REMEMBERED:
                self._rewrite_ended()

    def _load_ended(self) -> None:
        assert self._folder is not None
        try:
            lines = (self._folder / ENDED_RUNS_FILE).read_text().split()
        except FileNotFoundError:
            return
        for run_id in lines[-_GONE_REMEMBERED:]:
            self._gone[run_id] = None
        self._ended_lines = len(lines)

    def _rewrite_ended(self) -> None:
        """Keeps the latest runs only (call it holding the lock)."""
        assert self._folder is not None
        partial = self._folder / f"{ENDED_RUNS_FILE}.partial"
        partial.unlink(missing_ok=True)
        with os.fdopen(private_file(partial), "w") as out:
            out.writelines(f"{run_id}\n" for run_id in self._gone)
        partial.replace(self._folder / ENDED_RUNS_FILE)
        self._ended_lines = len(self._gone)

    def delete_run_if_valid(self, run_id: str) -> None:
        """`delete_run`, for a run id that may not be one a blob was ever stored under."""
        if _SAFE_RUN_ID.match(run_id) and run_id not in (".", ".."):
            self.delete_run(run_id)

    def put(self, run_id: str, chunks: Iterator[bytes]) -> tuple[str, int]:
        self.check_run_id(run_id)
        if self.gone(run_id):
            raise RunGoneError(f"run {run_id!r} ended: its blobs were removed")
        blob_id = new_blob_id()
        size = 0
        if self._folder is None:
            kept = []
            for chunk in chunks:
                kept.append(chunk)
                size += len(chunk)
            with self._lock:
                if run_id in self._gone:  # removed while this blob arrived
                    raise RunGoneError(f"run {run_id!r} ended: its blobs were removed")
                self._memory.setdefault(run_id, {})[blob_id] = kept
                self._touched[run_id] = time.time()
            return blob_id, size
        path = blob_path(self._folder, run_id, blob_id)
        private_folder(path.parent)
        partial = partial_path(self._folder, run_id, blob_id)
        try:
            with os.fdopen(private_file(partial), "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    size += len(chunk)
            # Renamed only when complete: a reader never sees half a blob.
            partial.rename(path)
        except FileNotFoundError as err:
            if self.gone(run_id):  # its folder was removed meanwhile
                raise RunGoneError(f"run {run_id!r} ended: its blobs were removed") from err
            raise
        if self.gone(run_id):  # removed while this blob arrived: it would be orphaned
            self.delete_run(run_id)
            raise RunGoneError(f"run {run_id!r} ended: its blobs were removed")
        return blob_id, size

    def get(self, run_id: str, blob_id: str) -> tuple[int, Iterator[bytes]]:
        """The blob's size and its chunks."""
        self.check_run_id(run_id)
        if not is_blob_id(blob_id):
            raise BlobNotFoundError(f"no blob {blob_id!r} in run '{run_id}'")
        if self._folder is None:
            with self._lock:
                kept = self._memory.get(run_id, {}).get(blob_id)
                if kept is not None:
                    self._touched[run_id] = time.time()
            if kept is None:
                raise BlobNotFoundError(f"no blob {blob_id} in run '{run_id}'")
            return sum(len(c) for c in kept), iter(kept)
        path = blob_path(self._folder, run_id, blob_id)
        try:
            handle = path.open("rb")
        except FileNotFoundError as err:
            raise BlobNotFoundError(f"no blob {blob_id} in run '{run_id}'") from err
        size = path.stat().st_size
        # A read keeps the run's blobs from the sweep (local readers map the files unseen).
        with contextlib.suppress(OSError):
            os.utime(path.parent)

        def chunks() -> Iterator[bytes]:
            with handle:
                while chunk := handle.read(CHUNK_BYTES):
                    yield chunk

        return size, chunks()

    def read(self, run_id: str, blob_id: str) -> bytes:
        """A whole blob."""
        _, chunks = self.get(run_id, blob_id)
        return b"".join(chunks)

    def delete(self, run_id: str, blob_ids: list[str]) -> None:
        """Removes blobs of a run; missing ones are fine."""
        self.check_run_id(run_id)
        for blob_id in blob_ids:
            if not is_blob_id(blob_id):
                continue
            if self._folder is None:
                with self._lock:
                    self._memory.get(run_id, {}).pop(blob_id, None)
            else:
                blob_path(self._folder, run_id, blob_id).unlink(missing_ok=True)

    def delete_run(self, run_id: str) -> None:
        self.check_run_id(run_id)
        self.mark_gone(run_id)
        if self._folder is None:
            with self._lock:
                self._memory.pop(run_id, None)
                self._touched.pop(run_id, None)
            return
        shutil.rmtree(self._folder / run_id, ignore_errors=True)

    def _idle_runs(self, now: float) -> Iterator[tuple[str, float]]:
        """Each run holding blobs, with the seconds since they were last written (or read
        through the service)."""
        if self._folder is None:
            with self._lock:
                touched = list(self._touched.items())
            for run_id, at in touched:
                yield run_id, now - at
            return
        for entry in os.scandir(self._folder):
            if not entry.is_dir(follow_symlinks=False):
                continue
            try:
                latest = entry.stat(follow_symlinks=False).st_mtime
                for blob in os.scandir(entry.path):
                    latest = max(latest, blob.stat(follow_symlinks=False).st_mtime)
            except FileNotFoundError:
                continue  # removed meanwhile
            yield entry.name, now - latest

    def sweep(self, max_idle: float, has_document: Callable[[str], bool]) -> list[str]:
        """Removes the blobs of runs that went, and of runs untouched for `max_idle` seconds
        that have no store document (a run with a document is not over, or keeps its data).
        The runs swept."""
        swept = []
        for run_id, idle in list(self._idle_runs(time.time())):
            if not _SAFE_RUN_ID.match(run_id) or run_id in (".", ".."):
                continue
            if self.gone(run_id) or (idle > max_idle and not has_document(run_id)):
                self.delete_run(run_id)
                swept.append(run_id)
        if swept:
            log.info("blobs_swept", runs=len(swept))
        return swept


class BlobServicer(blob_pb2_grpc.BlobServiceServicer):
    """Every call naming a run is refused (PERMISSION_DENIED) to a task of another run.
    `run_gone(run_id)` says whether the run ended (its document was removed): PutBlob for
    it is refused (FAILED_PRECONDITION)."""

    def __init__(self, store: BlobStore, run_gone: Callable[[str], bool] | None = None) -> None:
        self._store = store
        self._run_gone = run_gone or (lambda _run_id: False)

    def PutBlob(
        self, request_iterator: Iterator[blob_pb2.PutBlobRequest], context: grpc.ServicerContext
    ) -> blob_pb2.PutBlobResponse:
        first = next(request_iterator, None)
        if first is None or not first.run_id:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message must name the run")
            raise AssertionError("unreachable")
        check_run_access(context, first.run_id)
        if self._run_gone(first.run_id):
            context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"run {first.run_id[:100]!r} ended: it takes no more blobs",
            )

        def chunks() -> Iterator[bytes]:
            yield first.chunk
            for request in request_iterator:
                yield request.chunk

        try:
            blob_id, size = self._store.put(first.run_id, chunks())
        except ValueError as err:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
            raise AssertionError("unreachable") from err
        except RunGoneError as err:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"{err}: it takes no more blobs")
            raise AssertionError("unreachable") from err
        return blob_pb2.PutBlobResponse(blob_id=blob_id, size=size)

    def GetBlob(
        self, request: blob_pb2.GetBlobRequest, context: grpc.ServicerContext
    ) -> Iterator[blob_pb2.GetBlobResponse]:
        check_run_access(context, request.run_id)
        try:
            size, chunks = self._store.get(request.run_id, request.blob_id)
        except ValueError as err:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
            raise AssertionError("unreachable") from err
        except BlobNotFoundError as err:
            context.abort(grpc.StatusCode.NOT_FOUND, str(err.args[0]))
            raise AssertionError("unreachable") from err
        first = True
        for chunk in chunks:
            yield blob_pb2.GetBlobResponse(chunk=chunk, size=size if first else 0)
            first = False
        if first:  # an empty blob still answers with its size
            yield blob_pb2.GetBlobResponse(size=0)

    def Locate(
        self, request: blob_pb2.LocateRequest, context: grpc.ServicerContext
    ) -> blob_pb2.LocateResponse:
        folder = self._store.folder
        return blob_pb2.LocateResponse(
            folder=str(folder) if folder is not None else "", token=self._store.token
        )

    def DeleteBlobs(
        self, request: blob_pb2.DeleteBlobsRequest, context: grpc.ServicerContext
    ) -> blob_pb2.DeleteBlobsResponse:
        check_run_access(context, request.run_id)
        try:
            self._store.delete_run(request.run_id)
        except ValueError as err:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        return blob_pb2.DeleteBlobsResponse()
