"""`lfctl schedule`: runs that start themselves, on a cron expression or an interval."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from lightflow import ScheduleInfo
from lightflow_cli._output import local_time, print_table
from lightflow_cli._parse import parse_duration, parse_time
from lightflow_cli.commands.workflow import parse_arguments
from lightflow_cli.context import Context, pass_context, user_errors


@click.group()
def schedule() -> None:
    """Runs that start themselves: make, list, pause, resume, trigger and delete schedules.

    Each tick starts exactly one run, whichever scheduler replica fires it."""


@schedule.command("create")
@click.argument("name")
@click.argument("workflow")
@click.argument("arguments", nargs=-1)
@click.option(
    "--cron", default="", help="Five fields: minute hour day month weekday ('0 3 * * *')."
)
@click.option("--tz", "timezone", default="", help="IANA time zone of --cron (default UTC).")
@click.option("--every", default=None, metavar="DURATION", help="Instead of --cron: 30s, 5m, 1h.")
@click.option("--start-at", default=None, metavar="TIME", help="No tick before (ISO 8601).")
@click.option("--end-at", default=None, metavar="TIME", help="No tick after (ISO 8601).")
@click.option("--jitter", default=None, metavar="DURATION", help="Start up to this long late.")
@click.option(
    "--overlap",
    type=click.Choice(["skip", "allow", "queue"]),
    default="skip",
    show_default=True,
    help="A tick while the previous run goes on: start nothing, start anyway, or wait.",
)
@click.option(
    "--catch-up",
    type=click.Choice(["none", "last", "all"]),
    default="none",
    show_default=True,
    help="Ticks missed while no scheduler ran: none, the last one, or all (--catch-up-limit).",
)
@click.option("--catch-up-limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--keep-data", is_flag=True, help="Keep each run's store document.")
@pass_context
@user_errors
def schedule_create(
    ctx: Context,
    name: str,
    workflow: str,
    arguments: tuple[str, ...],
    cron: str,
    timezone: str,
    every: str | None,
    start_at: str | None,
    end_at: str | None,
    jitter: str | None,
    overlap: str,
    catch_up: str,
    catch_up_limit: int,
    keep_data: bool,
) -> None:
    """Make schedule NAME, starting WORKFLOW with KEY=VALUE ARGUMENTS on each tick."""
    with ctx.client() as client:
        made = client.create_schedule(
            name,
            workflow,
            parse_arguments(arguments),
            cron=cron,
            timezone=timezone,
            every=parse_duration(every, "--every") if every is not None else None,
            start_at=parse_time(start_at, "--start-at") if start_at is not None else None,
            end_at=parse_time(end_at, "--end-at") if end_at is not None else None,
            jitter=parse_duration(jitter, "--jitter") if jitter is not None else 0.0,
            overlap=overlap,
            catch_up=catch_up,
            catch_up_limit=catch_up_limit,
            keep_data=keep_data,
        )
    click.echo(f"schedule {made.name}: next tick {local_time(made.next_tick) or 'none'}")


@schedule.command("list")
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A table for people, or JSON for programs.",
)
@pass_context
@user_errors
def schedule_list(ctx: Context, output: str) -> None:
    """Every schedule: what it starts, when, and its next and last tick."""
    with ctx.client() as client:
        schedules = client.list_schedules()
    if output == "json":
        click.echo(json.dumps([_as_json(s) for s in schedules], indent=2))
        return
    print_table(
        ("name", "workflow", "when", "next tick", "last tick", "last run", "state"),
        [
            (
                s.name,
                s.workflow,
                _when(s),
                local_time(s.next_tick),
                local_time(s.last_tick),
                s.last_run_id,
                "paused" if s.paused else ("failing" if s.last_error else "active"),
            )
            for s in schedules
        ],
    )


def _when(info: ScheduleInfo) -> str:
    if info.cron:
        return f"{info.cron} ({info.timezone or 'UTC'})"
    return f"every {info.interval_s:g} s"


def _as_json(info: ScheduleInfo) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment is not None else None

    return {
        "name": info.name,
        "workflow": info.workflow,
        "arguments": info.arguments,
        "cron": info.cron,
        "timezone": info.timezone,
        "interval_s": info.interval_s,
        "paused": info.paused,
        "next_tick": iso(info.next_tick),
        "last_tick": iso(info.last_tick),
        "last_run_id": info.last_run_id,
        "overlap": info.overlap,
        "catch_up": info.catch_up,
        "last_error": info.last_error,
    }


@schedule.command("pause")
@click.argument("name")
@pass_context
@user_errors
def schedule_pause(ctx: Context, name: str) -> None:
    """Stop NAME's ticks until it is resumed."""
    with ctx.client() as client:
        client.pause_schedule(name)
    click.echo(f"schedule {name}: paused")


@schedule.command("resume")
@click.argument("name")
@pass_context
@user_errors
def schedule_resume(ctx: Context, name: str) -> None:
    """Tick again, from the first tick after now."""
    with ctx.client() as client:
        resumed = client.resume_schedule(name)
    click.echo(f"schedule {name}: next tick {local_time(resumed.next_tick) or 'none'}")


@schedule.command("trigger")
@click.argument("name")
@pass_context
@user_errors
def schedule_trigger(ctx: Context, name: str) -> None:
    """Start a run of NAME now; print its id."""
    with ctx.client() as client:
        click.echo(client.trigger_schedule(name).id)


@schedule.command("delete")
@click.argument("name")
@pass_context
@user_errors
def schedule_delete(ctx: Context, name: str) -> None:
    """Remove NAME (the runs it started go on)."""
    with ctx.client() as client:
        client.delete_schedule(name)
    click.echo(f"schedule {name}: deleted")
