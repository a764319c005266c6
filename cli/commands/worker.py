"""`lfctl worker status` and `lfctl worker stop`: the workers connected now, and the graceful
stop of those on this machine (`lfctl worker start` is with the other services' starts, in
commands/services.py)."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import click

from lightflow import WorkerInfo
from lightflow_cli._output import local_time, print_table
from lightflow_cli.context import Context, pass_context, user_errors


@click.group()
def worker() -> None:
    """Start and stop workers, and see the connected ones."""


@worker.command("status")
@pass_context
@user_errors
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
@user_errors
def worker_stop(ctx: Context, worker_ids: tuple[str, ...], timeout: float) -> None:
    """Stop workers gracefully: the given WORKER_IDS, or every worker of this host.

    Asks the schedulers which workers are connected and sends SIGTERM to those running on
    this machine (by host name and PID, checked to be a Lightflow worker). A worker that gets
    SIGTERM takes no new task, lets its running tasks finish (up to its --grace), and exits.
    Workers on other hosts are only listed: stop them where they run."""
    with ctx.client() as client:
        workers = client.list_workers()
    stop_workers(workers, worker_ids, timeout)


def _is_worker_process(pid: int) -> bool:
    """Whether PID runs a Lightflow worker, by its command line: `python -m lightflow_worker`,
    or `lfctl ... worker start` (`python -m lightflow_cli ...`), which serves one in its own
    process. A PID reused by another program is not one."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if any(b"lightflow_worker" in arg for arg in args):
        return True
    # argv[0] is python (or the lfctl script); then the script, or `-m lightflow_cli`.
    lfctl = any(
        arg == b"lightflow_cli" or Path(os.fsdecode(arg)).name == "lfctl" for arg in args[:3]
    )
    return lfctl and (b"worker", b"start") in itertools.pairwise(args)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return not _is_worker_process(pid)  # exited; a zombie or a reused PID is not ours


def stop_workers(workers: Sequence[WorkerInfo], wanted: Sequence[str], timeout: float) -> None:
    """SIGTERM to the local workers among `workers` (all, or those in `wanted`), then wait
    for them to exit. Raises ClickException when a wanted worker cannot be stopped here."""
    here = socket.gethostname()
    unknown = sorted(set(wanted) - {w.worker_id for w in workers})
    if unknown:
        raise click.ClickException(
            f"no connected worker {unknown[0]!r} (see `lfctl worker status`)"
        )
    chosen = [w for w in workers if not wanted or w.worker_id in wanted]
    stopping: list[WorkerInfo] = []
    elsewhere: list[WorkerInfo] = []
    for info in chosen:
        if info.hostname != here or not _is_worker_process(info.pid):
            elsewhere.append(info)
            continue
        os.kill(info.pid, signal.SIGTERM)
        stopping.append(info)
        click.echo(f"stopping {info.worker_id} (pid {info.pid})")
    deadline = time.monotonic() + timeout
    for info in stopping:
        while not _gone(info.pid):
            if time.monotonic() > deadline:
                raise click.ClickException(
                    f"worker {info.worker_id} (pid {info.pid}) still runs after {timeout:.0f} s"
                )
            time.sleep(0.1)  # a person waits on this, not a task
        click.echo(f"stopped {info.worker_id}")
    for info in elsewhere:
        click.echo(f"{info.worker_id} runs on {info.hostname}: stop it there", err=True)
    if not stopping and not elsewhere:
        click.echo("no workers to stop")
    if wanted and elsewhere:
        sys.exit(1)
