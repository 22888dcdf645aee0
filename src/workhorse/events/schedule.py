"""When a failed delivery is tried again: a pure policy over the attempt number.

Webhooks follow a fixed schedule that spans more than a day (jitter included), then give up
and disable the endpoint. Brokers are infrastructure the operator runs: their deliveries never
give up, backing off to a cap, so an outage grows the outbox and loses nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

WEBHOOK_DELAYS: tuple[timedelta, ...] = tuple(
    timedelta(seconds=s)
    for s in (5, 30, 120, 300, 900, 1800, 3600, 7200, 14400, 21600, 28800, 28800, 28800)
)
"""After attempt n (from 1) fails, wait about ``WEBHOOK_DELAYS[n - 1]``; 37.9 h in all, so at
least 30 h with the jitter at its lowest."""

JITTER = 0.2
"""Each delay is scaled by a factor drawn from [1 - JITTER, 1 + JITTER]."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RetrySchedule:
    """The retry policy of one kind of destination."""

    delays: Sequence[timedelta] = WEBHOOK_DELAYS
    """Fixed delays after each failed attempt; past the last, give up."""
    forever: bool = False
    """Never give up: past the last delay, keep using it."""


BROKER_SCHEDULE = RetrySchedule(
    delays=tuple(timedelta(seconds=s) for s in (1, 2, 4, 8, 16, 30, 60)), forever=True
)


def next_attempt_at(
    schedule: RetrySchedule,
    attempt: int,
    now: datetime,
    draw: Callable[[float, float], float] = random.uniform,
) -> datetime | None:
    """When to try again after attempt ``attempt`` (from 1) failed at ``now``; None: give up."""
    if attempt > len(schedule.delays) and not schedule.forever:
        return None
    delay = schedule.delays[min(attempt, len(schedule.delays)) - 1]
    return now + delay * draw(1 - JITTER, 1 + JITTER)


def total_span(schedule: RetrySchedule) -> timedelta:
    """How long a delivery is retried before giving up, with the jitter at its lowest."""
    return sum(schedule.delays, timedelta()) * (1 - JITTER)
