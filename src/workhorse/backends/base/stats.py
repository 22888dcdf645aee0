"""The storage contract's statistics: the dashboard's finished-job buckets and the metrics
snapshot that gauges and the autoscaler read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from workhorse.jobs import JobState


@dataclass(frozen=True, slots=True, kw_only=True)
class JobStatsParams:
    """Jobs that finished in [``since``, ``until``), counted per ``bucket``-long interval starting
    at ``since``; only ``tenant``'s when set."""

    since: datetime
    until: datetime
    bucket: timedelta
    tenant: str | None = None

    def __post_init__(self) -> None:
        if self.bucket <= timedelta(0):
            raise ValueError(f"bucket must be positive, got {self.bucket}")
        if self.until < self.since:
            raise ValueError("until must not be before since")


@dataclass(frozen=True, slots=True, kw_only=True)
class JobStatsBucket:
    """The jobs that finished in one bucket, by end state, and how long they waited.

    A job's wait runs from when its last attempt was due (``run_at``) to when that attempt
    started; the percentiles are nearest-rank over the bucket's jobs that started at all (a job
    cancelled before it ran has no wait), None when there are none.
    """

    start: datetime
    succeeded: int
    dead: int
    cancelled: int
    wait_p50: timedelta | None
    wait_p95: timedelta | None

    @property
    def finished(self) -> int:
        return self.succeeded + self.dead + self.cancelled


@dataclass(frozen=True, slots=True, kw_only=True)
class JobCountByWorkerParams:
    """Running jobs per worker: what each worker's utilisation is made of."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsSnapshotParams:
    """What the metrics gauges and the autoscaler read, once per interval: live jobs at ``now``,
    jobs created and finished in the ``window`` before it, and workers seen after
    ``workers_seen_after``."""

    now: datetime
    window: timedelta = timedelta(minutes=1)
    workers_seen_after: datetime

    def __post_init__(self) -> None:
        if self.window <= timedelta(0):
            raise ValueError(f"window must be positive, got {self.window}")


@dataclass(frozen=True, slots=True, kw_only=True)
class JobGroupStats:
    """The jobs of one (tenant, queue, state) in a metrics snapshot.

    For a live state (scheduled, queued, running, retrying) ``count`` is how many are in it now;
    for an end state, how many ended in it during the window. ``created`` counts those created in
    the window; ``due`` the scheduled or retrying ones whose ``run_at`` has come; ``runs`` and
    ``run_seconds`` the succeeded and dead ones of the window that started, and the sum of their
    last attempt's run time.
    """

    tenant: str
    queue: str
    state: JobState
    count: int
    created: int = 0
    due: int = 0
    runs: int = 0
    run_seconds: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsSnapshot:
    groups: list[JobGroupStats]
    workers: int
    """Registered workers seen after ``workers_seen_after``."""
    slots: int
    """Their concurrency, summed."""
    workflows: dict[str, int] = field(default_factory=dict)
    """Workflows running now (``"running"``), and those that ended in the window by end state."""
