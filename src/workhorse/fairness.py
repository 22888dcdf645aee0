"""Weighted fair share by cost: which tenants get the next free slots. Pure; no I/O.

Every tenant has a *usage*: worker-seconds its jobs consumed recently (decayed over a window),
plus the time its running jobs have run so far. Slots go one at a time to the tenant whose usage
per unit of weight is lowest (ties to the heavier tenant), and each slot given adds that
tenant's expected job cost (its mean run time) to its usage. So a tenant whose jobs take 100 ms
gets a tenth of the slots of one whose jobs take 10 ms, and both consume the same worker-time; a
tenant of weight 3 consumes three times the worker-time of a tenant of weight 1 while both are
backlogged.

Quotas are hard limits applied while allocating: ``max_running`` (slots held at once) and
start-rate tokens (jobs that may start now). A paused tenant is simply not offered.

The backends keep each tenant's usage and mean cost in the database, updated as attempts finish;
they take the policy's constants below as parameters of their SQL, so the policy is stated once.
This module imports nothing of Workhorse: the backends and the scheduler both build on it.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

USAGE_WINDOW = timedelta(minutes=1)
"""The time constant of usage decay: a worker-second consumed counts 1/e as much a window later."""

MEAN_COST_WEIGHT = 0.2
"""A tenant's mean cost is a moving average: each batch of finished attempts moves it this much
of the way towards the batch's mean run time."""

MIN_COST = 0.001
"""Expected seconds per job never counts below this, so free-looking jobs cannot take every slot
in one allocation."""


@dataclass(slots=True, kw_only=True)
class TenantDemand:
    """What the policy knows about one tenant with claimable jobs. (Not frozen: built for every
    tenant of every claim, where a frozen dataclass's __init__ costs three times as much.)"""

    name: str
    weight: float = 1.0
    usage: float = 0.0
    """Decayed worker-seconds consumed, plus elapsed seconds of its running jobs."""
    running: int = 0
    max_running: int | None = None
    tokens: float | None = None
    """Jobs the start-rate bucket allows now; None when the tenant has no rate limit."""
    mean_cost: float = MIN_COST
    available: int | None = None
    """Claimable jobs, when known; None means at least as many as there are slots."""

    def room(self) -> int | None:
        """How many more jobs may start now (None: no limit but capacity)."""
        limits = []
        if self.max_running is not None:
            limits.append(max(0, self.max_running - self.running))
        if self.tokens is not None:
            limits.append(max(0, math.floor(self.tokens + 1e-9)))
        if self.available is not None:
            limits.append(max(0, self.available))
        return min(limits) if limits else None


def allocate(demands: Sequence[TenantDemand], capacity: int) -> dict[str, int]:
    """Split ``capacity`` slots among tenants; returns slots per tenant (only those given some).

    Work-conserving: slots stay unallocated only when every tenant is at a limit.
    """
    given: dict[str, int] = {}
    heap: list[tuple[float, float, str, int]] = []
    room: dict[str, int | None] = {}
    by_name = {demand.name: demand for demand in demands}
    for index, demand in enumerate(demands):
        room[demand.name] = demand.room()
        if demand.weight > 0 and room[demand.name] != 0:
            # Ties in usage per weight go to the heavier tenant, then by name.
            heap.append((demand.usage / demand.weight, -demand.weight, demand.name, index))
    heapq.heapify(heap)
    remaining = capacity
    while remaining > 0 and heap:
        share, rank, name, index = heapq.heappop(heap)
        demand = by_name[name]
        given[name] = given.get(name, 0) + 1
        remaining -= 1
        limit = room[name]
        if limit is not None and given[name] >= limit:
            continue
        cost = max(demand.mean_cost, MIN_COST)
        heapq.heappush(heap, (share + cost / demand.weight, rank, name, index))
    return given


PLACE_FLOOR = 1e-6
"""Usage below this (seconds) counts as this in a place: the logarithm needs a positive number."""


def place(usage: float, weight: float, at: float, window: timedelta) -> float:
    """A tenant's position in the fair order, ``ln(usage / weight) + at / window`` with ``at`` in
    epoch seconds: decay shrinks every tenant's usage by the same factor, so positions written at
    different times compare as the tenants' usages per weight compare now, and a stored order
    never needs rewriting as time passes. Logarithms keep the numbers small for ever."""
    return math.log(max(usage, PLACE_FLOOR) / weight) + at / window.total_seconds()


def decayed(usage: float, elapsed: timedelta, window: timedelta) -> float:
    """``usage`` after ``elapsed`` of exponential decay with time constant ``window``."""
    seconds = max(elapsed.total_seconds(), 0.0)
    return usage * math.exp(-seconds / window.total_seconds())


def refill(tokens: float, elapsed: timedelta, rate: float, burst: float) -> float:
    """A token bucket ``elapsed`` later: ``rate`` tokens per second, holding at most ``burst``."""
    return min(burst, tokens + rate * max(elapsed.total_seconds(), 0.0))
