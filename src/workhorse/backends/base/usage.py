"""The storage contract's usage roll-up: what attempts consumed, per tenant, task, queue and
hour, added to as outcomes are written and kept when jobs are pruned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageListParams:
    """The roll-up's rows for the hours in [``since``, ``until``); only ``tenant``'s when set."""

    since: datetime
    until: datetime
    tenant: str | None = None

    def __post_init__(self) -> None:
        if self.until < self.since:
            raise ValueError("until must not be before since")


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageRow:
    """One hour of one tenant's task in one queue. ``jobs`` counts the jobs that ended there
    (succeeded or dead), ``attempts`` every attempt that ended (retries too); ``slot_seconds``
    is wall time times the worker slots held (worker-seconds)."""

    tenant: str
    hour: datetime
    task: str
    queue: str
    jobs: int
    attempts: int
    wall_seconds: float
    cpu_seconds: float
    slot_seconds: float
