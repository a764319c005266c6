"""How task data travels between task processes.

Data is pickled once (cloudpickle, protocol 5) with its large buffers (numpy arrays, bytes)
kept out of band, so they are never copied into the pickle. Small data rides inline in the
task's result, through the schedulers. Data above `INLINE_LIMIT` goes to the store service's
BlobService instead, and only its id passes through the schedulers: the consuming task
process reads it back in chunks into one buffer, and the arrays are rebuilt on that buffer
without another copy. Neither redis nor gRPC's message limit caps task data."""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import grpc

from lightflow._errors import LightflowError
from lightflow._grpc import Bearer
from lightflow._tls import TlsOptions, connect
from lightflow._wire.blobs import (
    CHUNK_BYTES,
    FILE_MODE,
    FOLDER_MARKER,
    FOLDER_MODE,
    blob_path,
    new_blob_id,
    partial_path,
)
from lightflow._wire.encodings import (
    ENCODING_BLOB,
    ENCODING_CLOUDPICKLE,
    ENCODING_FRAMES,
    ENCODING_UNSEALED,
)
from lightflow.v1 import blob_pb2, blob_pb2_grpc, common_pb2

INLINE_LIMIT = 1024 * 1024
# A blob file is written in slices of this size: single 8 MiB write()s into ext4's page cache
# took 15 ms instead of 1.5 in bursts on fresh task processes (kernel 6.18); 2 MiB slices did
# not, and smaller ones cost more in all (docs/benchmarks.md, W4's spread).
WRITE_SLICE_BYTES = 2 * 1024 * 1024
_CALL_TIMEOUT_S = 300.0


class TaskDataError(LightflowError):
    """Task data that cannot be stored or read back; `code` is the blob service's gRPC status
    when it refused."""

    def __init__(self, message: str = "", code: grpc.StatusCode | None = None) -> None:
        super().__init__(message)
        self.code = code


class BlobClient:
    """The store service's BlobService, from a task process or a scheduler. On the store's
    host (proved by reading the folder's token) blobs are written and read as files directly;
    elsewhere they stream through the service."""

    def __init__(self, address: str, token: Bearer = None, tls: TlsOptions | None = None) -> None:
        self._channel = connect(address, token, tls)
        self._stub = blob_pb2_grpc.BlobServiceStub(self._channel)
        self._folder: Path | None = None
        self._located = False

    def local_folder(self) -> Path | None:
        """The store's blob folder when this process sees it too, else None (asked once)."""
        if not self._located:
            self._located = True
            try:
                where = self._stub.Locate(blob_pb2.LocateRequest(), timeout=10)
            except grpc.RpcError:
                return None
            folder = Path(where.folder) if where.folder else None
            try:
                if (
                    folder is not None
                    and (folder / FOLDER_MARKER).read_text().strip() == where.token
                ):
                    self._folder = folder
            except OSError:
                pass  # another host, or no access: stream through the service
        return self._folder

    def write_local(self, folder: Path, run_id: str, parts: list[memoryview]) -> str:
        """Writes a blob straight into the store's folder: one copy, into the page cache."""
        blob_id = new_blob_id()
        path = blob_path(folder, run_id, blob_id)
        # Owner-only, whatever the umask, as the store makes them (the store's folder is).
        with contextlib.suppress(FileExistsError):
            path.parent.mkdir(mode=FOLDER_MODE)
            os.chmod(path.parent, FOLDER_MODE)
        partial = partial_path(folder, run_id, blob_id)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                for start in range(0, len(part), WRITE_SLICE_BYTES):
                    out.write(part[start : start + WRITE_SLICE_BYTES])
        partial.rename(path)  # readers never see half a blob
        return blob_id

    @staticmethod
    def read_local(folder: Path, run_id: str, blob_id: str) -> mmap.mmap | None:
        """A private, writable mapping of a blob file (pages are copied only if written)."""
        try:
            with blob_path(folder, run_id, blob_id).open("rb") as handle:
                return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY)
        except (OSError, ValueError):
            return None

    def put(self, run_id: str, parts: list[memoryview]) -> str:
        def requests() -> Iterator[blob_pb2.PutBlobRequest]:
            yield blob_pb2.PutBlobRequest(run_id=run_id)
            for part in parts:
                for start in range(0, part.nbytes, CHUNK_BYTES):
                    yield blob_pb2.PutBlobRequest(chunk=bytes(part[start : start + CHUNK_BYTES]))

        try:
            response = self._stub.PutBlob(requests(), timeout=_CALL_TIMEOUT_S)
        except grpc.RpcError as err:
            raise TaskDataError(
                f"cannot store task data of run '{run_id}': {err.details()}", err.code()
            ) from err
        return str(response.blob_id)

    def get(self, run_id: str, blob_id: str) -> bytearray:
        """The blob, in one buffer allocated once."""
        request = blob_pb2.GetBlobRequest(run_id=run_id, blob_id=blob_id)
        buffer = bytearray()
        view = memoryview(buffer)
        offset = 0
        try:
            for response in self._stub.GetBlob(request, timeout=_CALL_TIMEOUT_S):
                if offset == 0 and response.size:
                    buffer = bytearray(response.size)
                    view = memoryview(buffer)
                chunk = response.chunk
                view[offset : offset + len(chunk)] = chunk
                offset += len(chunk)
        except grpc.RpcError as err:
            raise TaskDataError(
                f"cannot read task data of run '{run_id}': {err.details()}", err.code()
            ) from err
        return buffer

    def delete_run(self, run_id: str) -> None:
        self._stub.DeleteBlobs(blob_pb2.DeleteBlobsRequest(run_id=run_id), timeout=30)

    def close(self) -> None:
        self._channel.close()


def _frames(value: object) -> tuple[list[memoryview], int]:
    buffers: list[pickle.PickleBuffer] = []
    header = cloudpickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    raws = [memoryview(b.raw()) for b in buffers]
    sizes = [r.nbytes for r in raws]
    frame = struct.pack(f"<IQ{len(sizes)}Q", len(raws), len(header), *sizes)
    parts = [memoryview(frame), memoryview(header), *raws]
    return parts, sum(p.nbytes for p in parts)


def _unframe(data: bytearray | mmap.mmap) -> Any:
    # A writable buffer: the arrays rebuilt on it must be writable, as the task's were.
    view = memoryview(data)
    (count,) = struct.unpack_from("<I", view, 0)
    sizes = struct.unpack_from(f"<Q{count}Q", view, 4)
    offset = 4 + 8 * (count + 1)
    header = view[offset : offset + sizes[0]]
    offset += sizes[0]
    buffers = []
    for size in sizes[1:]:
        buffers.append(view[offset : offset + size])
        offset += size
    return cloudpickle.loads(header, buffers=buffers)


def encode_task_data(value: object, run_id: str, blobs: BlobClient | None) -> common_pb2.Payload:
    """Task data as a payload: inline when small (or without a blob service), else a blob."""
    try:
        parts, size = _frames(value)
    except Exception as err:
        raise TaskDataError(f"task data cannot be pickled ({type(err).__name__}: {err})") from err
    if size <= INLINE_LIMIT or blobs is None:
        return common_pb2.Payload(encoding=ENCODING_FRAMES, data=b"".join(parts))
    folder = blobs.local_folder()
    if folder is not None:
        blob_id = blobs.write_local(folder, run_id, parts)
    else:
        blob_id = blobs.put(run_id, parts)
    return common_pb2.Payload(encoding=ENCODING_BLOB, data=blob_id.encode())


def decode_task_data(payload: common_pb2.Payload, run_id: str, blobs: BlobClient | None) -> Any:
    """The task data a payload holds; TaskDataError when it cannot be read back."""
    try:
        return _decode(payload, run_id, blobs)
    except TaskDataError:
        raise
    except Exception as err:
        raise TaskDataError(
            f"task data ({payload.encoding}, {len(payload.data)} bytes) cannot be decoded:"
            f" {type(err).__name__}: {str(err)[:200]}"
        ) from err


def _decode(payload: common_pb2.Payload, run_id: str, blobs: BlobClient | None) -> Any:
    if payload.encoding == ENCODING_FRAMES:
        return _unframe(bytearray(payload.data))
    if payload.encoding == ENCODING_BLOB:
        if blobs is None:
            raise TaskDataError("task data is in a blob, but no blob service is known")
        blob_id = payload.data.decode()
        folder = blobs.local_folder()
        mapped = blobs.read_local(folder, run_id, blob_id) if folder is not None else None
        if mapped is not None:
            return _unframe(mapped)
        return _unframe(blobs.get(run_id, blob_id))
    if payload.encoding == ENCODING_CLOUDPICKLE:
        return cloudpickle.loads(payload.data)
    if payload.encoding == ENCODING_UNSEALED:
        raise TaskDataError(
            "the task's input data carries no valid seal: it was not recorded by a scheduler"
            " of this stack (written into redis directly?), so it is not loaded"
        )
    raise TaskDataError(f"unknown task data encoding {payload.encoding!r}")
