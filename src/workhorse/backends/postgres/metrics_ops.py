"""PostgreSQL: the metrics snapshot (queue depth, tenants' jobs, arrivals, run time and workers).

A mixin of :class:`~workhorse.backends.postgres.backend.PostgresBackend`; it uses the backend's
transaction helper.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import psycopg

from workhorse.backends import base
from workhorse.backends.sql import load_blocks
from workhorse.jobs import JobState

_Q = load_blocks("workhorse.backends.postgres", "queries.sql")

Row = dict[str, Any]


class PostgresMetricsOps:
    """The gauges' read over PostgreSQL."""

    # Provided by PostgresBackend.
    def _tx(self, connection: Any = None) -> AbstractContextManager[psycopg.Connection[Row]]:
        raise NotImplementedError

    def metrics_snapshot(self, params: base.MetricsSnapshotParams) -> base.MetricsSnapshot:
        query = {"now": params.now, "since": params.now - params.window}
        seen_after = {"seen_after": params.workers_seen_after}
        with self._tx() as conn:
            conn.execute(_Q["snapshot_begin"])  # one snapshot for both reads
            rows = conn.execute(_Q["metrics_snapshot"], query).fetchall()
            workers = conn.execute(_Q["metrics_snapshot_workers"], seen_after).fetchone()
        return base.MetricsSnapshot(
            groups=[_group(row) for row in rows],
            workers=int(workers["workers"]) if workers else 0,
            slots=int(workers["slots"]) if workers else 0,
        )


def _group(row: Row) -> base.JobGroupStats:
    return base.JobGroupStats(
        tenant=row["tenant"],
        queue=row["queue"],
        state=JobState(row["state"]),
        count=int(row["count"]),
        created=int(row["created"]),
        due=int(row["due"]),
        runs=int(row["runs"]),
        run_seconds=float(row["run_seconds"]),
    )
