"""Weighted shares with mixed job durations: tenant ``heavy`` (weight 3, 10 ms jobs) and tenant
``light`` (weight 1, 40 ms jobs), both backlogged, drained by workers with their default prefetch.
While both have work, heavy should get 75 % of the worker-time and light 25 %.

Worker-time is each job's claim → finish time as the database records it, over the jobs claimed
while both tenants still had work waiting (up to the first claim of the tenant that drains first).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from workhorse.bench.tasks import app as bench_app
from workhorse.bench.tasks import hold
from workhorse.bench.throughput import all_jobs, prepare, spawn_worker
from workhorse.jobs import Job

TENANTS = {"heavy": (3.0, 10.0), "light": (1.0, 40.0)}
"""Tenant → (weight, job duration in ms)."""

WORK_S = 20.0
"""Worker-seconds of backlog each tenant gets: both stay backlogged for most of the run."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantShare:
    weight: float
    job_ms: float
    jobs: int
    share: float
    """Fraction of the worker-time while both were backlogged."""
    expected: float
    """The weight's fraction of the total weight."""
    error_points: float
    """``share - expected`` in percentage points."""


def run_once(database_url: str, *, workers: int, concurrency: int) -> dict[str, TenantShare]:
    """Backlog both tenants, drain them with ``workers`` workers of ``concurrency`` slots each,
    and report the shares."""
    app = bench_app
    app.close()
    app.database_url = database_url
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    prepare(app)
    for name, (weight, job_ms) in TENANTS.items():
        app.set_tenant(name, weight=weight)
        count = int(WORK_S * 1000 / job_ms)
        app.enqueue_many([hold.with_options(queue=queue, tenant=name).prepare(job_ms)] * count)
    procs = [spawn_worker(database_url, queue, concurrency) for _ in range(workers)]
    for proc in procs:
        if proc.wait() != 0:
            raise RuntimeError(f"bench worker exited with {proc.returncode}")
    jobs = all_jobs(app, queue)
    app.close()
    return shares(jobs)


def shares(jobs: list[Job]) -> dict[str, TenantShare]:
    """Each tenant's share of the claim → finish time of the jobs claimed while both had work."""
    last_start = {name: _last_start(jobs, name) for name in TENANTS}
    until = min(last_start.values())
    used = dict.fromkeys(TENANTS, 0.0)
    counted = dict.fromkeys(TENANTS, 0)
    for job in jobs:
        if job.started_at and job.finished_at and job.started_at.timestamp() <= until:
            used[job.tenant] += (job.finished_at - job.started_at).total_seconds()
            counted[job.tenant] += 1
    total_used = sum(used.values()) or 1.0
    total_weight = sum(weight for weight, _ in TENANTS.values())
    return {
        name: _share(weight, job_ms, counted[name], used[name] / total_used, total_weight)
        for name, (weight, job_ms) in TENANTS.items()
    }


def _last_start(jobs: list[Job], tenant: str) -> float:
    starts = [job.started_at.timestamp() for job in jobs if job.tenant == tenant and job.started_at]
    return max(starts, default=0.0)


def _share(weight: float, job_ms: float, count: int, share: float, total: float) -> TenantShare:
    expected = weight / total
    return TenantShare(
        weight=weight,
        job_ms=job_ms,
        jobs=count,
        share=round(share, 3),
        expected=round(expected, 3),
        error_points=round((share - expected) * 100, 1),
    )
