"""The store service under a hostile or careless caller: run credentials open one run only,
an unauthenticated flood costs no memory, files are owner-only, blobs only for live runs.

Each test runs a real store service process (the embedded store in a data folder)."""

from __future__ import annotations

import os
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import bson
import grpc
import pytest

from lightflow._grpc import open_channel
from lightflow._store import StoreClient, StoreError, StoreNotFoundError
from lightflow._taskdata import BlobClient, TaskDataError
from lightflow._wire.headers import CREATE_IF_MISSING
from lightflow.v1 import blob_pb2, blob_pb2_grpc, common_pb2, store_pb2, store_pb2_grpc
from lightflow_cli._procs import ServiceProcess, start_service
from lightflow_common.credentials import RunCredentials
from tests.conftest import assert_eventually

TOKEN = "store-isolation-test-token"  # a test-only shared token
MB = 1024 * 1024


def start_store(tmp_path: Path, *args: str) -> ServiceProcess:
    return start_service(
        "store",
        "lightflow_store",
        ["--data-dir", str(tmp_path / "store"), *args],
        log_dir=tmp_path,
        env={"LIGHTFLOW_TOKEN": TOKEN},
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    service = start_store(tmp_path_factory.mktemp("store"))
    yield service
    assert service.stop() == 0, service.log_tail()


def new_run_id() -> str:
    return uuid.uuid4().hex


def _bson_value(value: Any) -> common_pb2.Payload:
    return common_pb2.Payload(encoding="application/bson", data=bson.encode({"v": value}))


def document_calls(
    stub: store_pb2_grpc.StoreServiceStub, run_id: str
) -> dict[str, Callable[[], Any]]:
    """Every call a task makes on a run's document, and the two it does not."""
    value = _bson_value(1)
    return {
        "get": lambda: stub.Get(store_pb2.GetRequest(run_id=run_id, key="k"), timeout=10),
        "set": lambda: stub.Set(
            store_pb2.SetRequest(run_id=run_id, key="k", value=value), timeout=10
        ),
        "push": lambda: stub.Push(
            store_pb2.PushRequest(run_id=run_id, key="list", value=value), timeout=10
        ),
        "extend": lambda: stub.Extend(
            store_pb2.ExtendRequest(run_id=run_id, key="list", values=[value]), timeout=10
        ),
        "delete": lambda: stub.Delete(store_pb2.DeleteRequest(run_id=run_id, key="x"), timeout=10),
        "exists": lambda: stub.Exists(store_pb2.ExistsRequest(run_id=run_id, key="k"), timeout=10),
        "list keys": lambda: stub.ListKeys(store_pb2.ListKeysRequest(run_id=run_id), timeout=10),
        "increment": lambda: stub.Increment(
            store_pb2.IncrementRequest(run_id=run_id, key="n"), timeout=10
        ),
        "get document": lambda: stub.GetDocument(
            store_pb2.GetDocumentRequest(run_id=run_id), timeout=10
        ),
    }


def admin_calls(
    documents: store_pb2_grpc.StoreServiceStub, blobs: blob_pb2_grpc.BlobServiceStub, run_id: str
) -> dict[str, Callable[[], Any]]:
    """The calls on a run that only the schedulers make, with the stack token."""
    return {
        "create document": lambda: documents.CreateDocument(
            store_pb2.CreateDocumentRequest(run_id=run_id), timeout=10
        ),
        "delete document": lambda: documents.DeleteDocument(
            store_pb2.DeleteDocumentRequest(run_id=run_id), timeout=10
        ),
        "set many": lambda: documents.SetMany(store_pb2.SetManyRequest(run_id=run_id), timeout=10),
        "delete blobs": lambda: blobs.DeleteBlobs(
            blob_pb2.DeleteBlobsRequest(run_id=run_id), timeout=10
        ),
    }


def code_of(call: Callable[[], Any]) -> grpc.StatusCode:
    try:
        result = call()
        if isinstance(result, Iterator):
            list(result)
    except grpc.RpcError as err:
        code: grpc.StatusCode = err.code()
        return code
    return grpc.StatusCode.OK


def put_blob(stub: blob_pb2_grpc.BlobServiceStub, run_id: str, data: bytes) -> str:
    requests = [blob_pb2.PutBlobRequest(run_id=run_id), blob_pb2.PutBlobRequest(chunk=data)]
    return str(stub.PutBlob(iter(requests), timeout=10).blob_id)


def get_blob(stub: blob_pb2_grpc.BlobServiceStub, run_id: str, blob_id: str) -> bytes:
    request = blob_pb2.GetBlobRequest(run_id=run_id, blob_id=blob_id)
    return b"".join(r.chunk for r in stub.GetBlob(request, timeout=10))


# -- runs isolated from each other -----------------------------------------------------------


def test_a_run_credential_opens_its_own_run_only(store: ServiceProcess) -> None:
    run_a, run_b = new_run_id(), new_run_id()
    with StoreClient(store.address, TOKEN) as admin:
        admin.create_document(run_a, {"k": "secret of a"})
        admin.create_document(run_b, {"k": "b"})
    admin_blobs = blob_pb2_grpc.BlobServiceStub(open_channel(store.address, TOKEN))
    blob_a = put_blob(admin_blobs, run_a, b"blob of a")

    credential_b = RunCredentials(TOKEN).mint(run_b)
    channel = open_channel(store.address, credential_b)
    documents, blobs = (
        store_pb2_grpc.StoreServiceStub(channel),
        blob_pb2_grpc.BlobServiceStub(channel),
    )

    on_a = {what: code_of(call) for what, call in document_calls(documents, run_a).items()}
    on_a["put blob"] = code_of(lambda: put_blob(blobs, run_a, b"x"))
    on_a["get blob"] = code_of(lambda: get_blob(blobs, run_a, blob_a))
    assert on_a == dict.fromkeys(on_a, grpc.StatusCode.PERMISSION_DENIED)

    on_b = {what: code_of(call) for what, call in document_calls(documents, run_b).items()}
    blob_b = put_blob(blobs, run_b, b"blob of b")
    assert get_blob(blobs, run_b, blob_b) == b"blob of b"
    assert on_b == dict.fromkeys(on_b, grpc.StatusCode.OK)
    # Another run's blob id under its own run names nothing.
    assert code_of(lambda: get_blob(blobs, run_b, blob_a)) == grpc.StatusCode.NOT_FOUND
    # The calls a task never makes are closed to its credential, on any run.
    for run_id in (run_a, run_b):
        for call in admin_calls(documents, blobs, run_id).values():
            assert code_of(call) == grpc.StatusCode.PERMISSION_DENIED

    with StoreClient(store.address, TOKEN) as admin:
        assert admin.get(run_a, "k") == "secret of a"
        assert admin.get_document(run_a) == {"k": "secret of a"}
    assert get_blob(admin_blobs, run_a, blob_a) == b"blob of a"


def test_the_sdk_with_a_run_credential_works_on_its_own_run(store: ServiceProcess) -> None:
    run_id = new_run_id()
    with StoreClient(store.address, TOKEN) as admin:
        admin.create_document(run_id)
        admin.create_document(other := new_run_id())
    credential = RunCredentials(TOKEN).mint(run_id)
    with StoreClient(store.address, credential) as client:
        client.set(run_id, "a.b", [1, 2])
        client.push(run_id, "a.b", 3)
        assert client.get(run_id, "a") == {"b": [1, 2, 3]}
        with pytest.raises(StoreError, match="may not touch") as refused:
            client.get(other, "a")
        assert refused.value.code == grpc.StatusCode.PERMISSION_DENIED
    blobs = BlobClient(store.address, credential)
    try:
        blob_id = blobs.put(run_id, [memoryview(b"task data")])
        assert bytes(blobs.get(run_id, blob_id)) == b"task data"
        with pytest.raises(TaskDataError) as denied:
            blobs.put(other, [memoryview(b"task data")])
        assert denied.value.code == grpc.StatusCode.PERMISSION_DENIED
    finally:
        blobs.close()


class _CreatesDocuments:
    """What a task of a run without arguments sends: a missing document is created."""

    def metadata(self, run_id: str) -> tuple[tuple[str, str], ...]:
        return (CREATE_IF_MISSING,)


def test_a_tasks_call_creates_its_runs_document_but_never_one_of_an_ended_run(
    tmp_path: Path,
) -> None:
    store = start_store(tmp_path)
    try:
        run_id = new_run_id()
        credential = RunCredentials(TOKEN).mint(run_id)
        with StoreClient(store.address, credential, documents=_CreatesDocuments()) as task:
            task.set(run_id, "a", 1)  # no document yet: this call makes it
            assert task.get_document(run_id) == {"a": 1}
            with StoreClient(store.address, TOKEN) as scheduler:
                scheduler.delete_document(run_id, with_task_data=True)  # the run ended
            with pytest.raises(StoreNotFoundError, match="ended"):
                task.set(run_id, "late", 2)  # a thread the task left behind
        # Nor after a restart (the blob folder remembers the runs that ended).
        store.stop()
        store = start_store(tmp_path)
        task = StoreClient(store.address, credential, documents=_CreatesDocuments())
        with task, pytest.raises(StoreNotFoundError):
            task.set(run_id, "late", 3)
        with StoreClient(store.address, TOKEN) as admin, pytest.raises(StoreNotFoundError):
            admin.get_document(run_id)
    finally:
        store.stop()


def test_a_run_credential_reads_its_runs_meta_section_and_may_not_write_it(
    store: ServiceProcess,
) -> None:
    run_id = new_run_id()
    with StoreClient(store.address, TOKEN) as admin:
        admin.create_document(run_id, initial_meta={"name": "engine's"})
    stub = store_pb2_grpc.StoreServiceStub(
        open_channel(store.address, RunCredentials(TOKEN).mint(run_id))
    )
    meta, value = store_pb2.DOCUMENT_SECTION_META, _bson_value(1)
    writes = {
        "set": lambda: stub.Set(
            store_pb2.SetRequest(run_id=run_id, key="name", value=value, section=meta), timeout=10
        ),
        "push": lambda: stub.Push(
            store_pb2.PushRequest(run_id=run_id, key="l", value=value, section=meta), timeout=10
        ),
        "extend": lambda: stub.Extend(
            store_pb2.ExtendRequest(run_id=run_id, key="l", values=[value], section=meta),
            timeout=10,
        ),
        "delete": lambda: stub.Delete(
            store_pb2.DeleteRequest(run_id=run_id, key="name", section=meta), timeout=10
        ),
        "increment": lambda: stub.Increment(
            store_pb2.IncrementRequest(run_id=run_id, key="n", section=meta), timeout=10
        ),
    }
    assert {what: code_of(call) for what, call in writes.items()} == dict.fromkeys(
        writes, grpc.StatusCode.PERMISSION_DENIED
    )
    read = stub.Get(store_pb2.GetRequest(run_id=run_id, key="name", section=meta), timeout=10)
    assert bson.decode(read.value.data) == {"v": "engine's"}
    # Its data section is its own, as before.
    with StoreClient(store.address, RunCredentials(TOKEN).mint(run_id)) as client:
        client.set(run_id, "name", "task's")
        assert client.get(run_id, "name") == "task's"
    with StoreClient(store.address, TOKEN) as admin:
        assert admin.get_document(run_id, section="meta") == {"name": "engine's"}


@pytest.mark.parametrize(
    "credential",
    [
        RunCredentials("another stack's token").mint("a" * 32),
        RunCredentials(TOKEN).mint("a" * 32)[:-2] + "xx",
        "lfrun1." + "a" * 32 + ".forged",
        "lfrun1.",
    ],
)
def test_a_forged_run_credential_opens_nothing(store: ServiceProcess, credential: str) -> None:
    run_id = "a" * 32
    with StoreClient(store.address, TOKEN) as admin:
        admin.create_document(run_id)
    channel = open_channel(store.address, credential)
    documents, blobs = (
        store_pb2_grpc.StoreServiceStub(channel),
        blob_pb2_grpc.BlobServiceStub(channel),
    )
    codes = {what: code_of(call) for what, call in document_calls(documents, run_id).items()}
    codes["put blob"] = code_of(lambda: put_blob(blobs, run_id, b"x"))
    codes["locate"] = code_of(lambda: blobs.Locate(blob_pb2.LocateRequest(), timeout=10))
    assert codes == dict.fromkeys(codes, grpc.StatusCode.UNAUTHENTICATED)


# -- limits before the token -----------------------------------------------------------------


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


# An unauthenticated burst may grow the store by at most this much (its RSS at rest is about
# 60 MiB; the burst adds 20-70 MiB: gRPC's BDP probing grows the flow-control window, and the
# data in flight on a refused stream is still taken off the socket): one of the 200 MiB
# messages read whole would not fit, twenty would be 4,000 MiB.
RSS_GROWTH_BOUND_KIB = 128 * 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_an_unauthenticated_flood_of_large_messages_costs_no_memory(tmp_path: Path) -> None:
    service = start_store(tmp_path)
    try:
        pid = service.process.pid
        before = _rss_kib(pid)
        value = _bson_value(b"x" * (200 * MB))  # one 200 MiB message, sent 20 times
        outcomes: list[tuple[grpc.StatusCode, float]] = []

        def send(token: str | None) -> tuple[grpc.StatusCode, float]:
            stub = store_pb2_grpc.StoreServiceStub(open_channel(service.address, token))
            request = store_pb2.SetRequest(run_id="a" * 32, key="k", value=value)
            started = time.monotonic()
            code = code_of(lambda: stub.Set(request, timeout=60))
            return code, time.monotonic() - started

        peak = before
        with futures.ThreadPoolExecutor(4) as pool:
            pending = [pool.submit(send, token) for token in [None, "wrong token"] * 10]
            while not all(p.done() for p in pending):
                peak = max(peak, _rss_kib(pid))
                time.sleep(0.05)
            outcomes = [p.result() for p in pending]
        after = _rss_kib(pid)
        print(
            f"store RSS: {before} KiB before, {peak} at most, {after} after; calls took"
            f" {sorted(round(seconds, 1) for _, seconds in outcomes)} s"
        )
        refused = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.RESOURCE_EXHAUSTED}
        assert {code for code, _ in outcomes} <= refused, outcomes
        assert max(seconds for _, seconds in outcomes) < 30, outcomes
        assert peak - before < RSS_GROWTH_BOUND_KIB, (before, peak, after)
        assert after - before < RSS_GROWTH_BOUND_KIB, (before, peak, after)
        with StoreClient(service.address, TOKEN) as client:  # and it still serves
            client.create_document("b" * 32)
            client.set("b" * 32, "k", 1)
    finally:
        assert service.stop() == 0, service.log_tail()


# -- files -----------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_the_store_files_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0)  # the service inherits it: every file would be 0666, folders 0777
    try:
        service = start_store(tmp_path, "--inline-limit", "1024")
    finally:
        os.umask(previous)
    data_dir = tmp_path / "store"
    run_id = new_run_id()
    try:
        with StoreClient(service.address, TOKEN) as client:
            client.create_document(run_id)
            client.set(run_id, "large", ("x" * 4096,))  # a large pickle: a file of its own
        blobs = BlobClient(service.address, TOKEN)
        try:
            blobs.put(run_id, [memoryview(b"task data")])  # through the service
            folder = blobs.local_folder()
            assert folder is not None
            previous = os.umask(0)
            try:  # a task process on the same host writes the file itself
                blobs.write_local(folder, new_run_id(), [memoryview(b"task data")])
            finally:
                os.umask(previous)
        finally:
            blobs.close()
        files = [path for path in data_dir.rglob("*") if path.is_file()]
        folders = [data_dir, *(path for path in data_dir.rglob("*") if path.is_dir())]
        assert any(path.name == "lightflow.sqlite3" for path in files)
        assert any(path.name.endswith("-wal") for path in files)
        assert len([p for p in files if p.parent.parent.name == "large-values"]) == 1
        assert len([p for p in files if p.parent.parent.name == "blobs"]) == 2
        assert {str(p): oct(_mode(p)) for p in files} == {str(p): "0o600" for p in files}
        assert {str(p): oct(_mode(p)) for p in folders} == {str(p): "0o700" for p in folders}
    finally:
        assert service.stop() == 0, service.log_tail()


# -- blobs only for live runs, and swept -----------------------------------------------------


def test_blobs_of_a_run_that_ended_are_refused(store: ServiceProcess) -> None:
    blobs = blob_pb2_grpc.BlobServiceStub(open_channel(store.address, TOKEN))
    with_document, without = new_run_id(), new_run_id()
    with StoreClient(store.address, TOKEN) as admin:
        admin.create_document(with_document)
        put_blob(blobs, with_document, b"x")
        put_blob(blobs, without, b"x")
        admin.delete_document(with_document, with_task_data=True)
    blobs.DeleteBlobs(blob_pb2.DeleteBlobsRequest(run_id=without), timeout=10)
    for run_id in (with_document, without):
        with pytest.raises(grpc.RpcError) as err:
            put_blob(blobs, run_id, b"late")
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "ended" in (err.value.details() or "")
    # A task's credential hears the same.
    task = blob_pb2_grpc.BlobServiceStub(
        open_channel(store.address, RunCredentials(TOKEN).mint(with_document))
    )
    assert code_of(lambda: put_blob(task, with_document, b"x")) == (
        grpc.StatusCode.FAILED_PRECONDITION
    )


def test_blobs_nobody_removes_are_swept(tmp_path: Path) -> None:
    service = start_store(tmp_path, "--blob-max-idle", "3")
    folder = tmp_path / "store" / "blobs"
    try:
        blobs = blob_pb2_grpc.BlobServiceStub(open_channel(service.address, TOKEN))
        live, never_existed = new_run_id(), new_run_id()
        with StoreClient(service.address, TOKEN) as admin:
            admin.create_document(live)
            put_blob(blobs, live, b"x")
            put_blob(blobs, never_existed, b"x")
            # A task on the store's host wrote this one itself (no PutBlob saw it).
            local = BlobClient(service.address, TOKEN)
            try:
                written_locally = new_run_id()
                local.write_local(folder, written_locally, [memoryview(b"x")])
            finally:
                local.close()
            assert (folder / never_existed).is_dir()
            assert (folder / written_locally).is_dir()
            assert_eventually(
                lambda: (
                    not (folder / never_existed).exists()
                    and not (folder / written_locally).exists()
                ),
                timeout=20,
            )
            # A run with a document keeps its blobs, however old.
            assert len(list((folder / live).iterdir())) == 1
            admin.delete_document(live)  # without its task data: the sweep takes them
            assert_eventually(lambda: not (folder / live).exists(), timeout=20)
    finally:
        assert service.stop() == 0, service.log_tail()


# -- large values travel on the blob stream --------------------------------------------------


def test_a_large_write_sends_its_values_ahead_as_blobs(store: ServiceProcess) -> None:
    run_id, other = new_run_id(), new_run_id()
    large = b"x" * (100 * MB)
    with StoreClient(store.address, TOKEN) as client:
        client.create_document(run_id)
        client.create_document(other)
        # Whole in one message, it is larger than the store takes.
        stub = store_pb2_grpc.StoreServiceStub(open_channel(store.address, TOKEN))
        request = store_pb2.SetRequest(run_id=run_id, key="k", value=_bson_value(large))
        assert code_of(lambda: stub.Set(request, timeout=60)) == (
            grpc.StatusCode.RESOURCE_EXHAUSTED
        )
        # The SDK streams it to the run's blobs first; the blob goes once the value is stored.
        client.set(run_id, "large", large)
        client.extend(run_id, "list", [b"y" * (10 * MB)] * 3)
        assert client.get(run_id, "large") == large
        assert client.get(run_id, "list") == [b"y" * (10 * MB)] * 3
        folder = BlobClient(store.address, TOKEN).local_folder()
        assert folder is not None
        assert list((folder / run_id).iterdir()) == []
        # A reference names a blob of the write's own run only.
        blob_id = put_blob(
            blob_pb2_grpc.BlobServiceStub(open_channel(store.address, TOKEN)), other, b"x"
        )
        reference = common_pb2.Payload(
            encoding="lightflow/uploaded",
            data=bson.encode({"blob": blob_id, "encoding": "application/bson"}),
        )
        with pytest.raises(grpc.RpcError) as err:
            stub.Set(store_pb2.SetRequest(run_id=run_id, key="k", value=reference), timeout=10)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "is not there" in (err.value.details() or "")
