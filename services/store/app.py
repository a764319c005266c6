"""The store service: its command line (`main`, run by `python -m lightflow_store`), the
config its options make, and `serve(config)`, which `lfctl store start` calls too."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import click
import grpc
import structlog

from lightflow.v1 import blob_pb2_grpc
from lightflow_common.hardening import make_undumpable
from lightflow_common.logging import configure_logging
from lightflow_common.server import ServeOptions
from lightflow_common.server import serve as serve_grpc
from lightflow_common.tls import server_tls, tls_options
from lightflow_store.backends import open_backend
from lightflow_store.blobs import BlobServicer, BlobStore
from lightflow_store.config import StoreConfig
from lightflow_store.core import INLINE_LIMIT_BYTES, StoreCore
from lightflow_store.servicer import register

log = structlog.get_logger(__name__)

SERVICE_NAME = "lightflow.v1.StoreService"
BLOB_SERVICE_NAME = "lightflow.v1.BlobService"

# What a task calls (its `store`, and its task data through BlobClient): a run credential
# opens these, for the task's own run only (the servicers check the run). Creating and
# removing documents and a run's blobs is the schedulers' business, with the stack token.
RUN_CREDENTIAL_METHODS = frozenset(
    {
        *(
            f"/{SERVICE_NAME}/{name}"
            for name in (
                "Get",
                "Set",
                "Push",
                "Extend",
                "Delete",
                "Exists",
                "ListKeys",
                "Increment",
                "GetDocument",
            )
        ),
        *(f"/{BLOB_SERVICE_NAME}/{name}" for name in ("PutBlob", "GetBlob", "Locate")),
    }
)
# The largest message the store takes: a CreateDocument with a run's arguments, which came in
# one StartRun message of at most 64 MiB (the schedulers' limit). The SDK sends a write larger
# than 16 MiB with its largest values ahead as blobs (DIRECT_WRITE_BYTES), streamed in 1 MiB
# chunks. An unauthenticated call is refused on its headers, before its message is read.
MAX_RECEIVE_BYTES = 65 * 1024 * 1024


@click.command()
@click.option(
    "--listen",
    envvar="LIGHTFLOW_STORE_LISTEN",
    default=StoreConfig.listen,
    show_default=True,
    help="host:port to serve on; port 0 picks a free one.",
)
@click.option(
    "--token", envvar="LIGHTFLOW_TOKEN", default=None, help="Shared token callers must send."
)
@click.option(
    "--mongodb-uri",
    envvar="LIGHTFLOW_MONGODB_URI",
    default=None,
    help="Keep documents in MongoDB instead of the embedded store.",
)
@click.option(
    "--data-dir",
    envvar="LIGHTFLOW_STORE_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the embedded store; without it, documents live in memory only.",
)
@click.option(
    "--database",
    envvar="LIGHTFLOW_STORE_DATABASE",
    default=StoreConfig.database,
    show_default=True,
    help="Database holding the run documents.",
)
@click.option(
    "--inline-limit",
    envvar="LIGHTFLOW_STORE_INLINE_LIMIT",
    type=click.IntRange(min=1024),
    default=INLINE_LIMIT_BYTES,
    show_default=True,
    help="Binary values larger than this many bytes are kept outside the document "
    "(GridFS on MongoDB, files or memory when embedded).",
)
@click.option(
    "--blob-max-idle",
    envvar="LIGHTFLOW_STORE_BLOB_MAX_IDLE",
    type=click.FloatRange(min=0),
    default=StoreConfig.blob_max_idle_seconds,
    show_default=True,
    help="Seconds after which the task-data blobs of a run without a store document, "
    "untouched that long, are removed; 0: never.",
)
@click.option(
    "--ready-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the bound address here once serving.",
)
@click.option(
    "--log-level",
    envvar="LIGHTFLOW_LOG_LEVEL",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default=StoreConfig.log_level,
    show_default=True,
)
@tls_options
def main(**options: Any) -> None:
    """Serve the Lightflow store: one document per workflow run."""
    serve(config_from_options(**options))


def config_from_options(
    *,
    listen: str,
    token: str | None,
    mongodb_uri: str | None,
    data_dir: Path | None,
    database: str,
    inline_limit: int,
    blob_max_idle: float,
    ready_file: Path | None,
    log_level: str,
    tls_cert: Path | None,
    tls_key: Path | None,
    tls_ca: Path | None,
    tls_client_auth: bool,
) -> StoreConfig:
    """The config `main`'s options (their names and values) make; click.UsageError for
    options that do not fit together."""
    serving_tls = server_tls(tls_cert, tls_key, tls_ca, tls_client_auth)
    if mongodb_uri and data_dir is not None:
        raise click.UsageError("give --mongodb-uri or --data-dir, not both")
    return StoreConfig(
        listen=listen,
        token=token or None,
        mongodb_uri=mongodb_uri or None,
        data_dir=data_dir,
        database=database,
        inline_limit=inline_limit,
        blob_max_idle_seconds=blob_max_idle,
        ready_file=ready_file,
        log_level=log_level.lower(),
        serving_tls=serving_tls,
    )


def serve(config: StoreConfig) -> None:
    """Runs the store service until SIGTERM or SIGINT. The process's entry point has set
    grpc's transport before grpc was imported (lightflow_common.transport)."""
    configure_logging(config.log_level)
    make_undumpable()
    backend = open_backend(config)
    # Task data too large for the schedulers: files beside the documents, or memory.
    blob_store = BlobStore(config.data_dir / "blobs" if config.data_dir is not None else None)
    core = StoreCore(
        backend.runs,
        backend.blobs,
        inline_limit=config.inline_limit,
        ended_runs=blob_store.gone,  # remembered across restarts
    )

    def add_servicers(server: grpc.Server) -> None:
        register(server, core, drop_task_data=blob_store.delete_run_if_valid, uploads=blob_store)
        blob_pb2_grpc.add_BlobServiceServicer_to_server(
            BlobServicer(blob_store, run_gone=core.was_deleted), server
        )

    stopping = threading.Event()
    if config.blob_max_idle_seconds > 0:
        threading.Thread(
            target=_sweep_blobs,
            args=(blob_store, core, config.blob_max_idle_seconds, stopping),
            name="blob-sweep",
            daemon=True,
        ).start()
    try:
        serve_grpc(
            ServeOptions(
                listen=config.listen,
                token=config.token,
                ready_file=config.ready_file,
                tls=config.serving_tls,
                max_receive_bytes=MAX_RECEIVE_BYTES,
                run_credential_methods=RUN_CREDENTIAL_METHODS,
            ),
            add_servicers,
            service_names=[SERVICE_NAME, BLOB_SERVICE_NAME],
            healthy=backend.ping,
            on_stop=stopping.set,
        )
    finally:
        # Only once the server has stopped: calls finishing in the grace period still need it.
        backend.close()


def _sweep_blobs(
    blobs: BlobStore, core: StoreCore, max_idle: float, stopping: threading.Event
) -> None:
    """Removes, every little while, the blobs nobody else will (see BlobStore.sweep)."""
    interval = min(600.0, max(0.5, max_idle / 4))
    while not stopping.wait(interval):
        try:
            blobs.sweep(max_idle, core.document_exists)
        except Exception:  # the sweep is housekeeping: it must not end the service
            log.exception("blob_sweep_failed")
