"""Throughput: bulk-enqueue N jobs, then time P worker processes draining them."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from workhorse.app import Workhorse
from workhorse.bench.tasks import app as bench_app
from workhorse.bench.tasks import specs as make_specs
from workhorse.jobs import Job, JobState

ENQUEUE_BATCH = 10_000


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    enqueue_per_s: float
    throughput_per_s: float
    latency_ms: dict[str, float]
    lost: int
    duplicates: int
    cpu_s: float


Progress = Callable[[str, int, int | None], None]
"""``progress(phase, done, total)``: what a run is doing, for a progress display (total None:
not countable, e.g. workers draining)."""


def no_progress(phase: str, done: int, total: int | None) -> None:
    """The default Progress: nothing shown."""


def run_once(
    database_url: str,
    *,
    jobs: int,
    workers: int,
    concurrency: int,
    job_ms: float,
    tenants: int = 1,
    progress: Progress = no_progress,
    isolation: str = "inline",
    processes: int | None = None,
) -> RunResult:
    """One run on its own queue, so earlier jobs in the database do not interfere; the jobs
    spread round-robin over ``tenants`` tenants."""
    app = bench_app
    app.close()
    app.database_url = database_url
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    prepare(app)
    started = time.perf_counter()
    for offset in range(0, jobs, ENQUEUE_BATCH):
        count = min(ENQUEUE_BATCH, jobs - offset)
        specs = make_specs(queue, count, job_ms, tenants=tenants, first=offset, isolation=isolation)
        app.enqueue_many(specs)
        progress("enqueue", offset + count, jobs)
    enqueue_s = time.perf_counter() - started
    cpu_before = children_cpu()
    options = () if processes is None else ("--processes", str(processes))
    procs = [spawn_worker(database_url, queue, concurrency, *options) for _ in range(workers)]
    for proc in procs:
        while proc.poll() is None:
            progress("drain", 0, None)
            time.sleep(0.1)
        if proc.returncode != 0:
            raise RuntimeError(f"bench worker exited with {proc.returncode}")
    cpu_s = children_cpu() - cpu_before
    done = all_jobs(app, queue)
    app.close()
    return summarise(done, jobs, enqueue_s, cpu_s)


def prepare(app: Workhorse) -> None:
    """Start from a database in the shape a running deployment keeps it: what autovacuum leaves,
    not earlier runs' dead rows, and (PostgreSQL) the day partitions of ended jobs that the
    maintenance creates ahead. In a new database the first worker's maintenance would create
    them during the run, under an exclusive lock of the jobs that every claim and completion
    then queues behind (up to half a second), moving there what had ended so far. Drops no
    day."""
    app.admin.storage_vacuum()
    app.admin.storage_prepare()


def spawn_worker(
    database_url: str, queue: str, concurrency: int, *options: str, burst: bool = True
) -> subprocess.Popen[bytes]:
    """A ``workhorse worker`` on ``queue``, with further command-line ``options``."""
    argv = [
        sys.executable,
        "-m",
        "workhorse",
        "worker",
        "--app",
        "workhorse.bench.tasks:app",
        "--queues",
        queue,
        "--concurrency",
        str(concurrency),
        "--log-level",
        "warning",
        *options,
    ]
    if burst:
        argv.append("--burst")
    # The URL (it may hold a password) by environment: a command line is visible to every user.
    return subprocess.Popen(argv, env={**os.environ, "WORKHORSE_DATABASE_URL": database_url})


def wait_for_workers(app: Workhorse, count: int, timeout: float = 60.0) -> None:
    """Block until ``count`` workers have registered (they are connected and claiming)."""
    deadline = time.monotonic() + timeout
    while len(app.admin.list_workers()) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{count} bench workers did not start within {timeout:g}s")
        time.sleep(0.05)
    time.sleep(0.5)  # the registry row is written just before the first claim; let it happen


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def all_jobs(app: Workhorse, queue: str) -> list[Job]:
    found: list[Job] = []
    before = None
    while True:
        page = app.list_jobs(queue=queue, before_id=before, limit=5000)
        found.extend(page)
        if len(page) < 5000:
            return found
        before = page[-1].id


def summarise(done: list[Job], jobs: int, enqueue_s: float, cpu_s: float) -> RunResult:
    succeeded = [job for job in done if job.state == JobState.SUCCEEDED]
    starts = [job.started_at for job in succeeded if job.started_at]
    ends = [job.finished_at for job in succeeded if job.finished_at]
    span = (max(ends) - min(starts)).total_seconds() if starts and ends else float("nan")
    waits = sorted(
        (job.started_at - job.run_at).total_seconds() * 1000 for job in succeeded if job.started_at
    )
    return RunResult(
        enqueue_per_s=jobs / enqueue_s,
        throughput_per_s=len(succeeded) / span if span > 0 else float("nan"),
        latency_ms=percentiles(waits),
        lost=jobs - len(succeeded),
        duplicates=sum(1 for job in succeeded if job.attempts > 1),
        cpu_s=cpu_s,
    )


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max of sorted values (NaN when empty)."""
    if not values:
        return {key: float("nan") for key in ("p50", "p95", "p99", "max")}
    cuts = (
        statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    )
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": values[-1]}
