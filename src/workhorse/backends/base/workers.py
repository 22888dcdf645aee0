"""The storage contract's processes: leader leases, the worker registry and periodic schedules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from workhorse.backends.base.jobs import NewJob


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaderElectParams:
    """Become, or stay, the holder of ``name`` for ``ttl``; returns whether ``holder`` holds it."""

    name: str
    holder: str
    ttl: timedelta
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaderResignParams:
    name: str
    holder: str


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerHeartbeatParams:
    """Register or refresh a worker in the registry."""

    id: str
    host: str
    pid: int
    queues: Sequence[str]
    concurrency: int
    now: datetime
    started_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerInfo:
    id: str
    host: str
    pid: int
    queues: list[str]
    concurrency: int
    started_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerListParams:
    seen_after: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerDeleteParams:
    id: str | None = None
    seen_before: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodicListParams:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodicFireParams:
    """Advance schedule ``name`` to ``slot`` and insert ``job``, exactly once per slot.

    With ``job`` None, record ``slot`` only if the schedule is new (its first sighting).
    """

    name: str
    slot: datetime
    job: NewJob | None
    now: datetime
