"""`lfctl monitor`: every run's events as they happen (the view is lightflow_cli.monitor)."""

from __future__ import annotations

import click

from lightflow_cli.context import Context, pass_context, user_errors


@click.command()
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
@user_errors
def monitor(ctx: Context, once: bool, duration: float | None, interval: float, limit: int) -> None:
    """Every run's events as they happen.

    On a terminal, a table of the latest runs (status, duration, tasks done, last event)
    updating in place; otherwise one line per event: time, run, workflow, event."""
    from lightflow_cli.monitor import run_monitor  # noqa: PLC0415

    with ctx.client() as client:
        run_monitor(client, once=once, duration=duration, interval=interval, limit=limit)
