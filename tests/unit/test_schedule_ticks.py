"""When a schedule ticks: intervals from their start, cron in a time zone (DST included),
bounds, and a jitter every replica agrees on."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from lightflow_scheduler.model import ScheduleSpec
from lightflow_scheduler.schedules import _due, next_tick


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_an_interval_counts_from_its_start_or_its_creation() -> None:
    start = ms(datetime(2026, 1, 1, tzinfo=UTC))
    spec = ScheduleSpec("s", "wf", interval_s=60, start_ms=start)
    assert next_tick(spec, anchor_ms=0, after_ms=start - 5_000) == start
    assert next_tick(spec, anchor_ms=0, after_ms=start) == start + 60_000
    assert next_tick(spec, anchor_ms=0, after_ms=start + 61_000) == start + 120_000
    created = ScheduleSpec("s", "wf", interval_s=10)
    assert next_tick(created, anchor_ms=1_000, after_ms=999) == 1_000
    assert next_tick(created, anchor_ms=1_000, after_ms=25_000) == 31_000


def test_no_tick_after_the_end() -> None:
    spec = ScheduleSpec("s", "wf", interval_s=60, start_ms=0, end_ms=100_000)
    assert next_tick(spec, anchor_ms=0, after_ms=50_000) == 60_000
    assert next_tick(spec, anchor_ms=0, after_ms=60_000) == 0


def test_cron_ticks_on_the_wall_clock_of_its_zone_across_daylight_saving() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    spec = ScheduleSpec("s", "wf", cron="0 3 * * *", timezone="Europe/Berlin")
    winter = next_tick(spec, 0, ms(datetime(2026, 1, 10, 12, tzinfo=berlin)))
    summer = next_tick(spec, 0, ms(datetime(2026, 7, 10, 12, tzinfo=berlin)))
    assert datetime.fromtimestamp(winter / 1000, UTC).hour == 2  # 03:00 CET
    assert datetime.fromtimestamp(summer / 1000, UTC).hour == 1  # 03:00 CEST
    # The night the clocks go forward, and the day after: 03:00 local both times.
    night = next_tick(spec, 0, ms(datetime(2026, 3, 28, 12, tzinfo=berlin)))
    after = next_tick(spec, 0, night)
    for tick in (night, after):
        assert datetime.fromtimestamp(tick / 1000, berlin).hour == 3
    assert after - night == 24 * 3600 * 1000


def test_utc_when_no_zone_is_given() -> None:
    spec = ScheduleSpec("s", "wf", cron="*/15 * * * *")
    tick = next_tick(spec, 0, ms(datetime(2026, 1, 1, 10, 7, tzinfo=UTC)))
    assert datetime.fromtimestamp(tick / 1000, UTC) == datetime(2026, 1, 1, 10, 15, tzinfo=UTC)


def test_jitter_is_bounded_and_the_same_on_every_replica() -> None:
    spec = ScheduleSpec("s", "wf", interval_s=60, jitter_s=5)
    delays = {tick: (_due(spec, tick) or 0) - tick for tick in range(0, 6_000_000, 60_000)}
    assert all(0 <= d <= 5_000 for d in delays.values())
    assert len(set(delays.values())) > 10  # spread, not one delay for all
    assert delays == {tick: (_due(spec, tick) or 0) - tick for tick in delays}
    assert _due(ScheduleSpec("s", "wf", interval_s=60), 123) == 123
