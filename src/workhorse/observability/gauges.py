"""Gauges read from the database: queue depth, tenants' jobs, workers, arrivals, desired workers.

One process computes them (the API server), not every worker: ``DatabaseGauges`` is a Prometheus
collector over a cached reading that one ``metrics_snapshot`` call refreshes at most once per
``interval`` (by the app's clock), whoever asks (a scrape or ``GET /v1/autoscale``). Refreshing
also steps the autoscaling policy, so its hysteresis sees every reading.

Series are bounded whatever clients do: the ``top_queues`` queues and the ``top_tenants`` tenants
with the most live jobs get labels of their own, the rest are summed under ``other``.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily

from workhorse.backends import base as b
from workhorse.jobs import JobState
from workhorse.observability.autoscale import (
    AutoscaleSettings,
    Load,
    ScaleState,
    next_state,
    target_workers,
)
from workhorse.observability.labels import DEFAULT_TOP_QUEUES, OTHER, tenant_label, top
from workhorse.workflows import WorkflowState

if TYPE_CHECKING:
    from workhorse.app import Workhorse

log = logging.getLogger("workhorse.metrics")

LIVE_STATES = (
    JobState.SCHEDULED,
    JobState.QUEUED,
    JobState.RUNNING,
    JobState.RETRYING,
    JobState.BLOCKED,
)
WAITING_STATES = frozenset({JobState.SCHEDULED, JobState.QUEUED, JobState.RETRYING})


@dataclass(frozen=True, slots=True, kw_only=True)
class GaugeSettings:
    interval: timedelta = timedelta(seconds=5)
    """The database is read at most this often; scrapes in between get the cached reading."""
    top_tenants: int = 20
    """Tenants with a label of their own; the others are summed as ``tenant="other"``."""
    top_queues: int = DEFAULT_TOP_QUEUES
    """Queues with a label of their own (here and in the enqueue counter); the others are
    summed as ``queue="other"``."""
    tenant_names: bool = False
    """Show tenants' names as label values; by default each tenant is an opaque, stable label
    (``tenant_label``), so the metrics do not name a platform's customers."""
    worker_ttl: timedelta = timedelta(seconds=30)
    """Workers whose last heartbeat is older than this are not counted."""
    autoscale: AutoscaleSettings = field(default_factory=AutoscaleSettings)

    def __post_init__(self) -> None:
        if self.interval < timedelta(0):
            raise ValueError("interval must not be negative")
        if self.top_tenants < 0 or self.top_queues < 0:
            raise ValueError("top_tenants and top_queues must not be negative")
        if self.worker_ttl <= timedelta(0):
            raise ValueError("worker_ttl must be positive")


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """One refresh of the gauges, and the autoscaling decision taken on it."""

    taken_at: datetime
    queue_jobs: dict[tuple[str, JobState], int]
    tenant_running: dict[str, int]
    tenant_waiting: dict[str, int]
    workers: int
    slots: int
    load: Load
    target_workers: int
    """What the load needs right now (before hysteresis)."""
    desired_workers: int
    database_up: bool = True
    outbox: tuple[b.BacklogCount, ...] = ()
    """Undelivered events per destination kind."""
    workflows: dict[str, int] = field(default_factory=dict)
    """Workflows running now, and those that ended in the window by end state."""


def summarise(
    snapshot: b.MetricsSnapshot, settings: GaugeSettings
) -> tuple[dict[tuple[str, JobState], int], dict[str, int], dict[str, int], Load]:
    """Queue depth by (queue, live state) and tenants' running and waiting jobs (top N of each
    plus ``other``), and the load the autoscaler sees."""
    queue_jobs: Counter[tuple[str, JobState]] = Counter()
    running: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    created = runs = backlog = 0
    run_seconds = 0.0
    for group in snapshot.groups:
        created += group.created
        runs += group.runs
        run_seconds += group.run_seconds
        if group.state in LIVE_STATES:
            queue_jobs[(group.queue, group.state)] += group.count
        if group.state is JobState.RUNNING:
            running[group.tenant] += group.count
        elif group.state in WAITING_STATES:
            waiting[group.tenant] += group.count
        backlog += group.count if group.state is JobState.QUEUED else group.due
    autoscale = settings.autoscale
    load = Load(
        arrival_rate=created / autoscale.window.total_seconds(),
        mean_run_seconds=run_seconds / runs if runs else 0.0,
        backlog=backlog,
        slots_per_worker=autoscale.slots(snapshot.workers, snapshot.slots),
    )
    top_running, top_waiting = _top_tenants(running, waiting, settings.top_tenants)
    return _top_queues(queue_jobs, settings.top_queues), top_running, top_waiting, load


def _top_queues(
    queue_jobs: Counter[tuple[str, JobState]], limit: int
) -> dict[tuple[str, JobState], int]:
    """The ``limit`` queues with the most live jobs, the rest summed as ``other``; every live
    state of a queue shown, zeros included."""
    totals: Counter[str] = Counter()
    for (queue, _), count in queue_jobs.items():
        totals[queue] += count
    keep = top(totals, limit)
    folded: Counter[tuple[str, JobState]] = Counter()
    for (queue, state), count in queue_jobs.items():
        folded[(queue if queue in keep else OTHER, state)] += count
    return {
        (queue, state): folded[(queue, state)]
        for queue in {queue for queue, _ in folded}
        for state in LIVE_STATES
    }


def _top_tenants(
    running: Counter[str], waiting: Counter[str], limit: int
) -> tuple[dict[str, int], dict[str, int]]:
    """The ``limit`` busiest tenants (waiting + running, then name), the rest summed as
    ``other`` (always present)."""
    keep = top(running + waiting, limit)
    top_running = {tenant: running[tenant] for tenant in keep} | {OTHER: 0}
    top_waiting = {tenant: waiting[tenant] for tenant in keep} | {OTHER: 0}
    for tenant in (running.keys() | waiting.keys()) - keep:
        top_running[OTHER] += running[tenant]
        top_waiting[OTHER] += waiting[tenant]
    return top_running, top_waiting


class DatabaseGauges:
    """The database-derived gauges of ``app``, as a Prometheus collector with a cached reading."""

    def __init__(self, app: Workhorse, settings: GaugeSettings | None = None) -> None:
        self.app = app
        self.settings = settings or GaugeSettings()
        self._lock = threading.Lock()
        self._reading: Reading | None = None
        self._scale: ScaleState | None = None

    def read(self) -> Reading:
        """The current reading: the cached one while younger than ``interval``, else a fresh
        one. When the database cannot be read, the last reading marked ``database_up=False``."""
        with self._lock:
            now = self.app.clock()
            cached = self._reading
            if cached is not None and _fresh(now - cached.taken_at, self.settings.interval):
                return cached
            self._reading = self._refresh(now, cached)
            return self._reading

    def _refresh(self, now: datetime, previous: Reading | None) -> Reading:
        autoscale = self.settings.autoscale
        try:
            snapshot = self.app.admin.metrics_snapshot(
                now=now, window=autoscale.window, workers_seen_after=now - self.settings.worker_ttl
            )
            outbox = tuple(self.app.events.backlog())
        except Exception as exc:
            log.warning("reading the metrics snapshot failed: %s", exc)
            if previous is not None:
                return replace(previous, taken_at=now, database_up=False)
            snapshot = b.MetricsSnapshot(groups=[], workers=0, slots=0)
            return self._reading_of(snapshot, now, up=False)
        return replace(self._reading_of(snapshot, now, up=True), outbox=outbox)

    def _reading_of(self, snapshot: b.MetricsSnapshot, now: datetime, *, up: bool) -> Reading:
        queue_jobs, running, waiting, load = summarise(snapshot, self.settings)
        target = target_workers(load, self.settings.autoscale)
        if up:
            self._scale = next_state(self._scale, target, now, self.settings.autoscale.cooldown)
        desired = self._scale.desired if self._scale is not None else target
        return Reading(
            taken_at=now,
            queue_jobs=queue_jobs,
            tenant_running=running,
            tenant_waiting=waiting,
            workers=snapshot.workers,
            slots=snapshot.slots,
            load=load,
            target_workers=target,
            desired_workers=desired,
            database_up=up,
            workflows=dict(snapshot.workflows),
        )

    def collect(self) -> Iterable[GaugeMetricFamily]:
        label = _as_is if self.settings.tenant_names else tenant_label
        return list(_families(self.read(), label))

    def describe(self) -> Iterable[GaugeMetricFamily]:
        """Nothing: registering the collector must not read the database."""
        return []


def _fresh(age: timedelta, interval: timedelta) -> bool:
    """Young enough to serve again (a clock that went back makes a reading stale)."""
    return timedelta(0) <= age < interval


def _as_is(name: str) -> str:
    return name


def _tenant_series(reading: dict[str, int], label: Callable[[str], str]) -> list[tuple[str, int]]:
    """``(label, count)`` per tenant, ``other`` as it is, in label order."""
    return sorted(
        (name if name == OTHER else label(name), count) for name, count in reading.items()
    )


def _families(reading: Reading, label: Callable[[str], str]) -> Iterator[GaugeMetricFamily]:
    queue = GaugeMetricFamily(
        "workhorse_queue_jobs", "Live jobs by queue and state.", labels=["queue", "state"]
    )
    for (name, state), count in sorted(reading.queue_jobs.items()):
        queue.add_metric([name, state.value], count)
    yield queue
    running = GaugeMetricFamily(
        "workhorse_tenant_running_jobs",
        'Running jobs of the busiest tenants; the rest summed as tenant="other".',
        labels=["tenant"],
    )
    for tenant, count in _tenant_series(reading.tenant_running, label):
        running.add_metric([tenant], count)
    yield running
    waiting = GaugeMetricFamily(
        "workhorse_tenant_waiting_jobs",
        'Scheduled, queued and retrying jobs of the busiest tenants; the rest as "other".',
        labels=["tenant"],
    )
    for tenant, count in _tenant_series(reading.tenant_waiting, label):
        waiting.add_metric([tenant], count)
    yield waiting
    yield _gauge("workhorse_workers", "Workers that heartbeat recently.", reading.workers)
    yield _gauge("workhorse_workers_slots", "Those workers' slots, summed.", reading.slots)
    yield _gauge(
        "workhorse_arrival_rate_per_second",
        "Jobs created per second over the autoscaling window.",
        reading.load.arrival_rate,
    )
    yield _gauge(
        "workhorse_backlog_jobs",
        "Jobs ready to run and not running (queued, and due scheduled or retrying ones).",
        reading.load.backlog,
    )
    yield _gauge(
        "workhorse_desired_workers",
        "Workers the load needs, with hysteresis (see GET /v1/autoscale).",
        reading.desired_workers,
    )
    yield from _outbox_families(reading)
    yield from _workflow_families(reading)
    yield _gauge(
        "workhorse_database_up",
        "1 when the last read of these gauges succeeded; 0 keeps the last values.",
        1 if reading.database_up else 0,
    )


def _outbox_families(reading: Reading) -> Iterator[GaugeMetricFamily]:
    """The outbox per destination kind (every kind, 0 when empty): how many deliveries wait,
    and how long the oldest has."""
    backlog = GaugeMetricFamily(
        "workhorse_outbox_backlog", "Event deliveries not yet confirmed.", labels=["kind"]
    )
    oldest = GaugeMetricFamily(
        "workhorse_outbox_oldest_seconds",
        "Age of the oldest unconfirmed event delivery (0 when none waits).",
        labels=["kind"],
    )
    found = {count.kind: count for count in reading.outbox}
    for kind in b.DestinationKind:
        count = found.get(kind)
        backlog.add_metric([kind.value], count.pending if count else 0)
        since = count.oldest_at if count else None
        age = 0.0 if since is None else max(0.0, (reading.taken_at - since).total_seconds())
        oldest.add_metric([kind.value], age)
    yield backlog
    yield oldest


def _workflow_families(reading: Reading) -> Iterator[GaugeMetricFamily]:
    """Workflows running now, and those that ended in the window by end state (0 when none)."""
    yield _gauge(
        "workhorse_workflows_running",
        "Workflows with a step that has not ended.",
        reading.workflows.get(WorkflowState.RUNNING, 0),
    )
    ended = GaugeMetricFamily(
        "workhorse_workflows_ended",
        "Workflows that ended in the last autoscaling window (1 minute by default), by end state.",
        labels=["state"],
    )
    for state in WorkflowState:
        if state is not WorkflowState.RUNNING:
            ended.add_metric([state.value], reading.workflows.get(state, 0))
    yield ended


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
