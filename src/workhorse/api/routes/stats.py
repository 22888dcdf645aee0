"""``/v1/stats``: throughput and wait times over a recent window, and each worker's load.

What the dashboard charts. The window is read through the finished-time index, so a request costs
the jobs that finished in it, never the whole table.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from workhorse.api.auth import Admin, App, Caller
from workhorse.api.errors import ApiError
from workhorse.api.stats_schemas import StatsBucketOut, StatsOut, WorkerLoadOut, WorkerLoadsOut
from workhorse.api.types import Name
from workhorse.backends import base as b

router = APIRouter(prefix="/stats", tags=["stats"])

MAX_BUCKETS = 1440
"""Most buckets one request may ask for (a day by the minute)."""


@router.get("", response_model=StatsOut, operation_id="getStats")
def stats(
    *,
    app: App,
    caller: Caller,
    window: Annotated[int, Query(ge=60, le=86_400, description="Seconds back from now.")] = 3600,
    bucket: Annotated[int, Query(ge=1, le=3600, description="Seconds per bucket.")] = 60,
    tenant: Annotated[Name | None, Query(description="Admin keys only.")] = None,
) -> StatsOut:
    """Jobs finished per bucket (succeeded, dead, cancelled) and wait-time percentiles (p50,
    p95: from when a job's last attempt was due to when it started). Buckets are aligned to
    multiples of ``bucket`` since the epoch; the last one holds now and is still filling. A
    tenant key sees its own tenant's numbers only."""
    if window % bucket or window // bucket > MAX_BUCKETS:
        raise ApiError(
            422,
            "invalid_request",
            f"window must be a multiple of bucket, in at most {MAX_BUCKETS} buckets",
        )
    scope = caller.tenant_filter(tenant)
    until = _bucket_end(app.clock(), bucket)
    step = timedelta(seconds=bucket)
    since = until - timedelta(seconds=window)
    found = app.admin.job_stats(since=since, until=until, bucket=step, tenant=scope)
    by_start = {row.start: row for row in found}
    starts = [since + index * step for index in range(window // bucket)]
    return StatsOut(
        window=window,
        bucket=bucket,
        since=since,
        until=until,
        tenant=scope,
        buckets=[_bucket_out(start, by_start.get(start)) for start in starts],
    )


@router.get("/workers", response_model=WorkerLoadsOut, operation_id="getWorkerLoads")
def worker_loads(app: App, caller: Admin) -> WorkerLoadsOut:
    """Every registered worker with its running jobs and utilisation (running / concurrency);
    admin keys only, as workers are shared by every tenant."""
    workers = app.admin.list_workers()
    running = app.admin.running_by_worker()
    return WorkerLoadsOut(workers=[_load_out(w, running.get(w.id, 0)) for w in workers])


def _bucket_end(now: datetime, bucket: int) -> datetime:
    """The end of the bucket that holds ``now``."""
    return datetime.fromtimestamp(math.floor(now.timestamp() / bucket + 1) * bucket, UTC)


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds(), 6)


def _bucket_out(start: datetime, row: b.JobStatsBucket | None) -> StatsBucketOut:
    if row is None:
        return StatsBucketOut(start=start)
    return StatsBucketOut(
        start=start,
        finished=row.finished,
        succeeded=row.succeeded,
        dead=row.dead,
        cancelled=row.cancelled,
        wait_p50=_seconds(row.wait_p50),
        wait_p95=_seconds(row.wait_p95),
    )


def _load_out(worker: b.WorkerInfo, running: int) -> WorkerLoadOut:
    return WorkerLoadOut(
        id=worker.id,
        host=worker.host,
        pid=worker.pid,
        queues=worker.queues,
        concurrency=worker.concurrency,
        started_at=worker.started_at,
        last_seen_at=worker.last_seen_at,
        running=running,
        utilisation=running / worker.concurrency if worker.concurrency else 0.0,
    )
