"""Statistics: the dashboard's finished-job buckets and running jobs per worker, and the metrics
snapshot that gauges and the autoscaler read."""

from __future__ import annotations

from workhorse.backends import base as b
from workhorse.backends import rows
from workhorse.backends.store import Store


def job_stats(store: Store, params: b.JobStatsParams) -> list[b.JobStatsBucket]:
    query = {
        "since": store.values.time(params.since),
        "until": store.values.time(params.until),
        "bucket": params.bucket.total_seconds(),
        "tenant": params.tenant,
    }
    return [rows.stats_bucket(row, store.values, params) for row in store.read("job_stats", query)]


def job_count_by_worker(store: Store, params: b.JobCountByWorkerParams) -> dict[str, int]:
    return {row["worker_id"]: int(row["running"]) for row in store.read("job_count_by_worker")}


def metrics_snapshot(store: Store, params: b.MetricsSnapshotParams) -> b.MetricsSnapshot:
    v = store.values
    query = {"now": v.time(params.now), "since": v.time(params.now - params.window)}
    seen_after = {"seen_after": v.time(params.workers_seen_after)}
    with store.snapshot() as tx:  # one snapshot for every read
        groups = [rows.group_stats(row) for row in tx.all("metrics_snapshot", query)]
        workers = tx.one("metrics_snapshot_workers", seen_after)
        workflows = tx.all("metrics_snapshot_workflows", {"since": query["since"]})
    return b.MetricsSnapshot(
        groups=groups,
        workers=int(workers["workers"]) if workers else 0,
        slots=int(workers["slots"]) if workers else 0,
        workflows={row["state"]: int(row["count"]) for row in workflows if row["count"]},
    )
