"""A worker: its command line (`main`, run by `python -m lightflow_worker`), the config its
options make, and `serve(config)`, which `lfctl worker start` calls too."""

from __future__ import annotations

import os
import secrets
import socket
import threading
from pathlib import Path
from typing import Any

import click
import structlog

from lightflow._grpc import split_addresses
from lightflow_common.hardening import make_undumpable
from lightflow_common.logging import configure_logging
from lightflow_common.server import ServeOptions
from lightflow_common.server import serve as serve_grpc
from lightflow_common.tls import client_tls, server_tls, tls_options
from lightflow_worker.agent import WorkerAgent
from lightflow_worker.config import WorkerConfig
from lightflow_worker.output import OutputLimits

log = structlog.get_logger(__name__)

# What a stack's services may be given that a task must not see (a launcher may give every
# service the same environment).
_SECRETS = ("LIGHTFLOW_TOKEN", "LIGHTFLOW_REDIS_PASSWORD", "LIGHTFLOW_REDIS_URL", "REDISCLI_AUTH")


def _hide_secrets() -> None:
    """Task processes run user code: they must not find the stack token. They inherit the
    environment, so it goes from there, and they cannot read the worker's."""
    for name in _SECRETS:
        os.environ.pop(name, None)
    make_undumpable()


@click.command()
@click.option(
    "--scheduler",
    "schedulers",
    envvar="LIGHTFLOW_ADDRESS",
    required=True,
    help="Scheduler replica addresses, comma separated.",
)
@click.option(
    "--queues",
    envvar="LIGHTFLOW_WORKER_QUEUES",
    default=",".join(WorkerConfig.queues),
    show_default=True,
    help="Queues to take tasks from, comma separated.",
)
@click.option(
    "--concurrency",
    envvar="LIGHTFLOW_WORKER_CONCURRENCY",
    type=click.IntRange(1),
    default=os.cpu_count() or 1,
    show_default="number of CPUs",
)
@click.option("--token", envvar="LIGHTFLOW_TOKEN", default=None)
@click.option("--worker-id", default=None, help="Default: hostname-pid-random.")
@click.option(
    "--listen",
    envvar="LIGHTFLOW_WORKER_LISTEN",
    default=WorkerConfig.listen,
    show_default=True,
    help="host:port of the worker's health service.",
)
@click.option("--ready-file", type=click.Path(path_type=Path), default=None)
@click.option(
    "--grace",
    type=float,
    default=WorkerConfig.grace_s,
    show_default=True,
    help="Seconds running tasks get to finish on SIGTERM.",
)
@click.option(
    "--max-line-length",
    envvar="LIGHTFLOW_WORKER_MAX_LINE_LENGTH",
    type=click.IntRange(80),
    default=OutputLimits.max_line_chars,
    show_default=True,
    help="A printed line longer than this many characters is cut (with a marker).",
)
@click.option(
    "--output-rate",
    envvar="LIGHTFLOW_WORKER_OUTPUT_RATE",
    type=click.FloatRange(min=1.0),
    default=OutputLimits.lines_per_s,
    show_default=True,
    help="Lines a second a task may print; more are dropped and counted (a marker says so).",
)
@click.option(
    "--output-bytes-rate",
    envvar="LIGHTFLOW_WORKER_OUTPUT_BYTES_RATE",
    type=click.FloatRange(min=1024.0),
    default=OutputLimits.bytes_per_s,
    show_default=True,
    help="Bytes a second a task may print; more are dropped and counted.",
)
@click.option(
    "--log-level", envvar="LIGHTFLOW_LOG_LEVEL", default=WorkerConfig.log_level, show_default=True
)
@tls_options
def main(**options: Any) -> None:
    serve(config_from_options(**options))


def config_from_options(
    *,
    schedulers: str,
    queues: str,
    concurrency: int,
    token: str | None,
    worker_id: str | None,
    listen: str,
    ready_file: Path | None,
    grace: float,
    max_line_length: int,
    output_rate: float,
    output_bytes_rate: float,
    log_level: str,
    tls_cert: Path | None,
    tls_key: Path | None,
    tls_ca: Path | None,
    tls_client_auth: bool,
) -> WorkerConfig:
    """The config `main`'s options (their names and values) make; click.UsageError for
    options that do not fit together. The worker id names this process."""
    hostname = socket.gethostname()
    queue_names = tuple(q.strip() for q in queues.split(",") if q.strip())
    if not queue_names:
        raise click.BadParameter("at least one queue is needed", param_hint="--queues")
    return WorkerConfig(
        scheduler_addresses=tuple(split_addresses(schedulers)),
        queues=queue_names,
        concurrency=concurrency,
        token=token or None,
        worker_id=worker_id or f"{hostname}-{os.getpid()}-{secrets.token_hex(2)}",
        hostname=hostname,
        listen=listen,
        ready_file=ready_file,
        grace_s=grace,
        tls=client_tls(tls_cert, tls_key, tls_ca),
        serving_tls=server_tls(tls_cert, tls_key, tls_ca, tls_client_auth),
        log_level=log_level,
        output_limits=OutputLimits(
            max_line_chars=max_line_length,
            lines_per_s=output_rate,
            bytes_per_s=output_bytes_rate,
        ),
    )


def serve(config: WorkerConfig) -> None:
    """Runs the worker until SIGTERM or SIGINT (running tasks get `grace_s` to finish). The
    process's entry point has set grpc's transport before grpc was imported
    (lightflow_common.transport); its task processes inherit it."""
    _hide_secrets()
    configure_logging(config.log_level)
    structlog.contextvars.bind_contextvars(worker_id=config.worker_id)
    agent = WorkerAgent(config)
    threading.Thread(target=agent.run_forever, name="work-stream", daemon=True).start()
    while not agent.connected.wait(5):
        log.info("waiting_for_scheduler", schedulers=list(config.scheduler_addresses))
    serve_grpc(
        ServeOptions(
            listen=config.listen,
            token=config.token,
            ready_file=config.ready_file,
            max_workers=4,
            tls=config.serving_tls,
            # A worker serves health checks and reflection only: small requests.
            max_receive_bytes=64 * 1024,
        ),
        lambda _server: None,
        service_names=["lightflow.v1.Worker"],
        healthy=agent.connected.is_set,
        on_stop=lambda: agent.stop(config.grace_s),
    )
