"""Latency: offer R jobs/s for S seconds (open loop) to running workers; measure ready → start."""

from __future__ import annotations

import signal
import time
import uuid

from workhorse.app import Workhorse
from workhorse.bench.tasks import app as bench_app
from workhorse.bench.tasks import specs as make_specs
from workhorse.bench.throughput import (
    Progress,
    RunResult,
    all_jobs,
    children_cpu,
    no_progress,
    prepare,
    spawn_worker,
    summarise,
    wait_for_workers,
)
from workhorse.jobs import JobState

TICK = 0.01


def run_once(
    database_url: str,
    *,
    rate: float,
    duration: float,
    workers: int,
    concurrency: int,
    job_ms: float,
    progress: Progress = no_progress,
) -> RunResult:
    """Workers start first and idle; then jobs arrive at ``rate`` per second, on a schedule that
    does not wait for the system (open loop), so queueing delay shows up as latency."""
    app = bench_app
    app.close()
    app.database_url = database_url
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    prepare(app)
    cpu_before = children_cpu()
    procs = [spawn_worker(database_url, queue, concurrency, burst=False) for _ in range(workers)]
    try:
        wait_for_workers(app, workers)  # connected and listening before the clock starts
        total = int(rate * duration)
        sent = 0
        enqueue_time = 0.0
        start = time.perf_counter()
        while sent < total:
            due = min(total, int((time.perf_counter() - start) * rate) + 1)
            if due > sent:
                specs = make_specs(queue, due - sent, job_ms)
                began = time.perf_counter()
                app.enqueue_many(specs)
                enqueue_time += time.perf_counter() - began
                sent = due
                progress("offer", sent, total)
            time.sleep(TICK)
        _wait_finished(app, queue, total, deadline=time.monotonic() + 60 + duration)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
    cpu_s = children_cpu() - cpu_before
    done = all_jobs(app, queue)
    app.close()
    return summarise(done, total, enqueue_time or float("nan"), cpu_s)


def _wait_finished(app: Workhorse, queue: str, total: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        finished = app.list_jobs(queue=queue, states=[JobState.SUCCEEDED], limit=total)
        if len(finished) >= total:
            return
        time.sleep(0.2)
