"""Periodic jobs: cron schedules in a time zone, enqueued exactly once per slot.

Policy for missed slots: slots missed while nothing was running are coalesced: the most recent
missed slot fires once, the older ones are skipped. A schedule seen for the first time starts
with the next slot (deploying a daily job at 15:00 does not run it at once for midnight).

Exactly once: firing a slot is a compare-and-set on the schedule's ``last_slot`` in the same
transaction as the job's insert, so however many schedulers race, one wins each slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from workhorse.backends import base as b
from workhorse.errors import ConfigurationError
from workhorse.tasks import JobOptions, JobSpec

if TYPE_CHECKING:
    from workhorse.app import Workhorse


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    """Enqueue ``task`` with these arguments at every slot of ``cron`` in ``timezone``."""

    name: str
    cron: str
    timezone: str
    task: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    options: JobOptions = field(default_factory=JobOptions)

    def __post_init__(self) -> None:
        if not croniter.is_valid(self.cron):
            raise ConfigurationError(f"invalid cron expression {self.cron!r} for {self.name}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(f"unknown time zone {self.timezone!r}") from None

    def latest_slot(self, now: datetime) -> datetime:
        """The most recent slot at or before ``now`` (aware, in UTC terms)."""
        local = now.astimezone(ZoneInfo(self.timezone))
        if croniter.match(self.cron, local.replace(second=0, microsecond=0)) and local.second == 0:
            return local.replace(microsecond=0)
        slot: datetime = croniter(self.cron, local).get_prev(datetime)
        return slot

    def spec(self) -> JobSpec:
        return JobSpec(task=self.task, args=self.args, kwargs=self.kwargs, options=self.options)


def fire_due(app: Workhorse, schedules: Sequence[Schedule], now: datetime) -> int:
    """Enqueue the due slot of each schedule that has not fired it yet; returns jobs enqueued."""
    if not schedules:
        return 0
    backend = app.backend
    last = backend.periodic_list(b.PeriodicListParams())
    fired = 0
    for schedule in schedules:
        slot = schedule.latest_slot(now)
        previous = last.get(schedule.name)
        if previous is None:
            backend.periodic_fire(
                b.PeriodicFireParams(name=schedule.name, slot=slot, job=None, now=now)
            )
            continue
        if previous >= slot:
            continue
        job = app.new_job(schedule.spec(), now)
        params = b.PeriodicFireParams(name=schedule.name, slot=slot, job=job, now=now)
        if backend.periodic_fire(params) is not None:
            fired += 1
    return fired
