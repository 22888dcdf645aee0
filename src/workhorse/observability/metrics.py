"""In-process metrics: plain counter and histogram increments, never a database read.

Each ``AppMetrics`` and ``WorkerMetrics`` owns a ``CollectorRegistry`` of its own, not
prometheus_client's global one, so tests (and embedders) can run several apps and workers in one
process. Label children are looked up once per (queue, task) and kept: the per-job cost is a
dictionary lookup and a few locked increments.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from time import perf_counter
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
    """The job was cancelled while it ran; the attempt was interrupted."""
    LOST = "lost"
    """The worker lost the job's lease (it was reaped) while it ran."""


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
    """What an app (any process that enqueues) counts: enqueued jobs and database round trips."""

    def __init__(self) -> None:
        self.registry = new_registry()
        self._enqueued = Counter(
            "workhorse_jobs_enqueued",
            "Jobs enqueued by this process (a unique key's existing job is not counted).",
            ["queue", "task"],
            registry=self.registry,
        )
        self._round_trip = Histogram(
            "workhorse_db_round_trip_seconds",
            "Time of one database operation as this process saw it (pool and locks included).",
            ["operation"],
            buckets=ROUND_TRIP_BUCKETS,
            registry=self.registry,
        )
        self._round_trips: dict[Operation, Histogram] = {}
        self._enqueued_series: dict[tuple[str, str], Counter] = {}

    def enqueued(self, rows: Sequence[b.NewJob], inserted: Sequence[b.InsertedJob]) -> None:
        """Count the jobs of ``rows`` that ``inserted`` says were created."""
        for row, result in zip(rows, inserted, strict=True):
            if result.created:
                self._enqueued_child(row.queue, row.task).inc()

    def _enqueued_child(self, queue: str, task: str) -> Counter:
        child = self._enqueued_series.get((queue, task))
        if child is None:
            child = self._enqueued_series[(queue, task)] = self._enqueued.labels(queue, task)
        return child

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


@dataclass(slots=True)
class _JobSeries:
    """The label children of one (queue, task), looked up once."""

    started: Counter
    finished: dict[Outcome, Counter]
    retries: Counter
    dead: Counter
    run: Histogram
    wait: Histogram


class WorkerMetrics:
    """What one worker counts: jobs started and finished, wait and run times, batches, slots."""

    def __init__(self) -> None:
        r = self.registry = new_registry()
        self._started = Counter(
            "workhorse_jobs_started", "Attempts started.", ["queue", "task"], registry=r
        )
        self._finished = Counter(
            "workhorse_jobs_finished",
            "Attempts ended, by outcome: succeeded, retried, dead, cancelled, lost.",
            ["queue", "task", "outcome"],
            registry=r,
        )
        self._lease_losses = Counter(
            "workhorse_lease_losses",
            "Jobs this worker lost while it held them: cancelled or reaped under it, or an "
            "outcome fenced off because the lease had gone.",
            registry=r,
        )
        self._retries = Counter(
            "workhorse_job_retries",
            "Failed attempts that will be retried.",
            ["queue", "task"],
            registry=r,
        )
        self._dead = Counter(
            "workhorse_jobs_dead",
            "Jobs that failed their last attempt.",
            ["queue", "task"],
            registry=r,
        )
        self._wait = Histogram(
            "workhorse_job_wait_seconds",
            "From when an attempt was due (run_at) to when it started.",
            ["queue"],
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self._run = Histogram(
            "workhorse_job_run_seconds",
            "How long attempts ran (succeeded or failed).",
            ["queue", "task"],
            buckets=RUN_BUCKETS,
            registry=r,
        )
        self._claim_batch = Histogram(
            "workhorse_claim_batch_size", "Jobs per claim.", buckets=BATCH_BUCKETS, registry=r
        )
        self._completion_batch = Histogram(
            "workhorse_completion_batch_size",
            "Outcomes per completion write.",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.slots = Gauge("workhorse_worker_slots", "Jobs this worker runs at once.", registry=r)
        self.busy_slots = Gauge(
            "workhorse_worker_busy_slots",
            "Slots taken now (running jobs, and threads of timed-out sync tasks still running).",
            registry=r,
        )
        self._series: dict[tuple[str, str], _JobSeries] = {}
        self._waits: dict[str, Histogram] = {}

    def _for(self, queue: str, task: str) -> _JobSeries:
        series = self._series.get((queue, task))
        if series is None:
            series = self._series[(queue, task)] = self._new_series(queue, task)
        return series

    def _new_series(self, queue: str, task: str) -> _JobSeries:
        wait = self._waits.get(queue)
        if wait is None:
            wait = self._waits[queue] = self._wait.labels(queue)
        return _JobSeries(
            started=self._started.labels(queue, task),
            # Every outcome from the start, so rate() sees the first one happen.
            finished={o: self._finished.labels(queue, task, o.value) for o in Outcome},
            retries=self._retries.labels(queue, task),
            dead=self._dead.labels(queue, task),
            run=self._run.labels(queue, task),
            wait=wait,
        )

    def claimed(self, jobs: Sequence[b.ClaimedJob], now: datetime) -> None:
        """A claim ran and returned ``jobs`` at ``now``."""
        self._claim_batch.observe(len(jobs))
        for job in jobs:
            series = self._for(job.queue, job.task)
            series.started.inc()
            if job.run_at is not None:
                series.wait.observe(max(0.0, (now - job.run_at).total_seconds()))

    def finished(self, job: b.ClaimedJob, outcome: Outcome, run_seconds: float | None) -> None:
        """An attempt of ``job`` ended; ``run_seconds`` is None when it did not run to an end."""
        series = self._for(job.queue, job.task)
        series.finished[outcome].inc()
        if run_seconds is not None:
            series.run.observe(run_seconds)
        if outcome is Outcome.RETRIED:
            series.retries.inc()
        elif outcome is Outcome.DEAD:
            series.dead.inc()
        elif outcome in (Outcome.CANCELLED, Outcome.LOST):
            self._lease_losses.inc()

    def completed(self, outcomes: int, written: int) -> None:
        """A completion write of ``outcomes`` stored ``written``; the rest were fenced off."""
        self._completion_batch.observe(outcomes)
        if written < outcomes:
            self._lease_losses.inc(outcomes - written)
