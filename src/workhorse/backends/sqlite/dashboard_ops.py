"""SQLite: the dashboard's operations (finished-job statistics, running jobs per worker, and
discarding one dead job).

A mixin of :class:`~workhorse.backends.sqlite.backend.SQLiteBackend`, kept in its own module so
the backend stays readable; it uses the backend's transaction and read helpers.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

from workhorse.backends import base
from workhorse.backends.sql import load_blocks
from workhorse.clock import to_epoch
from workhorse.jobs import Job

_Q = load_blocks("workhorse.backends.sqlite", "queries.sql")


class SQLiteDashboardOps:
    """Statistics and dead-job handling for the dashboard over SQLite."""

    # Provided by SQLiteBackend.
    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _read(self, name: str, params: dict[str, Any]) -> list[sqlite3.Row]:
        raise NotImplementedError

    def job_get(self, params: base.JobGetParams) -> Job | None:
        raise NotImplementedError

    def job_stats(self, params: base.JobStatsParams) -> list[base.JobStatsBucket]:
        query = {
            "since": to_epoch(params.since),
            "until": to_epoch(params.until),
            "bucket": params.bucket.total_seconds(),
            "tenant": params.tenant,
        }
        return [
            base.JobStatsBucket(
                start=params.since + row["bucket"] * params.bucket,
                succeeded=int(row["succeeded"]),
                dead=int(row["dead"]),
                cancelled=int(row["cancelled"]),
                wait_p50=_seconds(row["wait_p50"]),
                wait_p95=_seconds(row["wait_p95"]),
            )
            for row in self._read("job_stats", query)
        ]

    def job_count_by_worker(self, params: base.JobCountByWorkerParams) -> dict[str, int]:
        return {row["worker_id"]: row["running"] for row in self._read("job_count_by_worker", {})}

    def job_discard(self, params: base.JobDiscardParams) -> base.JobChange | None:
        query = {"id": params.id, "tenant": params.tenant, "now": to_epoch(params.now)}
        with self._write() as conn:
            changed = conn.execute(_Q["job_discard"], query).rowcount > 0
        job = self.job_get(base.JobGetParams(id=params.id, tenant=params.tenant))
        return None if job is None else base.JobChange(job=job, changed=changed)


def _seconds(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)
