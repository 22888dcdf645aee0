"""Retry policy: exponential backoff with full jitter. Pure; time and randomness are inputs."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Delay before attempt ``n + 1`` after attempt ``n`` failed.

    The delay is drawn uniformly from ``[0, min(max_delay, 2 * base * factor ** (n - 1))]``
    ("full jitter"), so its mean after the first failure is ``base`` and retries of many jobs
    that failed together spread out instead of returning in a herd.
    """

    base: timedelta = timedelta(seconds=1)
    factor: float = 2.0
    max_delay: timedelta = timedelta(minutes=10)

    def __post_init__(self) -> None:
        if self.base < timedelta(0):
            raise ValueError(f"retry base must not be negative, got {self.base}")
        if not self.factor >= 1 or math.isinf(self.factor):  # `not >=` also rejects NaN
            raise ValueError(f"retry factor must be a finite number >= 1, got {self.factor}")
        if self.max_delay < timedelta(0):
            raise ValueError(f"retry max_delay must not be negative, got {self.max_delay}")

    def ceiling(self, attempt: int) -> timedelta:
        """The largest delay after failed attempt number ``attempt`` (1-based)."""
        cap = self.max_delay.total_seconds()
        try:
            seconds = 2 * self.base.total_seconds() * self.factor ** max(attempt - 1, 0)
        except OverflowError:
            seconds = cap
        return timedelta(seconds=min(cap, seconds))

    def delay(self, attempt: int, rng: random.Random | None = None) -> timedelta:
        """A jittered delay after failed attempt ``attempt``."""
        draw = (rng or random).random()
        return self.ceiling(attempt) * draw


def next_attempt_at(
    *,
    attempt: int,
    max_attempts: int,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random | None = None,
) -> datetime | None:
    """When the next attempt may start, or None when attempts are exhausted (the job is dead)."""
    if attempt >= max_attempts:
        return None
    return now + policy.delay(attempt, rng)
