"""`Schedule`: a workflow file's declaration that its workflow starts itself, registered with
the workflow (made, changed or removed at each registration)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from lightflow._errors import LightflowError
from lightflow.v1 import workflow_pb2

_OVERLAP = {
    "skip": workflow_pb2.OVERLAP_POLICY_SKIP,
    "allow": workflow_pb2.OVERLAP_POLICY_ALLOW,
    "queue": workflow_pb2.OVERLAP_POLICY_QUEUE,
}
_CATCH_UP = {
    "none": workflow_pb2.CATCH_UP_POLICY_NONE,
    "last": workflow_pb2.CATCH_UP_POLICY_LAST,
    "all": workflow_pb2.CATCH_UP_POLICY_ALL,
}


class ScheduleDefinitionError(LightflowError):
    """A `Schedule` that cannot be: the message says what to change."""


class Schedule:
    """Starts the workflow of the file that declares it, at module level next to its DAGs
    and `Parameters`:

        nightly = Schedule("nightly", cron="0 3 * * *", timezone="Europe/Berlin",
                           args={"day": "yesterday"})
        sync = Schedule("sync", every=timedelta(hours=1), overlap="skip")

    `cron` (five fields, in the IANA `timezone`; UTC without one) or `every` (seconds or a
    timedelta, counted from `start_at`, else from the schedule's creation); no tick before
    `start_at` or after `end_at`; each run starts up to `jitter` seconds after its tick.
    `overlap` says what a tick does while the schedule's previous run goes on ("skip",
    "allow", "queue"); `catch_up` what ticks missed while no scheduler ran do ("none",
    "last", "all": the latest `catch_up_limit`). The schedulers check the rest (the cron
    expression, the zone, the arguments against `Parameters`) when the workflow is
    registered, and refuse the registration whole when one is wrong."""

    def __init__(
        self,
        name: str,
        *,
        cron: str = "",
        timezone: str = "",
        every: float | timedelta | None = None,
        args: Mapping[str, object] | None = None,
        start_at: datetime | None = None,
        end_at: datetime | None = None,
        jitter: float = 0.0,
        overlap: str = "skip",
        catch_up: str = "none",
        catch_up_limit: int = 10,
        keep_data: bool = False,
    ) -> None:
        seconds = every.total_seconds() if isinstance(every, timedelta) else every
        if bool(cron) == bool(seconds):
            raise ScheduleDefinitionError(f"schedule {name!r}: give cron or every, one of them")
        if overlap not in _OVERLAP or catch_up not in _CATCH_UP:
            raise ScheduleDefinitionError(
                f"schedule {name!r}: overlap is skip, allow or queue, catch_up none, last or"
                f" all (not {overlap!r}, {catch_up!r})"
            )
        self.name = name
        self.cron = cron
        self.timezone = timezone
        self.every = seconds or 0.0
        self.args = {k: str(v) for k, v in (args or {}).items()}
        self.start_at, self.end_at = start_at, end_at
        self.jitter = jitter
        self.overlap, self.catch_up = overlap, catch_up
        self.catch_up_limit = catch_up_limit
        self.keep_data = keep_data

    def __repr__(self) -> str:
        when = f"cron={self.cron!r}" if self.cron else f"every={self.every:g}"
        return f"Schedule({self.name!r}, {when})"

    def to_proto(self, workflow_name: str) -> workflow_pb2.ScheduleSpec:
        spec = workflow_pb2.ScheduleSpec(
            name=self.name,
            workflow_name=workflow_name,
            arguments=self.args,
            cron=self.cron,
            timezone=self.timezone,
            interval_s=self.every,
            jitter_s=self.jitter,
            overlap=_OVERLAP[self.overlap],
            catch_up=_CATCH_UP[self.catch_up],
            catch_up_limit=self.catch_up_limit,
            keep_data=self.keep_data,
        )
        for field_name, moment in (("start_at", self.start_at), ("end_at", self.end_at)):
            if moment is not None:
                stamp = moment if moment.tzinfo is not None else moment.astimezone()
                getattr(spec, field_name).FromMilliseconds(int(stamp.timestamp() * 1000))
        return spec
