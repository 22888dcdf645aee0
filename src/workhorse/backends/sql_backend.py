"""The Backend operations both SQL databases share, in one class over the database's Store."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from workhorse.backends import base as b
from workhorse.backends.ops import (
    events,
    graph,
    jobs,
    keys,
    leases,
    schema,
    stats,
    tenants,
    usage,
    workers,
    workflows,
)
from workhorse.backends.store import Store
from workhorse.jobs import Job
from workhorse.tenants import Tenant, TenantStats
from workhorse.workflows import Workflow

S = TypeVar("S", bound=Store)


class SqlBackend(Generic[S]):
    """Every operation that is the same algorithm on both databases, each one line into its
    noun's module in ``workhorse.backends.ops``. A database's backend class derives from it,
    opens its Store, and adds what the database does its own way: inserting, claiming and
    finishing jobs (its hot path) and its wake-ups."""

    def __init__(self, url: str, store: S) -> None:
        self.url = url
        self._store = store

    def close(self) -> None:
        self._store.close()

    # -- schema (ops/schema.py) -------------------------------------------------------------------

    def migrate(self) -> list[int]:
        return schema.migrate(self._store)

    def schema_version(self) -> int:
        return schema.schema_version(self._store)

    def schema_latest(self) -> int:
        return schema.schema_latest(self._store)

    def storage_vacuum(self) -> None:
        schema.storage_vacuum(self._store)

    def places_vacuum(self) -> None:
        """Nothing left behind: SQLite frees a row's old entries as it writes the new ones."""

    # -- jobs (ops/jobs.py) -----------------------------------------------------------------------

    def job_get(self, params: b.JobGetParams) -> Job | None:
        return jobs.job_get(self._store, params)

    def job_list(self, params: b.JobListParams) -> list[Job]:
        return jobs.job_list(self._store, params)

    def job_count(self, params: b.JobCountParams) -> list[b.QueueCount]:
        return jobs.job_count(self._store, params)

    def job_cancel(self, params: b.JobCancelParams) -> b.JobChange | None:
        return jobs.job_cancel(self._store, params)

    def job_retry(self, params: b.JobRetryParams) -> b.JobChange | None:
        return jobs.job_retry(self._store, params)

    def job_discard(self, params: b.JobDiscardParams) -> b.JobChange | None:
        return jobs.job_discard(self._store, params)

    def job_prune(self, params: b.JobPruneParams) -> int:
        return jobs.job_prune(self._store, params)

    def job_history_rotate(self, params: b.JobHistoryParams) -> b.JobHistoryRotation:
        """No days to drop: ``job_prune`` deletes ended jobs row by row."""
        return b.JobHistoryRotation(days=0, jobs=0)

    def job_redrive(self, params: b.JobRedriveParams) -> int:
        return jobs.job_redrive(self._store, params)

    # -- dependencies and workflows (ops/graph.py, ops/workflows.py) ------------------------------

    def job_ended(self, params: b.JobEndedParams) -> list[int]:
        return graph.job_ended(self._store, params)

    def job_parent_results(self, params: b.JobParentResultsParams) -> list[b.ParentResult]:
        return graph.job_parent_results(self._store, params)

    def job_has_ancestor(self, params: b.JobHasAncestorParams) -> bool:
        return graph.job_has_ancestor(self._store, params)

    def workflow_insert(self, params: b.WorkflowInsertParams) -> b.InsertedWorkflow:
        return workflows.workflow_insert(self._store, params)

    def workflow_get(self, params: b.WorkflowGetParams) -> b.WorkflowGraph | None:
        return workflows.workflow_get(self._store, params)

    def workflow_list(self, params: b.WorkflowListParams) -> list[Workflow]:
        return workflows.workflow_list(self._store, params)

    def workflow_cancel(self, params: b.WorkflowCancelParams) -> Workflow | None:
        return workflows.workflow_cancel(self._store, params)

    def workflow_prune(self, params: b.WorkflowPruneParams) -> int:
        return workflows.workflow_prune(self._store, params)

    def workflow_retry(self, params: b.WorkflowRetryParams) -> Workflow | None:
        return workflows.workflow_retry(self._store, params)

    # -- claims and leases (ops/leases.py) --------------------------------------------------------

    def job_poll(self, params: b.JobPollParams) -> bool:
        return leases.job_poll(self._store, params)

    def job_heartbeat(self, params: b.JobHeartbeatParams) -> list[int]:
        return leases.job_heartbeat(self._store, params)

    def job_release(self, params: b.JobReleaseParams) -> list[int]:
        return leases.job_release(self._store, params)

    def job_progress(self, params: b.JobProgressParams) -> None:
        leases.job_progress(self._store, params)

    def job_list_expired(self, params: b.JobListExpiredParams) -> list[b.ExpiredJob]:
        return leases.job_list_expired(self._store, params)

    def job_promote(self, params: b.JobPromoteParams) -> int:
        return leases.job_promote(self._store, params)

    # -- tenants (ops/tenants.py) -----------------------------------------------------------------

    def tenant_upsert(self, params: b.TenantUpsertParams) -> Tenant:
        return tenants.tenant_upsert(self._store, params)

    def tenant_get(self, params: b.TenantGetParams) -> Tenant | None:
        return tenants.tenant_get(self._store, params)

    def tenant_list(self, params: b.TenantListParams) -> list[Tenant]:
        return tenants.tenant_list(self._store, params)

    def tenant_stats(self, params: b.TenantStatsParams) -> list[TenantStats]:
        return tenants.tenant_stats(self._store, params)

    # -- API keys and idempotency keys (ops/keys.py) ----------------------------------------------

    def api_key_insert(self, params: b.ApiKeyInsertParams) -> b.ApiKey | None:
        return keys.api_key_insert(self._store, params)

    def api_key_get(self, params: b.ApiKeyGetParams) -> b.ApiKey | None:
        return keys.api_key_get(self._store, params)

    def api_key_list(self, params: b.ApiKeyListParams) -> list[b.ApiKey]:
        return keys.api_key_list(self._store, params)

    def api_key_revoke(self, params: b.ApiKeyRevokeParams) -> b.ApiKey | None:
        return keys.api_key_revoke(self._store, params)

    def api_key_touch(self, params: b.ApiKeyTouchParams) -> None:
        keys.api_key_touch(self._store, params)

    def idempotency_insert(self, params: b.IdempotencyInsertParams) -> b.IdempotencyRecord:
        return keys.idempotency_insert(self._store, params)

    def idempotency_prune(self, params: b.IdempotencyPruneParams) -> int:
        return keys.idempotency_prune(self._store, params)

    # -- statistics (ops/stats.py) ----------------------------------------------------------------

    def job_stats(self, params: b.JobStatsParams) -> list[b.JobStatsBucket]:
        return stats.job_stats(self._store, params)

    def usage_list(self, params: b.UsageListParams) -> list[b.UsageRow]:
        return usage.usage_list(self._store, params)

    def job_count_by_worker(self, params: b.JobCountByWorkerParams) -> dict[str, int]:
        return stats.job_count_by_worker(self._store, params)

    def metrics_snapshot(self, params: b.MetricsSnapshotParams) -> b.MetricsSnapshot:
        return stats.metrics_snapshot(self._store, params)

    # -- leaders, workers and periodic schedules (ops/workers.py) ---------------------------------

    def leader_elect(self, params: b.LeaderElectParams) -> bool:
        return workers.leader_elect(self._store, params)

    def leader_resign(self, params: b.LeaderResignParams) -> None:
        workers.leader_resign(self._store, params)

    def worker_heartbeat(self, params: b.WorkerHeartbeatParams) -> None:
        workers.worker_heartbeat(self._store, params)

    def worker_list(self, params: b.WorkerListParams) -> list[b.WorkerInfo]:
        return workers.worker_list(self._store, params)

    def worker_delete(self, params: b.WorkerDeleteParams) -> int:
        return workers.worker_delete(self._store, params)

    def periodic_list(self, params: b.PeriodicListParams) -> dict[str, datetime]:
        return workers.periodic_list(self._store, params)

    def periodic_fire(self, params: b.PeriodicFireParams) -> b.InsertedJob | None:
        return workers.periodic_fire(self._store, params)

    # -- events (ops/events.py) -------------------------------------------------------------------

    def event_list(self, params: b.EventListParams) -> list[b.Event]:
        return events.event_list(self._store, params)

    def destination_insert(self, params: b.DestinationInsertParams) -> b.Destination:
        return events.destination_insert(self._store, params)

    def destination_list(self, params: b.DestinationListParams) -> list[b.Destination]:
        return events.destination_list(self._store, params)

    def destination_delete(self, params: b.DestinationDeleteParams) -> bool:
        return events.destination_delete(self._store, params)

    def destination_update(self, params: b.DestinationUpdateParams) -> b.Destination | None:
        return events.destination_update(self._store, params)

    def delivery_claim(self, params: b.DeliveryClaimParams) -> list[b.ClaimedDelivery]:
        return events.delivery_claim(self._store, params)

    def delivery_finish_many(self, params: b.DeliveryFinishManyParams) -> list[int]:
        return events.delivery_finish_many(self._store, params)

    def delivery_list(self, params: b.DeliveryListParams) -> list[b.Delivery]:
        return events.delivery_list(self._store, params)

    def delivery_redeliver(self, params: b.DeliveryRedeliverParams) -> b.Delivery | None:
        return events.delivery_redeliver(self._store, params)

    def delivery_attempt_list(self, params: b.DeliveryAttemptListParams) -> list[b.DeliveryAttempt]:
        return events.delivery_attempt_list(self._store, params)

    def delivery_backlog(self, params: b.DeliveryBacklogParams) -> list[b.BacklogCount]:
        return events.delivery_backlog(self._store, params)

    def event_prune(self, params: b.EventPruneParams) -> int:
        return events.event_prune(self._store, params)

    def event_receive(self, params: b.EventReceiveParams) -> b.ReceivedEvent:
        return events.event_receive(self._store, params)
