"""Noisy neighbour: tenant A floods the queue, then tenant B sends a small burst.

B's jobs should start about as fast as on an idle system, and finish while most of A's backlog
still waits; while both have work, each gets worker-time in proportion to its weight.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from workhorse.app import Workhorse
from workhorse.bench.tasks import app as bench_app
from workhorse.bench.tasks import hold
from workhorse.bench.throughput import (
    all_jobs,
    percentiles,
    prepare,
    spawn_worker,
    wait_for_workers,
)
from workhorse.jobs import Job, JobState
from workhorse.tasks import JobSpec

NOISY = "noisy-a"
QUIET = "quiet-b"
BUCKET = 0.1


@dataclass(frozen=True, slots=True, kw_only=True)
class NoisyResult:
    b_wait_idle_ms: dict[str, float]
    b_wait_loaded_ms: dict[str, float]
    a_waiting_when_b_done: int
    a_backlog: int
    shares: list[dict[str, float]]
    """Per tenth of a second while B had work: each tenant's fraction of the worker-time used."""


def run_once(
    database_url: str, *, backlog: int, burst: int, workers: int, concurrency: int, job_ms: float
) -> NoisyResult:
    app = bench_app
    app.close()
    app.database_url = database_url
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    prepare(app)
    procs = [spawn_worker(database_url, queue, concurrency, burst=False) for _ in range(workers)]
    try:
        wait_for_workers(app, workers)
        idle, _ = _burst_waits(app, queue, burst, job_ms)
        for offset in range(0, backlog, 1000):
            jobs = [_job(queue, NOISY, job_ms) for _ in range(min(1000, backlog - offset))]
            app.enqueue_many(jobs)
        _wait(lambda: _count(app, queue, NOISY, JobState.RUNNING) >= workers, 30)
        loaded_from = app.clock()
        loaded, loaded_until = _burst_waits(app, queue, burst, job_ms)
        a_waiting = _count(app, queue, NOISY, JobState.QUEUED)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
    shares = _shares(all_jobs(app, queue), loaded_from, loaded_until)
    app.close()
    return NoisyResult(
        b_wait_idle_ms=percentiles(idle),
        b_wait_loaded_ms=percentiles(loaded),
        a_waiting_when_b_done=a_waiting,
        a_backlog=backlog,
        shares=shares,
    )


def _job(queue: str, tenant: str, job_ms: float) -> JobSpec:
    return hold.with_options(queue=queue, tenant=tenant).prepare(job_ms)


def _burst_waits(
    app: Workhorse, queue: str, burst: int, job_ms: float
) -> tuple[list[float], datetime]:
    """Enqueue B's burst and wait for it: each job's ready → start wait in ms, and when the
    last one finished."""
    handles = app.enqueue_many([_job(queue, QUIET, job_ms) for _ in range(burst)])
    ids = {handle.id for handle in handles}
    _wait(lambda: _finished(app, ids), 120)
    jobs = [app.get_job(job_id) for job_id in ids]
    waits = sorted(
        (job.started_at - job.run_at).total_seconds() * 1000 for job in jobs if job.started_at
    )
    return waits, max(job.finished_at or app.clock() for job in jobs)


def _finished(app: Workhorse, ids: set[int]) -> bool:
    done = app.list_jobs(tenant=QUIET, states=[JobState.SUCCEEDED], limit=100_000)
    return ids <= {job.id for job in done}


def _count(app: Workhorse, queue: str, tenant: str, state: JobState) -> int:
    return len(app.list_jobs(tenant=tenant, queue=queue, states=[state], limit=1_000_000))


def _wait(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark did not reach its next phase in time")
        time.sleep(0.02)


def _shares(jobs: list[Job], start: datetime, end: datetime) -> list[dict[str, float]]:
    """Worker-time per tenant in BUCKET-second slices of [start, end], as fractions."""
    slices: list[dict[str, float]] = []
    t0 = start.timestamp()
    count = max(1, int((end.timestamp() - t0) / BUCKET + 0.999))
    busy = [{NOISY: 0.0, QUIET: 0.0} for _ in range(count)]
    for job in jobs:
        if job.started_at is None or job.finished_at is None:
            continue
        a, b = job.started_at.timestamp(), job.finished_at.timestamp()
        for index in range(count):
            lo, hi = t0 + index * BUCKET, t0 + (index + 1) * BUCKET
            overlap = min(b, hi) - max(a, lo)
            if overlap > 0:
                busy[index][job.tenant] += overlap
    for index, used in enumerate(busy):
        total = sum(used.values()) or 1.0
        slices.append(
            {"t": round(index * BUCKET, 2), **{k: round(v / total, 3) for k, v in used.items()}}
        )
    return slices
