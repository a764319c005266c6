"""Blobs: large task data on its way from the task that made it to the tasks that use it.

Kept as files under `<data dir>/blobs/<run>/<blob>` when the store has a folder (so they
outlive a restart of the service, like the documents), in memory otherwise. Written once,
read any number of times, removed with their run."""

from __future__ import annotations

import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import structlog

from lightflow._taskdata import FOLDER_MARKER
from lightflow.v1 import blob_pb2, blob_pb2_grpc

log = structlog.get_logger(__name__)

CHUNK_BYTES = 1024 * 1024
# Run ids become folder names: nothing that could leave the blob folder.
_SAFE_RUN_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")


class BlobNotFoundError(KeyError):
    pass


class BlobStore:
    def __init__(self, folder: Path | None) -> None:
        self._folder = folder.resolve() if folder is not None else None
        self._memory: dict[str, dict[str, list[bytes]]] = {}
        self._lock = threading.Lock()
        self.token = ""
        if self._folder is not None:
            self._folder.mkdir(parents=True, exist_ok=True)
            token_file = self._folder / FOLDER_MARKER
            if not token_file.exists():
                token_file.write_text(uuid.uuid4().hex)
            self.token = token_file.read_text().strip()

    @property
    def folder(self) -> Path | None:
        return self._folder

    @staticmethod
    def check_run_id(run_id: str) -> None:
        if not _SAFE_RUN_ID.match(run_id) or run_id in (".", ".."):
            raise ValueError(f"invalid run id {run_id!r}")

    def delete_run_if_valid(self, run_id: str) -> None:
        """`delete_run`, for a run id that may not be one a blob was ever stored under."""
        if _SAFE_RUN_ID.match(run_id) and run_id not in (".", ".."):
            self.delete_run(run_id)

    def put(self, run_id: str, chunks: Iterator[bytes]) -> tuple[str, int]:
        self.check_run_id(run_id)
        blob_id = uuid.uuid4().hex
        size = 0
        if self._folder is None:
            kept = []
            for chunk in chunks:
                kept.append(chunk)
                size += len(chunk)
            with self._lock:
                self._memory.setdefault(run_id, {})[blob_id] = kept
            return blob_id, size
        folder = self._folder / run_id
        folder.mkdir(exist_ok=True)
        partial = folder / f"{blob_id}.partial"
        with partial.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
                size += len(chunk)
        # Renamed only when complete: a reader never sees half a blob.
        partial.rename(folder / blob_id)
        return blob_id, size

    def get(self, run_id: str, blob_id: str) -> tuple[int, Iterator[bytes]]:
        """The blob's size and its chunks."""
        self.check_run_id(run_id)
        if not re.fullmatch(r"[0-9a-f]{32}", blob_id):
            raise BlobNotFoundError(f"no blob {blob_id!r} in run '{run_id}'")
        if self._folder is None:
            with self._lock:
                kept = self._memory.get(run_id, {}).get(blob_id)
            if kept is None:
                raise BlobNotFoundError(f"no blob {blob_id} in run '{run_id}'")
            return sum(len(c) for c in kept), iter(kept)
        path = self._folder / run_id / blob_id
        try:
            handle = path.open("rb")
        except FileNotFoundError as err:
            raise BlobNotFoundError(f"no blob {blob_id} in run '{run_id}'") from err
        size = path.stat().st_size

        def chunks() -> Iterator[bytes]:
            with handle:
                while chunk := handle.read(CHUNK_BYTES):
                    yield chunk

        return size, chunks()

    def delete_run(self, run_id: str) -> None:
        self.check_run_id(run_id)
        if self._folder is None:
            with self._lock:
                self._memory.pop(run_id, None)
            return
        shutil.rmtree(self._folder / run_id, ignore_errors=True)


class BlobServicer(blob_pb2_grpc.BlobServiceServicer):
    def __init__(self, store: BlobStore) -> None:
        self._store = store

    def PutBlob(
        self, request_iterator: Iterator[blob_pb2.PutBlobRequest], context: grpc.ServicerContext
    ) -> blob_pb2.PutBlobResponse:
        first = next(request_iterator, None)
        if first is None or not first.run_id:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message must name the run")
            raise AssertionError("unreachable")

        def chunks() -> Iterator[bytes]:
            yield first.chunk
            for request in request_iterator:
                yield request.chunk

        try:
            blob_id, size = self._store.put(first.run_id, chunks())
        except ValueError as err:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
            raise AssertionError("unreachable") from err
        return blob_pb2.PutBlobResponse(blob_id=blob_id, size=size)

    def GetBlob(
        self, request: blob_pb2.GetBlobRequest, context: grpc.ServicerContext
    ) -> Iterator[blob_pb2.GetBlobResponse]:
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
        try:
            self._store.delete_run(request.run_id)
        except ValueError as err:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        return blob_pb2.DeleteBlobsResponse()
