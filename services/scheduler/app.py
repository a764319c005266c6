"""One scheduler replica: its command line (`main`, run by `python -m lightflow_scheduler`),
the config its options make, and `serve(config)`, which `lfctl scheduler start` calls too."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import click
import redis
import structlog

from lightflow._store import StoreClient
from lightflow._taskdata import BlobClient
from lightflow.v1 import scheduler_pb2_grpc
from lightflow_common.hardening import make_undumpable
from lightflow_common.logging import configure_logging
from lightflow_common.server import ServeOptions
from lightflow_common.server import serve as serve_grpc
from lightflow_common.tls import client_tls, server_tls, tls_options
from lightflow_scheduler.config import SchedulerConfig
from lightflow_scheduler.core import SchedulerCore
from lightflow_scheduler.redis_client import RedisConfigError, connect, parse_sentinels
from lightflow_scheduler.servicer import SchedulerServicer, SignalServicer, WorkServicer

log = structlog.get_logger(__name__)

SERVICE_NAMES = [
    "lightflow.v1.SchedulerService",
    "lightflow.v1.SignalService",
    "lightflow.v1.WorkService",
]

# What a task's run credential opens: the signals a task sends about its own run, and the
# reads of its provenance (the servicers check the run). Everything else needs the token.
RUN_CREDENTIAL_METHODS = frozenset(
    {
        *(
            f"/lightflow.v1.SignalService/{name}"
            for name in (
                "StartDag",
                "JoinDags",
                "StopDag",
                "IsStopped",
                "EnsureDocument",
                "ReadMeta",
            )
        ),
        "/lightflow.v1.SchedulerService/StopRun",  # signal.stop_workflow
    }
)
# The largest message a scheduler takes: a workflow definition (its tasks' pickled code).
# Task data above 1 MiB travels as blobs through the store, never through a scheduler.
MAX_RECEIVE_BYTES = 64 * 1024 * 1024


def _redis_password(path: Path | None) -> str | None:
    """From the file when one is given, else LIGHTFLOW_REDIS_PASSWORD: there is no option
    for the password itself, so it never shows in `ps`."""
    if path is not None:
        return path.read_text().strip() or None
    return os.environ.get("LIGHTFLOW_REDIS_PASSWORD") or None


def _sweep_forever(core: SchedulerCore, stopped: threading.Event) -> None:
    # A timer only for leases and clean-up, never on a task's path.
    interval = max(0.2, core.config.lease_timeout_s / 3)
    while not stopped.wait(interval):
        try:
            core.timers.sweep()
        except Exception as err:
            log.warning("sweep_failed", error=str(err))


def _fire_timers_forever(core: SchedulerCore, stopped: threading.Event) -> None:
    # Retry delays and run deadlines: timers by nature; every replica fires them, and the
    # scripts let exactly one win each.
    wait = 0.0
    while not stopped.wait(wait):
        try:
            wait = core.timers.fire_due()
        except Exception as err:
            log.warning("timers_failed", error=str(err))
            wait = 1.0


@click.command()
@click.option(
    "--listen",
    envvar="LIGHTFLOW_SCHEDULER_LISTEN",
    default=SchedulerConfig.listen,
    show_default=True,
    help="host:port to serve on (port 0: any free port).",
)
@click.option(
    "--redis-url",
    envvar="LIGHTFLOW_REDIS_URL",
    default=SchedulerConfig.redis_url,
    show_default=True,
)
@click.option(
    "--redis-password-file",
    envvar="LIGHTFLOW_REDIS_PASSWORD_FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="File holding redis' password (mode 0600). Or set LIGHTFLOW_REDIS_PASSWORD; "
    "either way not on the command line, where `ps` shows it.",
)
@click.option(
    "--redis-sentinels",
    envvar="LIGHTFLOW_REDIS_SENTINELS",
    default="",
    help="Redis Sentinel addresses host:port,...: use the primary they name (and follow "
    "its failover) instead of the URL's host and port.",
)
@click.option(
    "--redis-sentinel-service",
    envvar="LIGHTFLOW_REDIS_SENTINEL_SERVICE",
    default=SchedulerConfig.redis_sentinel_service,
    show_default=True,
    help="The name the sentinels monitor the primary under.",
)
@click.option(
    "--redis-wait-replicas",
    envvar="LIGHTFLOW_REDIS_WAIT_REPLICAS",
    type=click.IntRange(min=0),
    default=SchedulerConfig.redis_wait_replicas,
    show_default=True,
    help="Replicas that must have each state transition before it is acknowledged "
    "(redis WAIT); 0: asynchronous replication.",
)
@click.option(
    "--redis-wait-timeout",
    envvar="LIGHTFLOW_REDIS_WAIT_TIMEOUT",
    type=click.IntRange(min=1),
    default=SchedulerConfig.redis_wait_timeout_ms,
    show_default=True,
    help="Milliseconds a WAIT for replicas may take; past it the transition stands on "
    "the primary alone (logged redis_wait_short).",
)
@click.option(
    "--store-address",
    envvar="LIGHTFLOW_STORE_ADDRESS",
    default=SchedulerConfig.store_address,
    show_default=True,
)
@click.option("--token", envvar="LIGHTFLOW_TOKEN", default=None, help="Shared token.")
@click.option(
    "--namespace",
    envvar="LIGHTFLOW_NAMESPACE",
    default=SchedulerConfig.namespace,
    show_default=True,
    help="Prefix of every redis key.",
)
@click.option(
    "--lease-timeout",
    envvar="LIGHTFLOW_LEASE_TIMEOUT",
    type=float,
    default=SchedulerConfig.lease_timeout_s,
    show_default=True,
    help="Seconds without heartbeat before a task is handed out again.",
)
@click.option(
    "--stop-grace",
    envvar="LIGHTFLOW_STOP_GRACE",
    type=float,
    default=SchedulerConfig.stop_grace_s,
    show_default=True,
    help="Seconds a stopped run's running tasks get to finish before they are ended.",
)
@click.option(
    "--document-delay",
    envvar="LIGHTFLOW_DOCUMENT_DELAY",
    type=click.FloatRange(min=0.0),
    default=SchedulerConfig.document_delay_s,
    show_default=True,
    help="Seconds after a run's start its store document is created (sooner when a store "
    "user asks for it, at once for a run with arguments; never for a run that ends first "
    "without keeping its data).",
)
@click.option(
    "--retention",
    envvar="LIGHTFLOW_RETENTION",
    type=click.IntRange(min=60),
    default=SchedulerConfig.retention_s,
    show_default=True,
    help="Seconds an ended run's state, events and printed lines stay readable.",
)
@click.option(
    "--max-output-lines",
    envvar="LIGHTFLOW_MAX_OUTPUT_LINES",
    type=click.IntRange(min=100),
    default=SchedulerConfig.max_output_lines,
    show_default=True,
    help="Printed lines a run keeps; past this its oldest lines are trimmed (never its "
    "state transitions).",
)
@click.option(
    "--max-dag-instances",
    envvar="LIGHTFLOW_MAX_DAG_INSTANCES",
    type=click.IntRange(min=1),
    default=SchedulerConfig.max_dag_instances,
    show_default=True,
    help="DAG instances one run may start; a start_dag past this fails its task.",
)
@click.option(
    "--ready-file",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the bound address here once serving.",
)
@click.option(
    "--log-level",
    envvar="LIGHTFLOW_LOG_LEVEL",
    default=SchedulerConfig.log_level,
    show_default=True,
)
@tls_options
def main(**options: Any) -> None:
    serve(config_from_options(**options))


def config_from_options(
    *,
    listen: str,
    redis_url: str,
    redis_password_file: Path | None,
    redis_sentinels: str,
    redis_sentinel_service: str,
    redis_wait_replicas: int,
    redis_wait_timeout: int,
    store_address: str,
    token: str | None,
    namespace: str,
    lease_timeout: float,
    stop_grace: float,
    document_delay: float,
    retention: int,
    max_output_lines: int,
    max_dag_instances: int,
    ready_file: Path | None,
    log_level: str,
    tls_cert: Path | None,
    tls_key: Path | None,
    tls_ca: Path | None,
    tls_client_auth: bool,
) -> SchedulerConfig:
    """The config `main`'s options (their names and values) make; click.UsageError for
    options that do not fit together."""
    try:
        sentinels = parse_sentinels(redis_sentinels)
    except RedisConfigError as err:
        raise click.BadParameter(str(err), param_hint="--redis-sentinels") from err
    return SchedulerConfig(
        listen=listen,
        redis_url=redis_url,
        redis_password=_redis_password(redis_password_file),
        redis_sentinels=sentinels,
        redis_sentinel_service=redis_sentinel_service,
        redis_wait_replicas=redis_wait_replicas,
        redis_wait_timeout_ms=redis_wait_timeout,
        store_address=store_address,
        token=token or None,
        namespace=namespace,
        lease_timeout_s=lease_timeout,
        stop_grace_s=stop_grace,
        document_delay_s=document_delay,
        retention_s=retention,
        max_output_lines=max_output_lines,
        max_dag_instances=max_dag_instances,
        ready_file=ready_file,
        log_level=log_level,
        serving_tls=server_tls(tls_cert, tls_key, tls_ca, tls_client_auth),
        calling_tls=client_tls(tls_cert, tls_key, tls_ca),
    )


def serve(config: SchedulerConfig) -> None:
    """Runs one scheduler replica until SIGTERM or SIGINT. The process's entry point has set
    grpc's transport before grpc was imported (lightflow_common.transport)."""
    configure_logging(config.log_level)
    make_undumpable()  # it holds the token and redis' password
    # Blocking reads (XREADGROUP, JoinDags' XREAD) wait up to 30 s: the client's socket
    # timeout is longer, and TCP keepalive finds a primary that vanished under one.
    client = connect(config.redis_target, config.redis_durability)
    # Store calls retry while the store service restarts, but not for longer than a client
    # waits for StartRun.
    store = StoreClient(
        config.store_address, config.token, retry_seconds=10.0, tls=config.calling_tls
    )
    blobs = BlobClient(config.store_address, config.token, tls=config.calling_tls)
    core = SchedulerCore(config, client, store, blobs)
    stopped = threading.Event()
    threading.Thread(target=_sweep_forever, args=(core, stopped), daemon=True).start()
    threading.Thread(target=_fire_timers_forever, args=(core, stopped), daemon=True).start()

    def register(server: object) -> None:
        scheduler_pb2_grpc.add_SchedulerServiceServicer_to_server(SchedulerServicer(core), server)
        scheduler_pb2_grpc.add_SignalServiceServicer_to_server(SignalServicer(core), server)
        scheduler_pb2_grpc.add_WorkServiceServicer_to_server(WorkServicer(core), server)

    def healthy() -> bool:
        try:
            return core.healthy()
        except redis.RedisError:
            return False

    serve_grpc(
        ServeOptions(
            listen=config.listen,
            token=config.token,
            ready_file=config.ready_file,
            tls=config.serving_tls,
            max_receive_bytes=MAX_RECEIVE_BYTES,
            run_credential_methods=RUN_CREDENTIAL_METHODS,
        ),
        register,
        service_names=SERVICE_NAMES,
        healthy=healthy,
        on_stop=stopped.set,
    )
