"""SQLite: the metrics snapshot (queue depth, tenants' jobs, arrivals, run time and workers).

A mixin of :class:`~workhorse.backends.sqlite.backend.SQLiteBackend`; it uses the backend's
snapshot read helper.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager

from workhorse.backends import base
from workhorse.backends.sql import load_blocks
from workhorse.clock import to_epoch
from workhorse.jobs import JobState

_Q = load_blocks("workhorse.backends.sqlite", "queries.sql")


class SQLiteMetricsOps:
    """The gauges' read over SQLite."""

    # Provided by SQLiteBackend.
    def _snapshot(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def metrics_snapshot(self, params: base.MetricsSnapshotParams) -> base.MetricsSnapshot:
        now = to_epoch(params.now)
        query = {"now": now, "since": now - params.window.total_seconds()}
        seen_after = {"seen_after": to_epoch(params.workers_seen_after)}
        with self._snapshot() as conn:  # one snapshot for both reads
            rows = conn.execute(_Q["metrics_snapshot"], query).fetchall()
            workers = conn.execute(_Q["metrics_snapshot_workers"], seen_after).fetchone()
        return base.MetricsSnapshot(
            groups=[_group(row) for row in rows],
            workers=int(workers["workers"]),
            slots=int(workers["slots"]),
        )


def _group(row: sqlite3.Row) -> base.JobGroupStats:
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
