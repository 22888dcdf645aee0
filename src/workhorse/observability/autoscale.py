"""The autoscaling policy: how many workers the load needs. Pure: load, time and state are inputs.

The target is the work arriving plus the backlog to drain, in worker slots, with headroom::

    busy slots  = arrival_rate * mean_run_seconds        (Little's law: slots busy in steady state)
    drain slots = backlog / drain_target_seconds         (clear what waits within the target)
    target      = ceil((busy slots + drain slots) / slots_per_worker * (1 + headroom))
                  clamped to [min_workers, max_workers]

Hysteresis (``next_state``): each reading's target holds until the next reading, and the desired
count is the highest target in force at any moment of the last ``cooldown``. So a higher target
is taken at once; the count comes down to a lower value only once nothing above it was needed
for a whole cooldown, and never further than the highest need of that cooldown. A short lull
never sheds workers, a spike is met immediately, and a drop is followed step by step, a cooldown
late.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True, kw_only=True)
class AutoscaleSettings:
    """The knobs. ``slots_per_worker`` None: the registered workers' mean concurrency (or
    ``default_slots_per_worker`` while none is registered)."""

    min_workers: int = 1
    max_workers: int = 20
    slots_per_worker: int | None = None
    default_slots_per_worker: int = 10
    headroom: float = 0.2
    """Extra capacity on top of the need: 0.2 is 20 % more."""
    drain_target: timedelta = timedelta(minutes=1)
    """How soon the backlog should be gone."""
    cooldown: timedelta = timedelta(minutes=5)
    """How long a lower target must hold before the desired count comes down."""
    window: timedelta = timedelta(minutes=1)
    """Arrivals and run times are averaged over this much recent history."""

    def __post_init__(self) -> None:
        if not 0 <= self.min_workers <= self.max_workers:
            raise ValueError("need 0 <= min_workers <= max_workers")
        if self.slots_per_worker is not None and self.slots_per_worker < 1:
            raise ValueError("slots_per_worker must be >= 1")
        if self.default_slots_per_worker < 1:
            raise ValueError("default_slots_per_worker must be >= 1")
        if not 0 <= self.headroom <= 10 or math.isnan(self.headroom):
            raise ValueError("headroom must be between 0 and 10")
        for name in ("drain_target", "window"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"{name} must be positive")
        if self.cooldown < timedelta(0):
            raise ValueError("cooldown must not be negative")

    def slots(self, registered_workers: int, registered_slots: int) -> int:
        """Slots per worker: configured, else the registry's mean, else the default."""
        if self.slots_per_worker is not None:
            return self.slots_per_worker
        if registered_workers > 0 and registered_slots > 0:
            return max(1, round(registered_slots / registered_workers))
        return self.default_slots_per_worker


@dataclass(frozen=True, slots=True, kw_only=True)
class Load:
    arrival_rate: float
    """Jobs arriving per second over the window."""
    mean_run_seconds: float
    """Mean run time of the jobs that finished in the window (0 when none did)."""
    backlog: int
    """Jobs ready to run and not running: queued, and scheduled or retrying ones that are due."""
    slots_per_worker: int


def target_workers(load: Load, settings: AutoscaleSettings) -> int:
    """The workers ``load`` needs now, by the formula in the module docstring."""
    busy = max(0.0, load.arrival_rate) * max(0.0, load.mean_run_seconds)
    drain = max(0, load.backlog) / settings.drain_target.total_seconds()
    raw = (busy + drain) / max(1, load.slots_per_worker) * (1 + settings.headroom)
    # A hair under an integer is that integer: float noise must not add a worker.
    needed = math.ceil(raw - 1e-9) if math.isfinite(raw) else settings.max_workers
    return min(settings.max_workers, max(settings.min_workers, needed))


@dataclass(frozen=True, slots=True, kw_only=True)
class ScaleState:
    """The desired count and the readings it was taken from: (time, target) in time order, the
    oldest being the one in force when the cooldown window began."""

    desired: int
    readings: tuple[tuple[datetime, int], ...] = ()


def next_state(
    state: ScaleState | None, target: int, now: datetime, cooldown: timedelta
) -> ScaleState:
    """The desired count once ``target`` is read at ``now``: the highest target in force during
    the cooldown before ``now`` (this one included)."""
    readings = (() if state is None else state.readings) + ((now, target),)
    start = now - cooldown
    # The last reading at or before the window's start was still in force when it began.
    first = max((i for i, (at, _) in enumerate(readings) if at <= start), default=0)
    kept = readings[first:]
    return ScaleState(desired=max(value for _, value in kept), readings=kept)
