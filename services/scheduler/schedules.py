"""Schedules: runs that start themselves on a cron expression (in a time zone) or a fixed
interval. Exactly once per tick with no leader: the due set in redis says which schedule's
tick is due; any replica's timer fires it, and the run it starts carries the request id
"schedule:<name>:<tick>", so a second replica firing the same tick (or a replica that fires it
again after one died half-way) gets the run the first one started. The schedule then moves to
its next tick in schedule.lua, only if no other replica moved it first."""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from croniter import croniter

from lightflow_scheduler.errors import InvalidArgumentError, NotFoundError, SchedulerError
from lightflow_scheduler.keys import Keys
from lightflow_scheduler.model import CatchUp, Overlap, ScheduleSpec, ScheduleState
from lightflow_scheduler.runs import Runs
from lightflow_scheduler.schema import FINAL_RUN_STATES, RunField
from lightflow_scheduler.scripts import Scripts

log = structlog.get_logger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
# A tick fired this long after it was due was missed (no replica ran): its catch-up policy
# decides.
_GRACE_MS = 10_000
# How far a catch-up looks back, in ticks, and the most runs one may start.
_MAX_MISSED = 1000
_MAX_CATCH_UP = 100
# A tick waiting for the previous run (overlap "queue") is looked at again this often.
_QUEUE_RECHECK_MS = 1000
_MIN_INTERVAL_S = 1.0
_MAX_INTERVAL_S = 366 * 24 * 3600.0
_LAST_MS = 253_402_300_799_000  # 9999-12-31T23:59:59Z


def next_tick(spec: ScheduleSpec, anchor_ms: int, after_ms: int) -> int:
    """The schedule's first tick after `after_ms` (ms since the epoch); 0 when there is none
    (past its end). An interval counts from its start, else from `anchor_ms` (its creation)."""
    after_ms = max(after_ms, spec.start_ms - 1)
    if spec.cron:
        zone = ZoneInfo(spec.timezone or "UTC")
        base = datetime.fromtimestamp(after_ms / 1000, zone)
        found = croniter(spec.cron, base).get_next(datetime)
        tick = int(found.timestamp() * 1000)
    else:
        origin = spec.start_ms or anchor_ms
        step = int(spec.interval_s * 1000)
        tick = origin if after_ms < origin else origin + ((after_ms - origin) // step + 1) * step
    return 0 if spec.end_ms and tick > spec.end_ms else tick


def _jitter_ms(spec: ScheduleSpec, tick_ms: int) -> int:
    """The same delay on every replica for a given tick: a hash of the schedule and tick."""
    if spec.jitter_s <= 0:
        return 0
    digest = hashlib.sha256(f"{spec.name}:{tick_ms}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % (int(spec.jitter_s * 1000) + 1)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _due(spec: ScheduleSpec, tick_ms: int) -> int | None:
    return tick_ms + _jitter_ms(spec, tick_ms) if tick_ms else None


class Schedules:
    def __init__(self, client: Any, keys: Keys, scripts: Scripts, runs: Runs) -> None:
        self._redis = client
        self._keys = keys
        self._scripts = scripts
        self._runs = runs

    # -- made, listed, paused, resumed, triggered, deleted ----------------------------------

    def create(self, spec: ScheduleSpec) -> ScheduleState:
        now = int(time.time() * 1000)
        self._check(spec, now)
        first = next_tick(spec, now, now - 1)
        if not first:
            raise InvalidArgumentError(f"schedule '{spec.name}' has no tick before its end_at")
        state = ScheduleState(spec, created_ms=now, next_tick_ms=first)
        self._scripts.schedule(
            name=spec.name, action="create", state=state.to_json(), due_ms=_due(spec, first)
        )
        log.info("schedule_created", schedule=spec.name, workflow=spec.workflow)
        return state

    def list(self) -> list[ScheduleState]:
        raw: dict[bytes, bytes] = self._redis.hgetall(self._keys.schedules)
        return sorted((ScheduleState.from_json(v) for v in raw.values()), key=lambda s: s.spec.name)

    def get(self, name: str) -> ScheduleState:
        raw = self._redis.hget(self._keys.schedules, name)
        if raw is None:
            raise NotFoundError(f"schedule '{name[:100]}' not found")
        return ScheduleState.from_json(raw)

    def pause(self, name: str) -> ScheduleState:
        state = replace(self.get(name), paused=True)
        self._scripts.schedule(name=name, action="update", state=state.to_json(), due_ms=None)
        return state

    def resume(self, name: str) -> ScheduleState:
        """Ticks missed while paused start nothing: the next is the first after now."""
        state = self.get(name)
        now = int(time.time() * 1000)
        upcoming = next_tick(state.spec, state.created_ms, now)
        state = replace(state, paused=False, next_tick_ms=upcoming)
        self._scripts.schedule(
            name=name,
            action="update",
            state=state.to_json(),
            due_ms=_due(state.spec, upcoming),
        )
        return state

    def trigger(self, name: str) -> str:
        """Starts a run of the schedule now, outside its ticks; its id. It is the
        schedule's last run from then on (its overlap policy waits for it too)."""
        state = self.get(name)
        spec = state.spec
        run_id = self._runs.start(
            spec.workflow, dict(spec.arguments), spec.keep_data, schedule=spec.name
        )
        # A tick fired meanwhile has the same request id if fired again: no second run.
        due = None if state.paused else _due(spec, state.next_tick_ms)
        moved = replace(state, last_run_id=run_id)
        self._scripts.schedule(name=name, action="update", state=moved.to_json(), due_ms=due)
        return run_id

    def delete(self, name: str) -> None:
        self._scripts.schedule(name=name, action="delete")
        log.info("schedule_deleted", schedule=name)

    def check_declared(
        self, workflow: str, specs: Sequence[ScheduleSpec], options: Sequence[Any]
    ) -> None:
        """The schedules a workflow file declares, checked before the workflow is
        registered (a wrong one refuses the registration whole): as `create` checks them,
        the arguments against the file's own options, and no name another owns."""
        now = int(time.time() * 1000)
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise InvalidArgumentError(f"workflow '{workflow}' declares two schedules of a name")
        existing = {s.spec.name: s for s in self.list()}
        for spec in specs:
            self._check(replace(spec, workflow=workflow), now, options)
            old = existing.get(spec.name)
            if old is not None and (not old.declared or old.spec.workflow != workflow):
                raise InvalidArgumentError(
                    f"workflow '{workflow}' declares schedule '{spec.name}', a name taken by"
                    f" a schedule of workflow '{old.spec.workflow}'"
                )

    def sync_declared(self, workflow: str, specs: Sequence[ScheduleSpec]) -> None:
        """After a registration: the declared schedules made, changed (ticking from now on)
        or removed, as the file now says. A paused one stays paused."""
        now = int(time.time() * 1000)
        existing = {s.spec.name: s for s in self.list()}
        for spec in (replace(s, workflow=workflow) for s in specs):
            old = existing.get(spec.name)
            if old is not None and old.spec == spec:
                continue
            if old is None:
                state = ScheduleState(
                    spec, created_ms=now, next_tick_ms=next_tick(spec, now, now - 1), declared=True
                )
                action = "create"
            else:
                state = replace(old, spec=spec, next_tick_ms=next_tick(spec, old.created_ms, now))
                action = "update"
            due = None if state.paused else _due(spec, state.next_tick_ms)
            self._scripts.schedule(name=spec.name, action=action, state=state.to_json(), due_ms=due)
        declared = {spec.name for spec in specs}
        for name, old in existing.items():
            if old.declared and old.spec.workflow == workflow and name not in declared:
                self._scripts.schedule(name=name, action="delete")

    def _check(self, spec: ScheduleSpec, now_ms: int, options: Sequence[Any] | None = None) -> None:
        if not _NAME.match(spec.name):
            raise InvalidArgumentError(
                f"invalid schedule name {spec.name[:100]!r}: use 1 to 100 of A-Z a-z 0-9 _ . -"
            )
        if not (math.isfinite(spec.interval_s) and math.isfinite(spec.jitter_s)):
            raise InvalidArgumentError("interval_s and jitter_s must be numbers")
        if bool(spec.cron) == (spec.interval_s > 0):
            raise InvalidArgumentError("give a schedule a cron expression or an interval_s, one")
        if spec.cron and not croniter.is_valid(spec.cron):
            raise InvalidArgumentError(
                f"invalid cron expression {spec.cron[:200]!r}: five fields, minute hour"
                " day-of-month month day-of-week (e.g. '0 3 * * *')"
            )
        if spec.timezone:
            try:
                ZoneInfo(spec.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise InvalidArgumentError(
                    f"unknown time zone {spec.timezone[:100]!r}: use an IANA name such as"
                    " 'Europe/Berlin' or 'UTC'"
                ) from None
        if not (0 <= spec.start_ms <= _LAST_MS and 0 <= spec.end_ms <= _LAST_MS):
            raise InvalidArgumentError("start_at and end_at must lie between 1970 and 9999")
        if spec.interval_s > _MAX_INTERVAL_S or spec.jitter_s > _MAX_INTERVAL_S:
            raise InvalidArgumentError("interval_s and jitter_s must be at most a year")
        if spec.interval_s and spec.interval_s < _MIN_INTERVAL_S:
            raise InvalidArgumentError(f"interval_s must be at least {_MIN_INTERVAL_S:g}")
        if spec.jitter_s < 0:
            raise InvalidArgumentError("jitter_s must not be negative")
        if spec.end_ms and spec.end_ms <= max(now_ms, spec.start_ms):
            raise InvalidArgumentError("end_at must come after now and after start_at")
        if not 0 < spec.catch_up_limit <= _MAX_CATCH_UP:
            raise InvalidArgumentError(f"catch_up_limit must be 1 to {_MAX_CATCH_UP}")
        # The workflow and the arguments, checked as a start checks them.
        if options is None:
            self._runs.check_arguments(spec.workflow, spec.arguments)
        else:
            self._runs.check_arguments_against(spec.workflow, options, spec.arguments)

    # -- firing ------------------------------------------------------------------------------

    def fire_due(self, now_ms: int) -> None:
        """Fires the ticks that are due (any replica; each tick starts one run)."""
        due = self._redis.zrangebyscore(
            self._keys.schedule_due, "-inf", now_ms, start=0, num=100, withscores=True
        )
        for raw, score in due:
            name = raw.decode()
            try:
                self._fire(name, f"{int(score)}", now_ms)
            except (SchedulerError, ValueError) as err:
                # The workflow was removed, or its arguments no longer convert: the tick
                # starts nothing, the schedule says why and waits for its next tick (not a
                # retry every timer pass).
                log.warning("schedule_tick_failed", schedule=name, error=str(err))
                self._skip_tick(name, f"{int(score)}", str(err))

    def _skip_tick(self, name: str, expected: str, error: str) -> None:
        try:
            state = self.get(name)
        except NotFoundError:
            return
        after = next_tick(state.spec, state.created_ms, max(state.next_tick_ms, _now_ms()))
        failed = replace(state, waiting=False, next_tick_ms=after, last_error=error[:2000])
        self._scripts.schedule(
            name=name,
            action="advance",
            state=failed.to_json(),
            due_ms=_due(state.spec, after),
            expected=expected,
        )

    def _fire(self, name: str, expected: str, now_ms: int) -> None:
        try:
            state = self.get(name)
        except NotFoundError:
            return  # deleted while it was read
        spec, tick = state.spec, state.next_tick_ms
        if state.paused or not tick:
            return
        ticks = [tick]
        after = next_tick(spec, state.created_ms, tick)
        if state.waiting:  # a tick queued behind the previous run: it runs, the ticks that
            after = next_tick(spec, state.created_ms, now_ms)  # passed meanwhile do not
        elif now_ms - tick > _GRACE_MS:  # missed while no replica ran: its catch-up policy
            while after and after <= now_ms and len(ticks) < _MAX_MISSED:
                ticks.append(after)
                after = next_tick(spec, state.created_ms, after)
            limit = {CatchUp.NONE: 0, CatchUp.LAST: 1, CatchUp.ALL: spec.catch_up_limit}
            keep = limit[spec.catch_up]
            ticks = ticks[len(ticks) - keep :] if keep else []
        if ticks and spec.overlap != Overlap.ALLOW and self._still_running(state.last_run_id):
            if spec.overlap == Overlap.QUEUE:  # waits for the previous run: looked at again
                self._scripts.schedule(
                    name=name,
                    action="advance",
                    state=replace(state, waiting=True).to_json(),
                    due_ms=now_ms + _QUEUE_RECHECK_MS,
                    expected=expected,
                )
                return
            ticks = []  # skip
        run_id = state.last_run_id
        for fired in ticks:
            run_id = self._runs.start(
                spec.workflow,
                dict(spec.arguments),
                spec.keep_data,
                request_id=f"schedule:{name}:{fired}",  # one run per tick, whoever fires it
                schedule=name,
                tick_ms=fired,
            )
        moved = replace(
            state,
            waiting=False,
            last_error="",
            next_tick_ms=after,
            last_tick_ms=ticks[-1] if ticks else state.last_tick_ms,
            last_run_id=run_id,
        )
        self._scripts.schedule(
            name=name,
            action="advance",
            state=moved.to_json(),
            due_ms=_due(spec, after),
            expected=expected,
        )
        if ticks:
            log.info("schedule_fired", schedule=name, ticks=len(ticks), run_id=run_id)

    def _still_running(self, run_id: str) -> bool:
        if not run_id:
            return False
        status = self._redis.hget(self._keys.run(run_id), RunField.STATUS)
        return status is not None and status.decode() not in FINAL_RUN_STATES
