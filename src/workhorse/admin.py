"""The operator's surface of an app, ``app.admin``: workers, queue counts, stats, the metrics
snapshot, API keys, bulk redrive and storage upkeep.

What the web, CLI and serve layers need beyond the job API of ``Workhorse`` itself. It reaches the
database only through its app, so an app's backend (opened lazily, or given by ``use_backend``)
and clock serve both surfaces alike.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from workhorse.apikeys import NewKey, authenticate, create_key, revoke_key
from workhorse.backends import base as b

if TYPE_CHECKING:
    from workhorse.app import Workhorse

REDRIVE_BATCH = 1000
"""Dead jobs changed per transaction by ``redrive``."""

NO_DAY = datetime(1970, 1, 1, tzinfo=UTC)
"""A ``finished_before`` that drops no day of history."""


class Admin:
    """Operations on an app's database for operators, its dashboard and its CLI."""

    def __init__(self, app: Workhorse) -> None:
        self._app = app

    # -- jobs in bulk ------------------------------------------------------------------------

    def queue_counts(self, *, tenant: str | None = None) -> list[b.QueueCount]:
        """Job counts by tenant, queue and state (only ``tenant``'s when given)."""
        return self._app.backend.job_count(b.JobCountParams(tenant=tenant))

    def job_stats(
        self, *, since: datetime, until: datetime, bucket: timedelta, tenant: str | None = None
    ) -> list[b.JobStatsBucket]:
        """Jobs that finished in [``since``, ``until``) per ``bucket``, with wait percentiles;
        only buckets with jobs, in time order (see ``Backend.job_stats``)."""
        params = b.JobStatsParams(since=since, until=until, bucket=bucket, tenant=tenant)
        return self._app.backend.job_stats(params)

    def usage(
        self, *, since: datetime, until: datetime, tenant: str | None = None
    ) -> list[b.UsageRow]:
        """The hourly usage roll-up's rows for the hours from ``since`` to ``until`` (only
        ``tenant``'s when given); see ``workhorse.usage`` for totals and cost."""
        return self._app.backend.usage_list(
            b.UsageListParams(since=since, until=until, tenant=tenant)
        )

    def metrics_snapshot(
        self, *, now: datetime, window: timedelta, workers_seen_after: datetime
    ) -> b.MetricsSnapshot:
        """Live jobs at ``now``, jobs created and finished in the ``window`` before it, and the
        workers seen after ``workers_seen_after``: what the gauges and the autoscaler read."""
        params = b.MetricsSnapshotParams(
            now=now, window=window, workers_seen_after=workers_seen_after
        )
        return self._app.backend.metrics_snapshot(params)

    def redrive(
        self,
        action: b.RedriveAction,
        *,
        tenant: str | None = None,
        queue: str | None = None,
        task: str | None = None,
        error_type: str | None = None,
        finished_after: datetime | None = None,
        finished_before: datetime | None = None,
        dry_run: bool = False,
    ) -> int:
        """Retry (requeue) or cancel (discard) every dead job matching the filters, in batches;
        returns how many changed, or with ``dry_run`` how many would."""

        def batch() -> int:
            return self._app.backend.job_redrive(
                b.JobRedriveParams(
                    action=action,
                    now=self._app.clock(),
                    tenant=tenant,
                    queue=queue,
                    task=task,
                    error_type=error_type,
                    finished_after=finished_after,
                    finished_before=finished_before,
                    dry_run=dry_run,
                    limit=REDRIVE_BATCH,
                )
            )

        total = count = batch()
        while not dry_run and count == REDRIVE_BATCH:
            count = batch()
            total += count
        return total

    # -- workers -----------------------------------------------------------------------------

    def list_workers(self) -> list[b.WorkerInfo]:
        """Every worker in the registry, with its last heartbeat."""
        return self._app.backend.worker_list(b.WorkerListParams())

    def running_by_worker(self) -> dict[str, int]:
        """Running jobs per worker id; a worker running nothing is absent."""
        return self._app.backend.job_count_by_worker(b.JobCountByWorkerParams())

    # -- API keys ----------------------------------------------------------------------------

    def create_api_key(self, *, tenant: str | None, name: str) -> NewKey:
        """Mint and store a key for ``tenant`` (None: an admin key); its token is shown once."""
        return create_key(self._app.backend, tenant=tenant, name=name, now=self._app.clock())

    def authenticate(self, token: str) -> b.ApiKey | None:
        """The live key ``token`` is, or None (malformed, unknown, wrong secret or revoked)."""
        return authenticate(self._app.backend, token, self._app.clock())

    def list_api_keys(self) -> list[b.ApiKey]:
        """Every key, revoked ones too, in creation order."""
        return self._app.backend.api_key_list(b.ApiKeyListParams())

    def revoke_api_key(self, prefix_or_id: str) -> b.ApiKey | None:
        """Revoke the key with this prefix (or whole token) or id; None if there is none."""
        return revoke_key(self._app.backend, prefix_or_id, self._app.clock())

    # -- storage -----------------------------------------------------------------------------

    def storage_vacuum(self) -> None:
        """Reclaim what finished and updated jobs left behind and refresh the planner's
        statistics (benchmarks start from there)."""
        self._app.backend.storage_vacuum()

    def storage_prepare(self) -> None:
        """Create the days of ended jobs' history that the maintenance keeps ahead (PostgreSQL's
        day partitions, today's and the next two), dropping none, and fold what finishes
        appended, as its next round would (benchmarks start from there)."""
        params = b.JobHistoryParams(now=self._app.clock(), finished_before=NO_DAY)
        self._app.backend.job_history_rotate(params)
