"""`lfctl scheduler start`, `lfctl store start`, `lfctl worker start`: one service in the
foreground, in this process, configured from the same config file as lfctl (and LIGHTFLOW_*
variables, and options): the values become the service's config dataclass and its
`serve(config)` runs (lightflow_<service>.app). And `lfctl health`, the probe of any service.

What lfctl has no setting for (the TLS files, LIGHTFLOW_STOP_GRACE, ...) comes through the
service's own options, as `python -m lightflow_<service>` would take it from the environment;
the values lfctl has go through the same options' checks. So both ways to start a service
read the same variables and defaults and say the same about a wrong value."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from lightflow._tls import TlsOptions, connect
from lightflow_cli.context import Context, pass_context, user_errors

_READY_FILE_HELP = "Write the bound address here once serving (for launchers)."


def _pick(given: object, ctx: Context, key: str) -> Any:
    return given if given is not None else ctx.config.get(key)


def _service_options(
    prog: str, options: click.Command, given: Mapping[str, object]
) -> click.Context:
    """The values of a service's options (`options`, its click command, run as `prog`):
    those in `given` as if typed on its command line (None: not given, and not looked up),
    every other one from its LIGHTFLOW_* variable or its default, each checked by its type.
    Returns the click context holding them (`.params`); `ctx.invoke(build, **ctx.params)`
    makes the config, and a wrong value is a usage error of `prog`, as it was when lfctl ran
    that command."""
    rest = click.Command(prog, params=[p for p in options.params if p.name not in given])
    ctx = rest.make_context(prog, [])
    for param in options.params:
        if param.name in given:
            value = given[param.name]
            ctx.params[param.name] = None if value is None else param.process_value(ctx, value)
    return ctx


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
    from lightflow_scheduler import app  # noqa: PLC0415 - the service loads only to run

    service = _service_options(
        "python -m lightflow_scheduler",
        app.main,
        {
            "listen": _pick(listen, ctx, "scheduler.listen"),
            "redis_url": _pick(redis_url, ctx, "scheduler.redis_url"),
            "store_address": _pick(store_address, ctx, "scheduler.store_address"),
            "namespace": _pick(namespace, ctx, "scheduler.namespace"),
            "lease_timeout": _pick(lease_timeout, ctx, "scheduler.lease_timeout"),
            "redis_sentinels": _pick(redis_sentinels, ctx, "scheduler.redis_sentinels"),
            "redis_sentinel_service": _pick(
                redis_sentinel_service, ctx, "scheduler.redis_sentinel_service"
            ),
            "redis_wait_replicas": _pick(redis_wait_replicas, ctx, "scheduler.redis_wait_replicas"),
            "retention": ctx.config.get("scheduler.retention"),
            "max_output_lines": ctx.config.get("scheduler.max_output_lines"),
            "max_dag_instances": ctx.config.get("scheduler.max_dag_instances"),
            "ready_file": ready_file,
            "token": ctx.token(),
            "log_level": ctx.config.get("log_level"),
        },
    )
    config = service.invoke(app.config_from_options, **service.params)
    if service.params["redis_password_file"] is None:
        # The config file's password; LIGHTFLOW_REDIS_PASSWORD, which the service reads too,
        # wins over it there. A password file (LIGHTFLOW_REDIS_PASSWORD_FILE) wins over both.
        password = str(ctx.config.get("scheduler.redis_password")) or None
        config = replace(config, redis_password=password)
    app.serve(config)


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
    from lightflow_store import app  # noqa: PLC0415 - the service loads only to run

    listen = _pick(listen, ctx, "store.listen")
    database = _pick(database, ctx, "store.database")
    uri = str(_pick(mongodb_uri, ctx, "store.mongodb_uri"))
    folder = str(data_dir) if data_dir is not None else str(ctx.config.get("store.data_dir"))
    if mongodb_uri is not None and data_dir is None:
        folder = ""  # an explicit MongoDB wins over a configured folder
    if data_dir is not None and mongodb_uri is None:
        uri = ""
    if uri and folder:
        raise click.UsageError("give a MongoDB URI or a data folder, not both")
    service = _service_options(
        "python -m lightflow_store",
        app.main,
        {
            "listen": listen,
            "database": database,
            # Decided here, from the options, the file and their variables: the service
            # does not look these two up again.
            "mongodb_uri": uri or None,
            "data_dir": Path(folder) if folder else None,
            "ready_file": ready_file,
            "token": ctx.token(),
            "log_level": ctx.config.get("log_level"),
        },
    )
    app.serve(service.invoke(app.config_from_options, **service.params))


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
    from lightflow_worker import app  # noqa: PLC0415 - the service loads only to run

    address = ctx.address()
    service = _service_options(
        "python -m lightflow_worker",
        app.main,
        {
            "schedulers": address,
            "queues": queues or ",".join(ctx.config.get("worker.queues")),
            "concurrency": _pick(concurrency, ctx, "worker.concurrency"),
            "listen": _pick(listen, ctx, "worker.listen"),
            "max_line_length": ctx.config.get("worker.max_line_length"),
            "output_rate": ctx.config.get("worker.output_rate"),
            "output_bytes_rate": ctx.config.get("worker.output_bytes_rate"),
            "ready_file": ready_file,
            "token": ctx.token(),
            "log_level": ctx.config.get("log_level"),
        },
    )
    # `lfctl worker stop` knows this process for a worker by its command line
    # (commands/worker.py).
    app.serve(service.invoke(app.config_from_options, **service.params))


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
