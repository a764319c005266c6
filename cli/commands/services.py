"""`lfctl scheduler start`, `lfctl store start`, `lfctl worker start`: one service in the
foreground, configured from the same config file as lfctl (and LIGHTFLOW_* variables, and
options), then `python -m lightflow_<service>` takes over the process. And `lfctl health`,
the probe of any service."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from lightflow._tls import TlsOptions, connect
from lightflow_cli.context import Context, pass_context, user_errors

_READY_FILE_HELP = "Write the bound address here once serving (for launchers)."


def _exec_service(
    ctx: Context, module: str, args: list[str], secrets: dict[str, str] | None = None
) -> None:
    """Becomes `python -m module args`: signals reach the service itself. The token (and
    `secrets`) go by environment, so `ps` does not show them."""
    env = dict(os.environ)
    token = ctx.token()
    if token:
        env["LIGHTFLOW_TOKEN"] = token
    env |= {name: value for name, value in (secrets or {}).items() if value}
    env["LIGHTFLOW_LOG_LEVEL"] = str(ctx.config.get("log_level"))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", module, *args], env)  # noqa: S606


def _pick(given: object, ctx: Context, key: str) -> str:
    return str(given) if given is not None else str(ctx.config.get(key))


@click.group()
def scheduler() -> None:
    """Run a scheduler replica."""


@scheduler.command("start")
@click.option("--listen", default=None, help="host:port [config scheduler.listen].")
@click.option("--redis-url", default=None, help="[config scheduler.redis_url]")
@click.option(
    "--redis-sentinels",
    default=None,
    help="Redis Sentinel addresses host:port,... [config scheduler.redis_sentinels].",
)
@click.option(
    "--redis-sentinel-service",
    default=None,
    help="[config scheduler.redis_sentinel_service]",
)
@click.option(
    "--redis-wait-replicas",
    type=click.IntRange(min=0),
    default=None,
    help="[config scheduler.redis_wait_replicas]",
)
@click.option("--store-address", default=None, help="[config scheduler.store_address]")
@click.option("--namespace", default=None, help="Redis key prefix [config scheduler.namespace].")
@click.option(
    "--lease-timeout", type=float, default=None, help="Seconds [config scheduler.lease_timeout]."
)
@click.option("--ready-file", type=click.Path(path_type=Path), default=None, help=_READY_FILE_HELP)
@click.pass_obj
def scheduler_start(
    ctx: Context,
    listen: str | None,
    redis_url: str | None,
    redis_sentinels: str | None,
    redis_sentinel_service: str | None,
    redis_wait_replicas: int | None,
    store_address: str | None,
    namespace: str | None,
    lease_timeout: float | None,
    ready_file: Path | None,
) -> None:
    """Run one scheduler replica in the foreground until Ctrl-C or SIGTERM.

    Start as many as you like, on one redis: they are equal. Options not given come from the
    config file's [scheduler] section and LIGHTFLOW_* variables (`lfctl config list`).
    redis' password comes from there only (scheduler.redis_password or
    LIGHTFLOW_REDIS_PASSWORD) and reaches the scheduler by environment."""
    args = [
        "--listen",
        _pick(listen, ctx, "scheduler.listen"),
        "--redis-url",
        _pick(redis_url, ctx, "scheduler.redis_url"),
        "--store-address",
        _pick(store_address, ctx, "scheduler.store_address"),
        "--namespace",
        _pick(namespace, ctx, "scheduler.namespace"),
        "--lease-timeout",
        _pick(lease_timeout, ctx, "scheduler.lease_timeout"),
        "--redis-sentinels",
        _pick(redis_sentinels, ctx, "scheduler.redis_sentinels"),
        "--redis-sentinel-service",
        _pick(redis_sentinel_service, ctx, "scheduler.redis_sentinel_service"),
        "--redis-wait-replicas",
        _pick(redis_wait_replicas, ctx, "scheduler.redis_wait_replicas"),
        "--retention",
        _pick(None, ctx, "scheduler.retention"),
        "--max-output-lines",
        _pick(None, ctx, "scheduler.max_output_lines"),
        "--max-dag-instances",
        _pick(None, ctx, "scheduler.max_dag_instances"),
    ]
    if ready_file is not None:
        args += ["--ready-file", str(ready_file)]
    password = str(ctx.config.get("scheduler.redis_password"))
    _exec_service(ctx, "lightflow_scheduler", args, {"LIGHTFLOW_REDIS_PASSWORD": password})


@click.command("start")
@click.option("--listen", default=None, help="host:port [config store.listen].")
@click.option(
    "--mongodb-uri", default=None, help="Keep documents in MongoDB [config store.mongodb_uri]."
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Embedded store folder; neither this nor --mongodb-uri: in memory"
    " [config store.data_dir].",
)
@click.option("--database", default=None, help="[config store.database]")
@click.option("--ready-file", type=click.Path(path_type=Path), default=None, help=_READY_FILE_HELP)
@click.pass_obj
def store_start(
    ctx: Context,
    listen: str | None,
    mongodb_uri: str | None,
    data_dir: Path | None,
    database: str | None,
    ready_file: Path | None,
) -> None:
    """Run the store service in the foreground until Ctrl-C or SIGTERM.

    Options not given come from the config file's [store] section and LIGHTFLOW_* variables
    (`lfctl config list`)."""
    args = ["--listen", _pick(listen, ctx, "store.listen")]
    args += ["--database", _pick(database, ctx, "store.database")]
    uri = _pick(mongodb_uri, ctx, "store.mongodb_uri")
    folder = str(data_dir) if data_dir is not None else str(ctx.config.get("store.data_dir"))
    if mongodb_uri is not None and data_dir is None:
        folder = ""  # an explicit MongoDB wins over a configured folder
    if data_dir is not None and mongodb_uri is None:
        uri = ""
    if uri and folder:
        raise click.UsageError("give a MongoDB URI or a data folder, not both")
    if uri:
        args += ["--mongodb-uri", uri]
    if folder:
        args += ["--data-dir", folder]
    if ready_file is not None:
        args += ["--ready-file", str(ready_file)]
    # The service reads these variables for options it is not given: drop the ones we
    # decided against, so it does as the command line says.
    for name in ("LIGHTFLOW_MONGODB_URI", "LIGHTFLOW_STORE_DATA_DIR"):
        os.environ.pop(name, None)
    _exec_service(ctx, "lightflow_store", args)


@click.command("start")
@click.option("--queues", default=None, help="Comma separated [config worker.queues].")
@click.option(
    "--concurrency",
    type=click.IntRange(1),
    default=None,
    help="Task slots [config worker.concurrency].",
)
@click.option("--listen", default=None, help="Health service host:port [config worker.listen].")
@click.option("--ready-file", type=click.Path(path_type=Path), default=None, help=_READY_FILE_HELP)
@click.pass_obj
def worker_start(
    ctx: Context,
    queues: str | None,
    concurrency: int | None,
    listen: str | None,
    ready_file: Path | None,
) -> None:
    """Run a worker in the foreground, connected to the schedulers, until Ctrl-C or SIGTERM.

    The schedulers are --address / LIGHTFLOW_ADDRESS, the config's `address`, or the stack
    `lfctl up` runs in this folder. `lfctl worker stop` stops it gracefully."""
    address = ctx.address()
    queue_names = queues or ",".join(ctx.config.get("worker.queues"))
    args = ["--scheduler", address, "--queues", queue_names]
    args += ["--concurrency", _pick(concurrency, ctx, "worker.concurrency")]
    args += ["--listen", _pick(listen, ctx, "worker.listen")]
    for option, key in (
        ("--max-line-length", "worker.max_line_length"),
        ("--output-rate", "worker.output_rate"),
        ("--output-bytes-rate", "worker.output_bytes_rate"),
    ):
        args += [option, _pick(None, ctx, key)]
    if ready_file is not None:
        args += ["--ready-file", str(ready_file)]
    _exec_service(ctx, "lightflow_worker", args)


@click.command()
@click.argument("address")
@click.option("--service", default="", help="A service name; default: the whole server.")
@click.option("--timeout", type=float, default=3.0, show_default=True, help="Seconds.")
@pass_context
@user_errors
def health(ctx: Context, address: str, service: str, timeout: float) -> None:
    """Exit 0 when the service at ADDRESS (host:port) says SERVING; for healthchecks.

    Every Lightflow service (scheduler, store, worker) serves gRPC health checking; it is
    SERVING only while its own dependencies answer."""
    state = check_health(address, service, timeout, ctx.tls_paths())
    click.echo(f"{address}: {state}")
    if state != "SERVING":
        sys.exit(1)


def check_health(
    address: str, service: str, timeout: float, tls: tuple[str | None, str | None, str | None]
) -> str:
    """The health status name of a service ("SERVING", "NOT_SERVING", ...), or why there is
    none ("UNREACHABLE: ...")."""
    channel = connect(address, None, TlsOptions.from_paths(*tls))
    try:
        stub = health_pb2_grpc.HealthStub(channel)
        response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))
    except grpc.RpcError as err:
        if err.code() == grpc.StatusCode.NOT_FOUND:
            return "UNKNOWN_SERVICE"
        return f"UNREACHABLE: {err.code().name}"
    finally:
        channel.close()
