"""In-process metrics: counter and histogram increments, never a database read.

Each ``AppMetrics`` and ``WorkerMetrics`` owns a ``CollectorRegistry`` of its own, not
prometheus_client's global one, so tests (and embedders) can run several apps and workers in one
process. A worker's per-job counts are plain numbers turned into metric families when scraped:
the per-job cost is a dictionary lookup and a few additions.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from time import perf_counter
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric

from workhorse.observability.labels import DEFAULT_TOP_QUEUES, LabelBudget
from workhorse.observability.usage_metrics import TenantUsage

if TYPE_CHECKING:
    from workhorse.backends import base as b


class Outcome(StrEnum):
    """How an attempt ended, as ``workhorse_jobs_finished_total`` counts it."""

    SUCCEEDED = "succeeded"
    RETRIED = "retried"
    """It failed and will be tried again."""
    DEAD = "dead"
    """It failed with no attempts left."""
    CANCELLED = "cancelled"
    """The job was cancelled while this worker held it; the attempt was interrupted (or, claimed
    ahead, never started)."""
    LOST = "lost"
    """The worker lost the job's lease (it was reaped) while it held it."""


class Operation(StrEnum):
    """The database round trips ``workhorse_db_round_trip_seconds`` times."""

    CLAIM = "claim"
    COMPLETE = "complete"
    HEARTBEAT = "heartbeat"
    ENQUEUE = "enqueue"
    POLL = "poll"


WAIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
RUN_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
ROUND_TRIP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


def new_registry() -> CollectorRegistry:
    """A registry of our own; ``auto_describe`` makes registering a duplicate name an error."""
    return CollectorRegistry(auto_describe=True)


class AppMetrics:
    """What an app (any process that enqueues) counts: enqueued jobs and database round trips.

    Queue names come from clients, so at most ``max_queues`` of them get series of their own
    (see ``LabelBudget``); jobs of the others are counted under ``queue="other"``. Task names are
    bounded by the task registry.
    """

    def __init__(self, max_queues: int = DEFAULT_TOP_QUEUES) -> None:
        self.registry = new_registry()
        self._lock = threading.Lock()
        self._queues = LabelBudget(max_queues)
        self._enqueued: dict[tuple[str, str], int] = {}
        self._round_trip = Histogram(
            "workhorse_db_round_trip_seconds",
            "Time of one database operation as this process saw it (pool and locks included).",
            ["operation"],
            buckets=ROUND_TRIP_BUCKETS,
            registry=self.registry,
        )
        self._round_trips: dict[Operation, Histogram] = {}
        self.waiters: Callable[[], int] = lambda: 0
        """How many callers of this process wait for a job to end now (set by the app)."""
        self.registry.register(_Families(self._families))

    def limit_queues(self, max_queues: int) -> None:
        """Give at most ``max_queues`` queues series of their own (from now on)."""
        with self._lock:
            self._queues.limit = max_queues

    def enqueued(self, rows: Sequence[b.NewJob], inserted: Sequence[b.InsertedJob]) -> None:
        """Count the jobs of ``rows`` that ``inserted`` says were created."""
        created = Tally(
            (row.queue, row.task)
            for row, result in zip(rows, inserted, strict=True)
            if result.created
        )
        with self._lock:
            for (queue, task), count in created.items():
                key = (self._queues.admit(queue), task)
                self._enqueued[key] = self._enqueued.get(key, 0) + count

    def _families(self) -> Iterator[Metric]:
        with self._lock:
            idle = set(self._queues.sweep())
            for key in [key for key in self._enqueued if key[0] in idle]:
                del self._enqueued[key]
            values = [([queue, task], n) for (queue, task), n in self._enqueued.items()]
        yield _counter(
            "workhorse_jobs_enqueued",
            "Jobs enqueued by this process (a unique key's existing job is not counted).",
            ["queue", "task"],
            values,
        )
        yield GaugeMetricFamily(
            "workhorse_result_waiters",
            "Callers in this process waiting for a job to end: result(), wait() and the HTTP "
            "long poll GET /v1/jobs/{id}?wait=.",
            value=self.waiters(),
        )

    def observe_round_trip(self, operation: Operation, seconds: float) -> None:
        child = self._round_trips.get(operation)
        if child is None:
            child = self._round_trips[operation] = self._round_trip.labels(operation.value)
        child.observe(seconds)

    @contextmanager
    def round_trip(self, operation: Operation) -> Iterator[None]:
        """Time the block as one round trip of ``operation`` (also when it raises)."""
        started = perf_counter()
        try:
            yield
        finally:
            self.observe_round_trip(operation, perf_counter() - started)


class _Histogram:
    """A histogram as plain numbers: one writer thread, read at scrape time."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(float(bound) for bound in bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        # Prometheus buckets are inclusive (value <= le): the first bound not below the value.
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def cumulative(self) -> list[tuple[str, float]]:
        """``(le, count)`` pairs, cumulative, ending with ``+Inf``."""
        pairs, running = [], 0
        for bound, count in zip((*self.bounds, math.inf), self.counts, strict=True):
            running += count
            pairs.append(("+Inf" if bound == math.inf else repr(bound), float(running)))
        return pairs


class _JobSeries:
    """The counts of one (queue, task)."""

    __slots__ = ("dead", "finished", "retries", "run", "started", "wait")

    def __init__(self, wait: _Histogram) -> None:
        self.started = 0
        self.finished = dict.fromkeys(Outcome, 0)
        self.retries = 0
        self.dead = 0
        self.run = _Histogram(RUN_BUCKETS)
        self.wait = wait


class WorkerMetrics:
    """What one worker counts: jobs started and finished, wait and run times, batches, slots.

    The per-job counts are plain numbers, not prometheus_client metrics (whose every increment
    takes a lock): a job costs a few additions. Each number has one writer: claims (started,
    waits, claim batches) and completion writes (completion batches, fenced outcomes) in the
    database thread, one at a time each; attempts (outcomes, run times) on the event loop. The
    registry's collector turns them into metric families when scraped.
    """

    def __init__(self) -> None:
        self.registry = new_registry()
        self.slots = Gauge(
            "workhorse_worker_slots", "Jobs this worker runs at once.", registry=self.registry
        )
        self.busy_slots = Gauge(
            "workhorse_worker_busy_slots",
            "Slots taken now (running jobs, and threads of timed-out sync tasks still running).",
            registry=self.registry,
        )
        self._series: dict[tuple[str, str], _JobSeries] = {}
        self._waits: dict[str, _Histogram] = {}
        self._claim_batch = _Histogram(BATCH_BUCKETS)
        self._completion_batch = _Histogram(BATCH_BUCKETS)
        self._interrupted = 0
        """Attempts stopped because their job was cancelled or reaped (event loop)."""
        self._fenced = 0
        """Outcomes the database refused because the lease had gone (completion writes)."""
        self.database_up: Callable[[], bool] = lambda: True
        """Whether this worker reaches the database, as its last call found (set by the worker;
        the API server's ``workhorse_database_up`` comes from its gauges instead)."""
        self.tenant_usage = TenantUsage()
        """CPU-seconds and worker-seconds per tenant (bounded)."""
        self.registry.register(_Families(self.families))

    def _for(self, queue: str, task: str) -> _JobSeries:
        series = self._series.get((queue, task))
        if series is None:
            wait = self._waits.get(queue)
            if wait is None:
                wait = self._waits[queue] = _Histogram(WAIT_BUCKETS)
            series = self._series[(queue, task)] = _JobSeries(wait)
        return series

    def claimed(self, jobs: Sequence[b.ClaimedJob], now: datetime) -> None:
        """A claim ran and returned ``jobs`` at ``now``."""
        self._claim_batch.observe(len(jobs))
        for job in jobs:
            series = self._for(job.queue, job.task)
            series.started += 1
            if job.run_at is not None:
                series.wait.observe(max(0.0, (now - job.run_at).total_seconds()))

    def finished(self, job: b.ClaimedJob, outcome: Outcome, run_seconds: float | None) -> None:
        """An attempt of ``job`` ended; ``run_seconds`` is None when it did not run to an end."""
        series = self._for(job.queue, job.task)
        series.finished[outcome] += 1
        if run_seconds is not None:
            series.run.observe(run_seconds)
        if outcome is Outcome.RETRIED:
            series.retries += 1
        elif outcome is Outcome.DEAD:
            series.dead += 1
        elif outcome is Outcome.CANCELLED or outcome is Outcome.LOST:
            self._interrupted += 1

    def completed(self, outcomes: int, written: int) -> None:
        """A completion write of ``outcomes`` stored ``written``; the rest were fenced off."""
        self._completion_batch.observe(outcomes)
        self._fenced += outcomes - written

    def families(self) -> Iterator[Metric]:
        """The counts as metric families (the collector's ``collect``)."""
        series = list(self._series.items())
        yield GaugeMetricFamily(
            "workhorse_database_up",
            "1 while this worker reaches the database, 0 since a call found it unreachable.",
            value=1.0 if self.database_up() else 0.0,
        )
        yield _counter(
            "workhorse_jobs_started",
            "Attempts started.",
            ["queue", "task"],
            [([q, t], s.started) for (q, t), s in series],
        )
        yield _counter(
            "workhorse_jobs_finished",
            "Attempts ended, by outcome: succeeded, retried, dead, cancelled, lost.",
            ["queue", "task", "outcome"],
            [([q, t, o.value], n) for (q, t), s in series for o, n in s.finished.items()],
        )
        yield _counter(
            "workhorse_job_retries",
            "Failed attempts that will be retried.",
            ["queue", "task"],
            [([q, t], s.retries) for (q, t), s in series],
        )
        yield _counter(
            "workhorse_jobs_dead",
            "Jobs that failed their last attempt.",
            ["queue", "task"],
            [([q, t], s.dead) for (q, t), s in series],
        )
        yield _counter(
            "workhorse_lease_losses",
            "Jobs this worker lost while it held them: cancelled or reaped under it, or an "
            "outcome fenced off because the lease had gone.",
            [],
            [([], self._interrupted + self._fenced)],
        )
        yield _histogram(
            "workhorse_job_wait_seconds",
            "From when an attempt was due (run_at) to when it started.",
            ["queue"],
            [([queue], wait) for queue, wait in list(self._waits.items())],
        )
        yield _histogram(
            "workhorse_job_run_seconds",
            "How long attempts ran (succeeded or failed).",
            ["queue", "task"],
            [([q, t], s.run) for (q, t), s in series],
        )
        yield _histogram(
            "workhorse_claim_batch_size", "Jobs per claim.", [], [([], self._claim_batch)]
        )
        yield _histogram(
            "workhorse_completion_batch_size",
            "Outcomes per completion write.",
            [],
            [([], self._completion_batch)],
        )
        yield from self.tenant_usage.families()


class _Families:
    """A collector over a function that yields metric families when scraped."""

    def __init__(self, families: Callable[[], Iterable[Metric]]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return list(self._families())


def _counter(
    name: str, documentation: str, labels: list[str], values: list[tuple[list[str], int]]
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=labels)
    for label_values, value in values:
        family.add_metric(label_values, value)
    return family


def _histogram(
    name: str, documentation: str, labels: list[str], values: list[tuple[list[str], _Histogram]]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, documentation, labels=labels)
    for label_values, histogram in values:
        family.add_metric(label_values, histogram.cumulative(), histogram.total)
    return family
