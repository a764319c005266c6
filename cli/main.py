"""lfctl: the Lightflow command line. Every command talks gRPC to the scheduler replicas;
`lfctl run` and `lfctl up` also start a local stack of real service processes, and
`lfctl scheduler|store|worker start` run one service in the foreground."""

from __future__ import annotations

import functools
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import click

from lightflow._client import Client, ClientError, Run, RunInfo
from lightflow._errors import LightflowError
from lightflow._stackfile import StackInfo, read_stack_file, remove_stack_file, write_stack_file
from lightflow._workflow import (
    WorkflowNotFoundError,
    find_workflow,
    list_workflows,
    load_workflow,
)
from lightflow_cli._output import console, is_terminal, local_time, print_table, seconds_text
from lightflow_cli._procs import ProcessStartError
from lightflow_cli.config import (
    CONFIG_NAME,
    DEFAULT_CONFIG,
    CliConfig,
    ConfigError,
    load_config,
    shown,
)
from lightflow_cli.services_cmd import (
    check_health,
    scheduler,
    stop_workers,
    store_start,
    worker_start,
)
from lightflow_cli.stack import LocalStack, StackOptions
from lightflow_cli.store_cmd import store
from lightflow_cli.views import RunBoard, follow_live, follow_plain

F = TypeVar("F", bound=Callable[..., Any])

# A command for a person: give up on unreachable schedulers after a few seconds, not 30.
CLI_FAILOVER_SECONDS = 5.0


def _user_errors(fn: F) -> F:
    """Errors a user can make end in one clear line and exit status 1, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (LightflowError, ConfigError, ProcessStartError) as err:
            raise click.ClickException(str(err)) from err

    return wrapper  # type: ignore[return-value]


class _Lfctl(click.Group):
    """The top-level group: a user error from any command, however deep, is one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (LightflowError, ConfigError, ProcessStartError) as err:
            raise click.ClickException(str(err)) from err


class Context:
    """What every command may need: the config (loaded on first use) and a client."""

    def __init__(
        self,
        config_path: Path | None,
        address: str | None,
        token: str | None,
        tls: tuple[Path | None, Path | None, Path | None] = (None, None, None),
    ) -> None:
        self._config_path = config_path
        self._address = address
        self._token = token
        self._tls = tls
        self._config: CliConfig | None = None

    @property
    def config(self) -> CliConfig:
        if self._config is None:
            self._config = load_config(self._config_path)
        return self._config

    def token(self) -> str | None:
        """--token / $LIGHTFLOW_TOKEN, else the config file's, else the local stack's."""
        if self._token:
            return self._token
        configured = str(self.config.get("token"))
        if configured:
            return configured
        stack = read_stack_file(Path.cwd())
        return stack.token if stack is not None else None

    def address(self) -> str:
        """--address / $LIGHTFLOW_ADDRESS, else the config file's, else the local stack's."""
        address = self._address or self.config.address
        if not address:
            stack = read_stack_file(Path.cwd())
            if stack is None:
                raise ClientError(
                    "no Lightflow stack found: start one with `lfctl up` in this folder,"
                    " or give --address / LIGHTFLOW_ADDRESS"
                )
            address = ",".join(stack.scheduler_addresses)
        return address

    def tls_paths(self) -> tuple[str | None, str | None, str | None]:
        keys = ("tls.ca", "tls.cert", "tls.key")
        return tuple(  # type: ignore[return-value]
            str(given) if given else (str(self.config.get(key)) or None)
            for given, key in zip(self._tls, keys, strict=True)
        )

    def client(self) -> Client:
        ca, cert, key = self.tls_paths()
        return Client(
            self.address(),
            token=self.token(),
            tls_ca=ca,
            tls_cert=cert,
            tls_key=key,
            failover_timeout=CLI_FAILOVER_SECONDS,
        )


pass_context = click.make_pass_decorator(Context)


# -h as well as --help, on every command (subcommands inherit their parent's setting).
_CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


@click.group(cls=_Lfctl, context_settings=_CONTEXT_SETTINGS)
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Config file (default: $LIGHTFLOW_CONFIG, ./lightflow.cfg, ~/lightflow.cfg).",
)
@click.option(
    "--address",
    envvar="LIGHTFLOW_ADDRESS",
    default=None,
    help="Scheduler replica addresses, comma separated [env LIGHTFLOW_ADDRESS].",
)
@click.option(
    "--token", envvar="LIGHTFLOW_TOKEN", default=None, help="Shared token [env LIGHTFLOW_TOKEN]."
)
@click.option(
    "--tls-ca",
    envvar="LIGHTFLOW_TLS_CA",
    type=click.Path(path_type=Path),
    default=None,
    help="CA certificate (PEM) to check the services with; turns on TLS [env LIGHTFLOW_TLS_CA].",
)
@click.option(
    "--tls-cert",
    envvar="LIGHTFLOW_TLS_CERT",
    type=click.Path(path_type=Path),
    default=None,
    help="Client certificate (PEM) for mutual TLS [env LIGHTFLOW_TLS_CERT].",
)
@click.option(
    "--tls-key",
    envvar="LIGHTFLOW_TLS_KEY",
    type=click.Path(path_type=Path),
    default=None,
    help="The client certificate's key (PEM) [env LIGHTFLOW_TLS_KEY].",
)
@click.version_option(package_name="lightflow")
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: Path | None,
    address: str | None,
    token: str | None,
    tls_ca: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
) -> None:
    """Lightflow: a lightweight, distributed workflow system.

    Settings come from the config file, LIGHTFLOW_* environment variables and options, in
    that order of precedence from lowest to highest; `lfctl config list` shows the result."""
    ctx.obj = Context(config_path, address, token, (tls_ca, tls_cert, tls_key))


# -- output ---------------------------------------------------------------------------------


def _status_line(run_id: str, workflow: str, status: str, seconds: float | None = None) -> str:
    took = f" in {seconds:.2f} s" if seconds is not None else ""
    return f"run {run_id} of {workflow}: {status}{took}"


def follow_run(handle: Run, workflow: str, *, verbose: bool) -> str:
    """Follows a run to its end: a live board on a terminal, plain lines otherwise."""
    if is_terminal():
        board = RunBoard(handle.id, workflow)
        return follow_live(handle.events(), board, handle.info, console())
    return follow_plain(handle.events(), verbose=verbose)


# -- lfctl run / up -------------------------------------------------------------------------


def parse_arguments(pairs: tuple[str, ...]) -> dict[str, str]:
    """KEY=VALUE words into a dict; the schedulers convert them by the workflow's options."""
    arguments = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="ARGUMENTS")
        arguments[key] = value
    return arguments


@cli.command()
@click.argument("workflow_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("arguments", nargs=-1)
@click.option("--schedulers", type=click.IntRange(1), default=None, help="Scheduler replicas.")
@click.option("--concurrency", type=click.IntRange(1), default=None, help="Worker task slots.")
@click.option("--keep-data", is_flag=True, help="Keep the run's store document.")
@click.option("-v", "--verbose", is_flag=True, help="Also show task and DAG transitions.")
@pass_context
@_user_errors
def run(
    ctx: Context,
    workflow_file: Path,
    arguments: tuple[str, ...],
    schedulers: int | None,
    concurrency: int | None,
    keep_data: bool,
    verbose: bool,
) -> None:
    """Run a workflow file on a local stack started for it, then stop the stack.

    ARGUMENTS are KEY=VALUE run arguments. Starts redis, the store service on an embedded
    store, scheduler replicas and a worker for every queue the workflow uses. Exit status 0
    only when the run succeeded."""
    run_arguments = parse_arguments(arguments)
    workflow = load_workflow(workflow_file)
    queues = tuple(sorted({task.queue for dag in workflow.dags for task in dag.tasks}))
    settings = ctx.config.stack
    options = StackOptions(
        schedulers=schedulers or settings.schedulers,
        workers=1,
        concurrency=concurrency or settings.concurrency,
        queues=queues,
        # A one-shot stack: nothing would start its redis again, so it keeps no file.
        redis_appendonly=False,
    )
    stack = LocalStack(options)
    _stop_on_signals()
    try:
        stack.start()
        client = Client(stack.scheduler_addresses, token=options.token)
        client.register(workflow_file)
        started = time.monotonic()
        handle = client.start(workflow.name, run_arguments, keep_data=keep_data)
        status = follow_run(handle, workflow.name, verbose=verbose)
        click.echo(_status_line(handle.id, workflow.name, status, time.monotonic() - started))
        client.close()
    except KeyboardInterrupt:
        click.echo("interrupted: stopping the stack", err=True)
        status = "stopped"
    finally:
        stack.stop()
    sys.exit(0 if status == "succeeded" else 1)


def _stop_on_signals() -> None:
    # SIGTERM takes the same path as Ctrl-C, so the stack is stopped either way. SIGINT is
    # set too: a shell starts background jobs with SIGINT ignored.
    def handler(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@cli.command()
@click.option("--schedulers", type=click.IntRange(1), default=None, help="Scheduler replicas.")
@click.option("--workers", type=click.IntRange(0), default=None, help="Worker processes.")
@click.option("--concurrency", type=click.IntRange(1), default=None, help="Slots per worker.")
@click.option("--queues", default="task", show_default=True, help="Worker queues, comma separated.")
@click.option(
    "--store-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Embedded store folder (default: .lightflow/store).",
)
@pass_context
@_user_errors
def up(
    ctx: Context,
    schedulers: int | None,
    workers: int | None,
    concurrency: int | None,
    queues: str,
    store_dir: Path | None,
) -> None:
    """Start a local stack in the foreground until Ctrl-C.

    Registers the workflows of the configured folders; lfctl commands run in this folder
    find the stack without further options."""
    here = Path.cwd()
    existing = read_stack_file(here)
    if existing is not None:
        raise click.ClickException(
            f"a stack already runs for this folder (lfctl up, pid {existing.pid})"
        )
    settings = ctx.config.stack
    options = StackOptions(
        schedulers=schedulers or settings.schedulers,
        workers=settings.workers if workers is None else workers,
        concurrency=concurrency or settings.concurrency,
        queues=tuple(q.strip() for q in queues.split(",") if q.strip()),
        store_dir=store_dir or here / ".lightflow" / "store",
    )
    stack = LocalStack(options)
    _stop_on_signals()
    try:
        stack.start()
        write_stack_file(
            here,
            StackInfo(
                stack.scheduler_addresses,
                stack.store.address if stack.store else "",
                stack.redis_url,
                options.token,
                os.getpid(),
            ),
        )
        client = Client(stack.scheduler_addresses, token=options.token)
        registered = _register_folders(client, ctx.config)
        click.echo(f"schedulers: {','.join(stack.scheduler_addresses)}")
        click.echo(f"store: {stack.store.address if stack.store else ''}")
        click.echo(f"redis: {stack.redis_url}")
        click.echo(
            f"workers: {len(stack.workers)} x {options.concurrency} slots on"
            f" {','.join(options.queues)}"
        )
        click.echo(f"workflows: {', '.join(registered) or 'none'}")
        click.echo(f"logs: {stack.log_dir}")
        click.echo("Lightflow is up; Ctrl-C stops it.", err=True)
        _keep_redis_up(stack)
    except KeyboardInterrupt:
        click.echo("stopping", err=True)
    finally:
        remove_stack_file(here)
        stack.stop()


def _keep_redis_up(stack: LocalStack) -> None:
    """Until Ctrl-C: a redis that died is started again on its port and folder, and its
    append-only file brings back every registration and run (the schedulers reconnect)."""
    watch = threading.Event()
    while not watch.wait(1.0):
        if stack.redis is not None and not stack.redis.alive():
            click.secho(
                f"redis exited ({stack.redis.process.returncode}): starting it again",
                fg="yellow",
                err=True,
            )
            try:
                stack.restart_redis()
            except ProcessStartError as err:
                click.secho(f"redis did not start again: {err}", fg="red", err=True)


def _register_folders(client: Client, config: CliConfig) -> list[str]:
    names = []
    for path in list_workflows(config.workflow_folders):
        try:
            names.append(client.register(path))
        except LightflowError as err:
            click.secho(f"skipped {path}: {err}", fg="yellow", err=True)
    return names


# -- lfctl workflow -------------------------------------------------------------------------


@cli.group()
def workflow() -> None:
    """List, register, start, stop, watch and inspect workflows and their runs."""


@workflow.command("list")
@click.option(
    "--registered", is_flag=True, help="List the workflows registered with the schedulers instead."
)
@pass_context
@_user_errors
def workflow_list(ctx: Context, registered: bool) -> None:
    """The workflows of the configured folders (or, with --registered, the schedulers')."""
    if registered:
        with ctx.client() as client:
            workflows = client.list_workflows()
        rows = [
            [w.name, ", ".join(w.dag_names), local_time(w.registered_at), w.definition_hash[:12]]
            for w in sorted(workflows, key=lambda w: w.name)
        ]
        if not rows:
            click.echo("no workflows registered")
            return
        print_table(("name", "dags", "registered", "definition"), rows)
        return
    rows = []
    for path in list_workflows(ctx.config.workflow_folders):
        try:
            wf = load_workflow(path)
        except LightflowError as err:
            rows.append([path.stem, f"(invalid: {err})", str(path)])
            continue
        rows.append([wf.name, wf.description, str(path)])
    if not rows:
        folders = ", ".join(str(f) for f in ctx.config.workflow_folders)
        click.echo(f"no workflows in {folders}")
        return
    print_table(("name", "description", "file"), rows)


@workflow.command("register")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
@_user_errors
def workflow_register(ctx: Context, path: Path) -> None:
    """Register a workflow file with the schedulers."""
    with ctx.client() as client:
        click.echo(f"registered {client.register(path)}")


@workflow.command("start")
@click.argument("name")
@click.argument("arguments", nargs=-1)
@click.option("--keep-data", is_flag=True, help="Keep the run's store document.")
@click.option("--wait", is_flag=True, help="Follow the run and exit with its outcome.")
@click.option(
    "--deadline",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Seconds the run may take; past it the run ends failed.",
)
@pass_context
@_user_errors
def workflow_start(
    ctx: Context,
    name: str,
    arguments: tuple[str, ...],
    keep_data: bool,
    wait: bool,
    deadline: float | None,
) -> None:
    """Start workflow NAME; print the run's id.

    A workflow of the configured folders is registered first (its current version); any
    other NAME must be registered already. ARGUMENTS are KEY=VALUE run arguments."""
    run_arguments = parse_arguments(arguments)
    try:
        path: Path | None = find_workflow(name, ctx.config.workflow_folders)
    except WorkflowNotFoundError as not_found:
        path, missing = None, not_found
    with ctx.client() as client:
        if path is not None:
            client.register(path)
        elif name not in {w.name for w in client.list_workflows()}:
            raise missing
        started = time.monotonic()
        handle = client.start(name, run_arguments, keep_data=keep_data, deadline=deadline)
        click.echo(handle.id)
        if wait:
            status = follow_run(handle, name, verbose=False)
            click.echo(_status_line(handle.id, name, status, time.monotonic() - started))
            sys.exit(0 if status == "succeeded" else 1)


@workflow.command("stop")
@click.argument("run_ids", nargs=-1, required=True)
@pass_context
@_user_errors
def workflow_stop(ctx: Context, run_ids: tuple[str, ...]) -> None:
    """Stop runs: nothing new starts, running tasks finish."""
    with ctx.client() as client:
        for run_id in run_ids:
            click.echo(f"{run_id}: {client.run(run_id).stop()}")


@workflow.command("status")
@click.argument("run_id", required=False)
@click.option("--details", is_flag=True, help="Also workers, times and failures' tracebacks.")
@click.option(
    "--status",
    "only",
    type=click.Choice(["running", "stopping", "succeeded", "failed", "aborted", "stopped"]),
    default=None,
    help="Only runs in this status.",
)
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@pass_context
@_user_errors
def workflow_status(
    ctx: Context, run_id: str | None, details: bool, only: str | None, limit: int
) -> None:
    """Runs, newest first, and their status; with RUN_ID, that run's DAGs and tasks."""
    with ctx.client() as client:
        if run_id is None:
            runs = client.list_runs(status=only, limit=limit)
            if not runs:
                click.echo("no runs")
                return
            headers = ["run", "workflow", "status", "started", "duration"]
            if details:
                headers.append("failure")
            rows = []
            for info in runs:
                row = [
                    info.id,
                    info.workflow_name,
                    info.status,
                    local_time(info.started_at),
                    seconds_text(info.duration),
                ]
                if details:
                    failure = info.failure
                    row.append(f"{failure.type}: {failure.message}" if failure else "")
                rows.append(row)
            print_table(headers, rows)
            return
        _show_run(client.get_run(run_id), details=details)


def _show_run(info: RunInfo, *, details: bool) -> None:
    took = f", took {seconds_text(info.duration)}" if info.duration is not None else ""
    click.echo(
        f"run {info.id} of {info.workflow_name}: {info.status}"
        f" (started {local_time(info.started_at)}{took})"
    )
    if info.failure is not None:
        click.secho(f"failure: {info.failure.type}: {info.failure.message}", fg="red")
    headers = ["dag", "task", "status", "duration", "attempt", "queue"]
    if details:
        headers += ["worker", "started", "ended"]
    rows = []
    for dag in info.dag_instances:
        for task in (t for t in info.tasks if t.dag_instance == dag.instance):
            took_s = None
            if task.started_at is not None and task.ended_at is not None:
                took_s = (task.ended_at - task.started_at).total_seconds()
            row = [
                f"{dag.instance} ({dag.status})",
                task.name,
                task.status,
                seconds_text(took_s),
                str(task.attempt or ""),
                task.queue,
            ]
            if details:
                row += [
                    task.worker_id,
                    local_time(task.started_at, date=False),
                    local_time(task.ended_at, date=False),
                ]
            rows.append(row)
    print_table(headers, rows)
    if details:
        for task in info.tasks:
            if task.failure is not None and task.failure.stack_trace:
                click.echo(f"\n{task.dag_instance}/{task.name}: {task.failure.type}")
                click.echo(task.failure.stack_trace.rstrip())


@workflow.command("watch")
@click.argument("run_id")
@click.option("-v", "--verbose", is_flag=True, help="Plain output: also task transitions.")
@pass_context
@_user_errors
def workflow_watch(ctx: Context, run_id: str, verbose: bool) -> None:
    """Follow a run to its end: its tasks live, and what they print.

    On a terminal a table of the tasks updates in place; otherwise each printed line comes
    as `[dag/task] line`. Exit status 0 only when the run succeeded."""
    with ctx.client() as client:
        handle = client.run(run_id)
        info = handle.info()
        status = follow_run(handle, info.workflow_name, verbose=verbose)
        final = handle.info()
        click.echo(_status_line(run_id, info.workflow_name, status, final.duration))
    sys.exit(0 if status == "succeeded" else 1)


# -- lfctl monitor ---------------------------------------------------------------------------


@cli.command()
@click.option("--once", is_flag=True, help="Print the runs table once and exit.")
@click.option(
    "--duration",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Stop after this many seconds (default: until Ctrl-C).",
)
@click.option(
    "--interval",
    type=click.FloatRange(0.1),
    default=1.0,
    show_default=True,
    help="Seconds between looks for new runs.",
)
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True, help="Runs shown.")
@pass_context
@_user_errors
def monitor(ctx: Context, once: bool, duration: float | None, interval: float, limit: int) -> None:
    """Every run's events as they happen.

    On a terminal, a table of the latest runs (status, duration, tasks done, last event)
    updating in place; otherwise one line per event: time, run, workflow, event."""
    from lightflow_cli.monitor import run_monitor  # noqa: PLC0415

    with ctx.client() as client:
        run_monitor(client, once=once, duration=duration, interval=interval, limit=limit)


# -- lfctl health ----------------------------------------------------------------------------


@cli.command()
@click.argument("address")
@click.option("--service", default="", help="A service name; default: the whole server.")
@click.option("--timeout", type=float, default=3.0, show_default=True, help="Seconds.")
@pass_context
@_user_errors
def health(ctx: Context, address: str, service: str, timeout: float) -> None:
    """Exit 0 when the service at ADDRESS (host:port) says SERVING; for healthchecks.

    Every Lightflow service (scheduler, store, worker) serves gRPC health checking; it is
    SERVING only while its own dependencies answer."""
    state = check_health(address, service, timeout, ctx.tls_paths())
    click.echo(f"{address}: {state}")
    if state != "SERVING":
        sys.exit(1)


# -- lfctl worker ---------------------------------------------------------------------------


@cli.group()
def worker() -> None:
    """Start and stop workers, and see the connected ones."""


@worker.command("status")
@pass_context
@_user_errors
def worker_status(ctx: Context) -> None:
    """The workers connected now."""
    with ctx.client() as client:
        workers = client.list_workers()
    if not workers:
        click.echo("no workers")
        return
    rows = [
        [
            w.worker_id,
            ",".join(w.queues),
            f"{w.running}/{w.concurrency}",
            w.hostname,
            str(w.pid),
            local_time(w.last_seen, date=False),
        ]
        for w in sorted(workers, key=lambda w: w.worker_id)
    ]
    print_table(("worker", "queues", "running", "host", "pid", "last seen"), rows)


@worker.command("stop")
@click.argument("worker_ids", nargs=-1)
@click.option(
    "--timeout",
    type=click.FloatRange(0),
    default=60.0,
    show_default=True,
    help="Seconds to wait for each worker to exit.",
)
@pass_context
@_user_errors
def worker_stop(ctx: Context, worker_ids: tuple[str, ...], timeout: float) -> None:
    """Stop workers gracefully: the given WORKER_IDS, or every worker of this host.

    Asks the schedulers which workers are connected and sends SIGTERM to those running on
    this machine (by host name and PID, checked to be a Lightflow worker). A worker that gets
    SIGTERM takes no new task, lets its running tasks finish (up to its --grace), and exits.
    Workers on other hosts are only listed: stop them where they run."""
    with ctx.client() as client:
        workers = client.list_workers()
    stop_workers(workers, worker_ids, timeout)


cli.add_command(store)


# -- lfctl config ---------------------------------------------------------------------------


@cli.group()
def config() -> None:
    """Write a default configuration file, copy the example workflows, show the config."""


@config.command("default")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
def config_default(dest: Path) -> None:
    """Write a default lightflow.cfg into DEST."""
    target = dest / CONFIG_NAME
    if target.exists():
        raise click.ClickException(f"{target} exists already")
    dest.mkdir(parents=True, exist_ok=True)
    target.write_text(DEFAULT_CONFIG)
    click.echo(f"wrote {target}")


@config.command("examples")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
def config_examples(dest: Path) -> None:
    """Copy the example workflows into DEST/examples."""
    target = dest / "examples"
    target.mkdir(parents=True, exist_ok=True)
    source = resources.files("lightflow_examples")
    copied = []
    for item in sorted(source.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".py") and not item.name.startswith("_"):
            with resources.as_file(item) as path:
                shutil.copyfile(path, target / item.name)
            copied.append(item.name.removesuffix(".py"))
    click.echo(f"copied {len(copied)} workflows to {target}: {', '.join(copied)}")


@config.command("list")
@pass_context
@_user_errors
def config_list(ctx: Context) -> None:
    """Every setting's effective value and where it came from (default, file or env)."""
    cfg = ctx.config
    click.echo(f"config file: {cfg.path or 'none (defaults and environment only)'}")
    print_table(("setting", "value", "source"), shown(cfg))


cli.add_command(scheduler)
store.add_command(store_start)
worker.add_command(worker_start)


def main() -> None:
    cli(prog_name="lfctl")


if __name__ == "__main__":
    main()
