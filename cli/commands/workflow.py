"""`lfctl workflow`: list, register, start, stop, watch and inspect workflows and their
runs."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from lightflow import LightflowError
from lightflow._workflow import (
    WorkflowNotFoundError,
    find_workflow,
    list_workflows,
    load_workflow,
)
from lightflow_cli._output import local_time, print_table, seconds_text
from lightflow_cli._parse import parse_duration, parse_time
from lightflow_cli.context import Context, pass_context, user_errors
from lightflow_cli.views import follow_run, show_run, status_line


def parse_arguments(pairs: tuple[str, ...]) -> dict[str, str]:
    """KEY=VALUE words into a dict; the schedulers convert them by the workflow's options."""
    arguments = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="ARGUMENTS")
        arguments[key] = value
    return arguments


@click.group()
def workflow() -> None:
    """List, register, start, stop, watch and inspect workflows and their runs."""


@workflow.command("list")
@click.option(
    "--registered", is_flag=True, help="List the workflows registered with the schedulers instead."
)
@pass_context
@user_errors
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
@user_errors
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
@click.option(
    "--at",
    "start_at",
    default=None,
    metavar="TIME",
    help="Start the run then (ISO 8601: 2026-12-24T18:00, local time unless it has an offset).",
)
@click.option(
    "--in",
    "start_in",
    default=None,
    metavar="DURATION",
    help="Start the run this long from now: 90, 90s, 5m, 1h30m, 2d.",
)
@pass_context
@user_errors
def workflow_start(
    ctx: Context,
    name: str,
    arguments: tuple[str, ...],
    keep_data: bool,
    wait: bool,
    deadline: float | None,
    start_at: str | None,
    start_in: str | None,
) -> None:
    """Start workflow NAME; print the run's id.

    A workflow of the configured folders is registered first (its current version); any
    other NAME must be registered already. ARGUMENTS are KEY=VALUE run arguments. With --at
    or --in the run exists at once, scheduled, and starts then."""
    run_arguments = parse_arguments(arguments)
    if start_at is not None and start_in is not None:
        raise click.UsageError("give --at or --in, not both")
    when = parse_time(start_at) if start_at is not None else None
    delay = parse_duration(start_in) if start_in is not None else None
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
        handle = client.start(
            name,
            run_arguments,
            keep_data=keep_data,
            deadline=deadline,
            start_at=when,
            start_in=delay,
        )
        click.echo(handle.id)
        if when is not None or delay is not None:
            begins = handle.info().start_at
            if begins is not None:
                click.echo(f"scheduled to start {local_time(begins)}", err=True)
        if wait:
            status = follow_run(handle, name, verbose=False)
            click.echo(status_line(handle.id, name, status, time.monotonic() - started))
            sys.exit(0 if status == "succeeded" else 1)


@workflow.command("stop")
@click.argument("run_ids", nargs=-1, required=True)
@pass_context
@user_errors
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
@user_errors
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
        show_run(client.get_run(run_id), details=details)


@workflow.command("watch")
@click.argument("run_id")
@click.option("-v", "--verbose", is_flag=True, help="Plain output: also task transitions.")
@pass_context
@user_errors
def workflow_watch(ctx: Context, run_id: str, verbose: bool) -> None:
    """Follow a run to its end: its tasks live, and what they print.

    On a terminal a table of the tasks updates in place; otherwise each printed line comes
    as `[dag/task] line`. Exit status 0 only when the run succeeded."""
    with ctx.client() as client:
        handle = client.run(run_id)
        info = handle.info()
        status = follow_run(handle, info.workflow_name, verbose=verbose)
        final = handle.info()
        click.echo(status_line(run_id, info.workflow_name, status, final.duration))
    sys.exit(0 if status == "succeeded" else 1)
