"""What the schedulers write into a run's `meta` section (layout: lightflow/_meta.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lightflow._meta import escape, span


def from_ms(ms: bytes | str | int | None) -> datetime | None:
    return datetime.fromtimestamp(int(ms) / 1000, UTC) if ms else None


def dags_started(instances: list[str], started: datetime) -> dict[str, Any]:
    """The `dags` entry at run start: one instance per autostart DAG, named like the DAG."""
    return {
        escape(inst): {"dag": inst, "status": "running", **span(started, None)}
        for inst in instances
    }


def dag_entry(dag: str, status: str, started_ms: Any, ended_ms: Any) -> dict[str, Any]:
    return {"dag": dag, "status": status, **span(from_ms(started_ms), from_ms(ended_ms))}
