"""Times and durations as people type them on lfctl's command line."""

from __future__ import annotations

import re
from datetime import datetime

import click

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$")


def parse_duration(text: str, option: str = "--in") -> float:
    """Seconds of "90", "90s", "5m", "1h30m", "2d"; a UsageError for anything else."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise click.UsageError(f"{option} {text!r}: give a duration like 90, 90s, 5m, 1h30m or 2d")
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def parse_time(text: str, option: str = "--at") -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.UsageError(
            f"{option} {text!r}: give a time like 2026-12-24T18:00 (ISO 8601)"
        ) from None
