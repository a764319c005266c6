"""`python -m lightflow_store`: serve the per-run store over gRPC."""

from __future__ import annotations

from pathlib import Path

import click
import grpc
import structlog

from lightflow_common.logging import configure_logging
from lightflow_common.server import ServeOptions, serve
from lightflow_store.backends import open_collection
from lightflow_store.config import DEFAULT_LISTEN, StoreConfig
from lightflow_store.core import StoreCore
from lightflow_store.servicer import register

log = structlog.get_logger(__name__)

SERVICE_NAME = "lightflow.v1.StoreService"


@click.command()
@click.option(
    "--listen",
    envvar="LIGHTFLOW_STORE_LISTEN",
    default=DEFAULT_LISTEN,
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
    default="lightflow",
    show_default=True,
    help="Database holding the run documents.",
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
    default="info",
    show_default=True,
)
def main(
    *,
    listen: str,
    token: str | None,
    mongodb_uri: str | None,
    data_dir: Path | None,
    database: str,
    ready_file: Path | None,
    log_level: str,
) -> None:
    """Serve the Lightflow store: one document per workflow run."""
    if mongodb_uri and data_dir is not None:
        raise click.UsageError("give --mongodb-uri or --data-dir, not both")
    config = StoreConfig(
        listen=listen,
        token=token or None,
        mongodb_uri=mongodb_uri or None,
        data_dir=data_dir,
        database=database,
        ready_file=ready_file,
        log_level=log_level.lower(),
    )
    configure_logging(config.log_level)
    runs = open_collection(config)
    core = StoreCore(runs)

    def add_servicers(server: grpc.Server) -> None:
        register(server, core)

    try:
        serve(
            ServeOptions(listen=config.listen, token=config.token, ready_file=config.ready_file),
            add_servicers,
            service_names=[SERVICE_NAME],
            healthy=runs.ping,
        )
    finally:
        # Only once the server has stopped: calls finishing in the grace period still need it.
        runs.close()


if __name__ == "__main__":
    main()
