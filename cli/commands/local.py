"""`lfctl run` and `lfctl up`: a local stack (lightflow_cli.stack) started for one run, or
in the foreground until Ctrl-C."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import click

from lightflow import Client, LightflowError
from lightflow._stackfile import StackInfo, read_stack_file, remove_stack_file, write_stack_file
from lightflow._workflow import list_workflows, load_workflow
from lightflow_cli._procs import ProcessStartError
from lightflow_cli.commands.workflow import parse_arguments
from lightflow_cli.config import CliConfig
from lightflow_cli.context import Context, pass_context, user_errors
from lightflow_cli.stack import LocalStack, StackOptions
from lightflow_cli.views import follow_run, status_line
from lightflow_common import defaults


@click.command()
@click.argument("workflow_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("arguments", nargs=-1)
@click.option("--schedulers", type=click.IntRange(1), default=None, help="Scheduler replicas.")
@click.option("--concurrency", type=click.IntRange(1), default=None, help="Worker task slots.")
@click.option("--keep-data", is_flag=True, help="Keep the run's store document.")
@click.option("-v", "--verbose", is_flag=True, help="Also show task and DAG transitions.")
@pass_context
@user_errors
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
        click.echo(status_line(handle.id, workflow.name, status, time.monotonic() - started))
        client.close()
    except KeyboardInterrupt:
        click.echo("interrupted: stopping the stack", err=True)
        status = "stopped"
    finally:
        stack.stop()
    sys.exit(0 if status == "succeeded" else 1)


def _sign_in_link(web_url: str, token: str | None) -> str:
    """The dashboard's address that signs the browser in: the token goes after '#', which a
    browser never sends (as Jupyter prints its sign-in link)."""
    return f"{web_url}login#token={token}" if token else web_url


@click.command()
def dashboard() -> None:
    """Print the address of the dashboard of the stack `lfctl up` runs in this folder, with
    its sign-in link (it holds the stack's token: keep it to yourself)."""
    stack = read_stack_file(Path.cwd())
    if stack is None:
        raise click.ClickException("no stack runs in this folder: start one with lfctl up")
    if not stack.web_url:
        raise click.ClickException("this stack runs no dashboard (lfctl up --no-web)")
    click.echo(_sign_in_link(stack.web_url, stack.token))


def _stop_on_signals() -> None:
    # SIGTERM takes the same path as Ctrl-C, so the stack is stopped either way. SIGINT is
    # set too: a shell starts background jobs with SIGINT ignored.
    def handler(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@click.command()
@click.option("--schedulers", type=click.IntRange(1), default=None, help="Scheduler replicas.")
@click.option("--workers", type=click.IntRange(0), default=None, help="Worker processes.")
@click.option("--concurrency", type=click.IntRange(1), default=None, help="Slots per worker.")
@click.option(
    "--queues",
    default=",".join(defaults.WORKER_QUEUES),
    show_default=True,
    help="Worker queues, comma separated.",
)
@click.option(
    "--store-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Embedded store folder (default: .lightflow/store).",
)
@click.option(
    "--web-port",
    type=click.IntRange(0, 65535),
    default=int(defaults.WEB_LISTEN.rsplit(":", 1)[1]),
    show_default=True,
    help="Port of the web dashboard on 127.0.0.1 (a free one when taken).",
)
@click.option("--no-web", is_flag=True, default=False, help="Start no web dashboard.")
@pass_context
@user_errors
def up(
    ctx: Context,
    schedulers: int | None,
    workers: int | None,
    concurrency: int | None,
    queues: str,
    store_dir: Path | None,
    web_port: int,
    no_web: bool,
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
        web_port=None if no_web else web_port,
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
                stack.web_url,
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
        if stack.web_url:
            click.echo(f"dashboard: {_sign_in_link(stack.web_url, options.token)}")
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
