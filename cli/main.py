"""lfctl: the Lightflow command line. Every command talks gRPC to the scheduler replicas;
`lfctl run` and `lfctl up` also start a local stack of real service processes."""

from __future__ import annotations

import functools
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import click

from lightflow._client import Client, ClientError, RunEvent, RunInfo
from lightflow._errors import LightflowError
from lightflow._stackfile import StackInfo, read_stack_file, remove_stack_file, write_stack_file
from lightflow._workflow import find_workflow, list_workflows, load_workflow
from lightflow_cli._procs import ProcessStartError
from lightflow_cli.config import CONFIG_NAME, DEFAULT_CONFIG, CliConfig, ConfigError, load_config
from lightflow_cli.stack import LocalStack, StackOptions
from lightflow_cli.store_cmd import store

F = TypeVar("F", bound=Callable[..., Any])


def _user_errors(fn: F) -> F:
    """Errors a user can make end in one clear line and exit status 1, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (LightflowError, ConfigError, ProcessStartError) as err:
            raise click.ClickException(str(err)) from err

    return wrapper  # type: ignore[return-value]


class Context:
    def __init__(self, config_path: Path | None, address: str | None, token: str | None) -> None:
        self._config_path = config_path
        self._address = address
        self._token = token
        self._config: CliConfig | None = None

    @property
    def config(self) -> CliConfig:
        if self._config is None:
            self._config = load_config(self._config_path)
        return self._config

    def client(self) -> Client:
        address = self._address or os.environ.get("LIGHTFLOW_ADDRESS") or self.config.address
        if not address and read_stack_file(Path.cwd()) is None:
            raise ClientError(
                "no Lightflow stack found: start one with `lfctl up` in this folder,"
                " or give --address / LIGHTFLOW_ADDRESS"
            )
        return Client(address or None, token=self._token)


pass_context = click.make_pass_decorator(Context)


@click.group()
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
    help="Scheduler replica addresses, comma separated.",
)
@click.option("--token", envvar="LIGHTFLOW_TOKEN", default=None, help="Shared token.")
@click.version_option(package_name="lightflow")
@click.pass_context
def cli(
    ctx: click.Context, config_path: Path | None, address: str | None, token: str | None
) -> None:
    """Lightflow: a lightweight, distributed workflow system."""
    ctx.obj = Context(config_path, address, token)


# -- output ---------------------------------------------------------------------------------


def _label(event: RunEvent) -> str:
    return f"{event.dag_instance}/{event.task_name}"


def print_event(event: RunEvent, *, verbose: bool) -> None:
    """Task output on stdout, labelled; failures on stderr; transitions when verbose."""
    if event.type == "task_output":
        click.echo(f"[{_label(event)}] {event.text}")
    elif event.type == "task_ended" and event.failure is not None:
        click.secho(
            f"[{_label(event)}] task {event.status}: {event.failure.type}: {event.failure.message}",
            fg="red",
            err=True,
        )
        if event.failure.stack_trace:
            click.echo(event.failure.stack_trace.rstrip(), err=True)
    elif event.type == "task_lease_expired":
        click.secho(
            f"[{_label(event)}] its worker was lost; running it again", fg="yellow", err=True
        )
    elif verbose and event.type in {"task_started", "task_ended", "dag_started", "dag_ended"}:
        what = _label(event) if event.task_name else event.dag_instance
        verb = event.type.split("_")[1]
        click.echo(f"  {what} {event.status or verb}", err=True)


def follow(run_events: Iterator[RunEvent], *, verbose: bool) -> str:
    """Prints a run's events until its end; returns its final status."""
    for event in run_events:
        print_event(event, verbose=verbose)
        if event.type == "run_ended":
            return event.status
    return "unknown"


def _status_line(run_id: str, workflow: str, status: str, seconds: float | None = None) -> str:
    took = f" in {seconds:.2f} s" if seconds is not None else ""
    return f"run {run_id} of {workflow}: {status}{took}"


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
    )
    stack = LocalStack(options)
    _stop_on_signals()
    try:
        stack.start()
        client = Client(stack.scheduler_addresses, token=options.token)
        client.register(workflow_file)
        started = time.monotonic()
        handle = client.start(workflow.name, run_arguments, keep_data=keep_data)
        status = follow(handle.events(), verbose=verbose)
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
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("stopping", err=True)
    finally:
        remove_stack_file(here)
        stack.stop()


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
    """List, register, start, stop and inspect workflows and their runs."""


@workflow.command("list")
@pass_context
@_user_errors
def workflow_list(ctx: Context) -> None:
    """The workflows of the configured folders."""
    for path in list_workflows(ctx.config.workflow_folders):
        try:
            wf = load_workflow(path)
        except LightflowError as err:
            click.secho(f"{path.stem:<24} (invalid: {err})", fg="yellow")
            continue
        click.echo(f"{wf.name:<24} {wf.description}")


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
@pass_context
@_user_errors
def workflow_start(
    ctx: Context, name: str, arguments: tuple[str, ...], keep_data: bool, wait: bool
) -> None:
    """Start a workflow of the configured folders (registering its current version).

    ARGUMENTS are KEY=VALUE run arguments."""
    run_arguments = parse_arguments(arguments)
    path = find_workflow(name, ctx.config.workflow_folders)
    with ctx.client() as client:
        client.register(path)
        handle = client.start(name, run_arguments, keep_data=keep_data)
        click.echo(handle.id)
        if wait:
            status = follow(handle.events(), verbose=False)
            click.echo(_status_line(handle.id, name, status))
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
@pass_context
@_user_errors
def workflow_status(ctx: Context, run_id: str | None) -> None:
    """Runs and their status; with RUN_ID, that run's DAGs and tasks."""
    with ctx.client() as client:
        if run_id is None:
            runs = client.list_runs()
            if not runs:
                click.echo("no runs")
            for info in runs:
                click.echo(_run_row(info))
            return
        info = client.get_run(run_id)
        click.echo(_run_row(info))
        if info.failure is not None:
            click.secho(f"  failure: {info.failure.type}: {info.failure.message}", fg="red")
        for dag, dag_status in info.dags.items():
            click.echo(f"  {dag:<30} {dag_status}")
            for task in (t for t in info.tasks if t.dag_instance == dag):
                attempt = f" (attempt {task.attempt})" if task.attempt > 1 else ""
                click.echo(f"    {task.name:<28} {task.status}{attempt} [{task.queue}]")


def _run_row(info: RunInfo) -> str:
    started = info.started_at.strftime("%Y-%m-%d %H:%M:%S") if info.started_at else ""
    took = ""
    if info.started_at and info.ended_at:
        took = f"{(info.ended_at - info.started_at).total_seconds():.2f}s"
    return f"{info.id}  {info.workflow_name:<20} {info.status:<10} {started}  {took}"


# -- lfctl worker ---------------------------------------------------------------------------


@cli.group()
def worker() -> None:
    """Start workers and see the connected ones."""


@worker.command("start")
@click.option("--queues", default="task", show_default=True, help="Comma separated.")
@click.option("--concurrency", type=click.IntRange(1), default=None, help="Task slots.")
@pass_context
@_user_errors
def worker_start(ctx: Context, queues: str, concurrency: int | None) -> None:
    """Run a worker in the foreground, connected to the schedulers."""
    address = ctx._address or os.environ.get("LIGHTFLOW_ADDRESS") or ctx.config.address
    stack = read_stack_file(Path.cwd())
    if not address and stack is not None:
        address = ",".join(stack.scheduler_addresses)
    if not address:
        raise click.ClickException("no scheduler address: run `lfctl up` here, or give --address")
    token = ctx._token or (stack.token if stack else None)
    args = [sys.executable, "-m", "lightflow_worker", "--scheduler", address, "--queues", queues]
    args += ["--concurrency", str(concurrency or ctx.config.stack.concurrency)]
    env = {**os.environ, **({"LIGHTFLOW_TOKEN": token} if token else {})}
    os.execve(sys.executable, args, env)  # noqa: S606 - becomes the worker process


@worker.command("status")
@pass_context
@_user_errors
def worker_status(ctx: Context) -> None:
    """The workers connected now."""
    with ctx.client() as client:
        workers = client.list_workers()
        if not workers:
            click.echo("no workers")
        for w in workers:
            click.echo(
                f"{w.worker_id:<32} {','.join(w.queues):<16} "
                f"{w.running}/{w.concurrency} running  pid {w.pid} on {w.hostname}"
            )


# -- lfctl config ---------------------------------------------------------------------------


@cli.group()
def config() -> None:
    """Create a default configuration file or copy the example workflows."""


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


cli.add_command(store)


def main() -> None:
    cli(prog_name="lfctl")


if __name__ == "__main__":
    main()
