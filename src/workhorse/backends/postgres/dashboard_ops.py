"""PostgreSQL: the dashboard's operations (finished-job statistics, running jobs per worker, and
discarding one dead job).

A mixin of :class:`~workhorse.backends.postgres.backend.PostgresBackend`, kept in its own module
so the backend stays readable; it uses the backend's transaction and read helpers.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import psycopg

from workhorse.backends import base
from workhorse.backends.sql import load_blocks
from workhorse.jobs import Job

_Q = load_blocks("workhorse.backends.postgres", "queries.sql")

Row = dict[str, Any]


class PostgresDashboardOps:
    """Statistics and dead-job handling for the dashboard over PostgreSQL."""

    # Provided by PostgresBackend.
    def _tx(self, connection: Any = None) -> AbstractContextManager[psycopg.Connection[Row]]:
        raise NotImplementedError

    def _all(self, name: str, params: dict[str, Any]) -> list[Row]:
        raise NotImplementedError

    def job_get(self, params: base.JobGetParams) -> Job | None:
        raise NotImplementedError

    def job_stats(self, params: base.JobStatsParams) -> list[base.JobStatsBucket]:
        query = {
            "since": params.since,
            "until": params.until,
            "bucket": params.bucket.total_seconds(),
            "tenant": params.tenant,
        }
        return [
            base.JobStatsBucket(
                start=params.since + row["bucket"] * params.bucket,
                succeeded=row["succeeded"],
                dead=row["dead"],
                cancelled=row["cancelled"],
                wait_p50=row["wait_p50"],
                wait_p95=row["wait_p95"],
            )
            for row in self._all("job_stats", query)
        ]

    def job_count_by_worker(self, params: base.JobCountByWorkerParams) -> dict[str, int]:
        return {row["worker_id"]: row["running"] for row in self._all("job_count_by_worker", {})}

    def job_discard(self, params: base.JobDiscardParams) -> base.JobChange | None:
        query = {"id": params.id, "tenant": params.tenant, "now": params.now}
        with self._tx() as conn:
            changed = conn.execute(_Q["job_discard"], query).rowcount > 0
        job = self.job_get(base.JobGetParams(id=params.id, tenant=params.tenant))
        return None if job is None else base.JobChange(job=job, changed=changed)
