"""The storage contract: one Protocol of domain operations, each taking one params object.

Every state change is a compare-and-set on the job's current state and, for a running job, the
lease token of the claim that owns it. A write that loses its race changes nothing and is reported
in the return value, never raised. ``now`` is always a parameter so tests control time.

The params and result types live beside it, one module per noun (``jobs``, ``leases``,
``tenants``, ``keys``, ``stats``, ``workers``, ``events``); ``workhorse.backends.base`` re-exports
them all.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from workhorse.backends.base.events import (
    BacklogCount,
    ClaimedDelivery,
    Delivery,
    DeliveryAttempt,
    DeliveryAttemptListParams,
    DeliveryBacklogParams,
    DeliveryClaimParams,
    DeliveryFinishManyParams,
    DeliveryListParams,
    DeliveryRedeliverParams,
    Destination,
    DestinationDeleteParams,
    DestinationInsertParams,
    DestinationListParams,
    DestinationUpdateParams,
    Event,
    EventListParams,
    EventPruneParams,
    EventReceiveParams,
    ReceivedEvent,
)
from workhorse.backends.base.graph import (
    InsertedWorkflow,
    JobEndedParams,
    JobHasAncestorParams,
    JobParentResultsParams,
    ParentResult,
    WorkflowCancelParams,
    WorkflowGetParams,
    WorkflowGraph,
    WorkflowInsertParams,
    WorkflowListParams,
    WorkflowPruneParams,
    WorkflowRetryParams,
)
from workhorse.backends.base.jobs import (
    InsertedJob,
    JobCancelParams,
    JobChange,
    JobCountParams,
    JobDiscardParams,
    JobGetParams,
    JobHistoryParams,
    JobHistoryRotation,
    JobInsertManyParams,
    JobListParams,
    JobPruneParams,
    JobRedriveParams,
    JobRetryParams,
    QueueCount,
)
from workhorse.backends.base.keys import (
    ApiKey,
    ApiKeyGetParams,
    ApiKeyInsertParams,
    ApiKeyListParams,
    ApiKeyRevokeParams,
    ApiKeyTouchParams,
    IdempotencyInsertParams,
    IdempotencyPruneParams,
    IdempotencyRecord,
)
from workhorse.backends.base.leases import (
    ClaimedJob,
    ExpiredJob,
    JobClaimParams,
    JobFinishManyParams,
    JobHeartbeatParams,
    JobListExpiredParams,
    JobPollParams,
    JobProgressParams,
    JobPromoteParams,
    JobReleaseParams,
)
from workhorse.backends.base.stats import (
    JobCountByWorkerParams,
    JobStatsBucket,
    JobStatsParams,
    MetricsSnapshot,
    MetricsSnapshotParams,
)
from workhorse.backends.base.tenants import (
    TenantGetParams,
    TenantListParams,
    TenantStatsParams,
    TenantUpsertParams,
)
from workhorse.backends.base.usage import UsageListParams, UsageRow
from workhorse.backends.base.workers import (
    LeaderElectParams,
    LeaderResignParams,
    PeriodicFireParams,
    PeriodicListParams,
    WorkerDeleteParams,
    WorkerHeartbeatParams,
    WorkerInfo,
    WorkerListParams,
)
from workhorse.jobs import Job
from workhorse.tenants import Tenant, TenantStats
from workhorse.workflows import Workflow


class Listener(Protocol):
    """Wake-ups for idle workers (PostgreSQL LISTEN/NOTIFY)."""

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; True when new jobs may be claimable."""

    def close(self) -> None: ...


class EndedWatch(Protocol):
    """Wake-ups for processes waiting for jobs to end (one per process serves every waiter)."""

    def wait(self, timeout: float) -> Collection[int] | None:
        """Block up to ``timeout`` seconds. The ids of jobs that ended meanwhile (perhaps none),
        or None when any job may have ended (the caller then checks every job it waits for)."""

    def close(self) -> None: ...


class Backend(Protocol):
    """The storage contract every backend implements and the conformance suite checks.

    Methods are synchronous and thread-safe; async callers run them in a thread.
    """

    url: str

    # -- storage ----------------------------------------------------------------------------------

    def migrate(self) -> list[int]:
        """Apply pending migrations (safe when several processes race); returns those applied."""

    def schema_version(self) -> int:
        """The highest applied migration, 0 for an empty database."""

    def schema_latest(self) -> int:
        """The newest migration this Workhorse knows (what ``migrate`` brings the schema to);
        reads no database."""

    def storage_vacuum(self) -> None:
        """Reclaim what finished and updated job rows left behind, and refresh the planner's
        statistics (PostgreSQL's autovacuum normally does this; benchmarks start with it)."""

    def places_vacuum(self) -> None:
        """Remove the entries that claims, moving the places they serve, left in the fair
        order's index, where the database keeps them until a vacuum (PostgreSQL); elsewhere
        nothing. The maintenance leader calls it every few seconds."""

    def close(self) -> None:
        """Release connections; the backend is unusable afterwards."""

    def listener(self, queues: Sequence[str]) -> Listener | None:
        """A Listener for new jobs in ``queues``, or None when workers must poll."""

    def ended_watch(self) -> EndedWatch:
        """A watch for jobs that end (PostgreSQL: a LISTEN connection of its own; SQLite: the
        database's commit counter). Open it before reading the state of the jobs to wait for, so
        that no end is missed between the read and the wait."""

    # -- jobs (base/jobs.py) ----------------------------------------------------------------------

    def job_insert_many(self, params: JobInsertManyParams) -> list[InsertedJob]:
        """Insert jobs atomically, in order; a live job with the same (tenant, unique_key) is
        returned instead of a duplicate."""

    def job_get(self, params: JobGetParams) -> Job | None:
        """One job, or None (also for another tenant's job)."""

    def job_list(self, params: JobListParams) -> list[Job]:
        """Jobs matching the filters, newest first, at most ``limit``."""

    def job_count(self, params: JobCountParams) -> list[QueueCount]:
        """Job counts by tenant, queue and state."""

    def job_cancel(self, params: JobCancelParams) -> JobChange | None:
        """Cancel a non-terminal job, and its dependents down the graph (those that run on
        parent failure are released instead); None if not found."""

    def job_retry(self, params: JobRetryParams) -> JobChange | None:
        """Requeue a dead job with a fresh budget of attempts, re-opening the jobs its death
        cancelled; None if not found."""

    def job_discard(self, params: JobDiscardParams) -> JobChange | None:
        """Move a dead job to cancelled, keeping ``finished_at`` (when it died); a job in any
        other state is left as it is (``changed`` False). None if not found."""

    def job_prune(self, params: JobPruneParams) -> int:
        """Delete old terminal jobs; returns how many."""

    def job_history_rotate(self, params: JobHistoryParams) -> JobHistoryRotation:
        """Drop the days of ended jobs wholly before ``finished_before`` and prepare the days
        ahead, where the database keeps ended jobs by the day (PostgreSQL), and fold what the
        finishes appended into the counts of ended jobs and the hourly usage roll-up (PostgreSQL
        too); elsewhere nothing."""

    def job_redrive(self, params: JobRedriveParams) -> int:
        """Retry or cancel up to ``limit`` matching dead jobs, oldest id first; returns how many
        changed. A dry run changes nothing and returns how many match in all. A retry leaves
        alone (and does not count) a dead job whose unique key a live job or a newer dead job
        holds, since requeueing it would duplicate the key."""

    # -- dependencies and workflows (base/graph.py) -----------------------------------------------

    def job_ended(self, params: JobEndedParams) -> list[int]:
        """Of ``ids``, those whose job has ended (succeeded, dead or cancelled), in order."""

    def job_parent_results(self, params: JobParentResultsParams) -> list[ParentResult]:
        """A job's parents with their step keys and results, by id."""

    def job_has_ancestor(self, params: JobHasAncestorParams) -> bool:
        """Whether ``ancestor`` is a parent of the job, or a parent's parent, up the graph."""

    def workflow_insert(self, params: WorkflowInsertParams) -> InsertedWorkflow:
        """Insert a workflow and all its steps, linked to their parents, in one transaction."""

    def workflow_get(self, params: WorkflowGetParams) -> WorkflowGraph | None:
        """A workflow with its steps and edges, read in one snapshot; None if not found (also for
        another tenant's)."""

    def workflow_list(self, params: WorkflowListParams) -> list[Workflow]:
        """Workflows matching the filters, newest first, at most ``limit``."""

    def workflow_cancel(self, params: WorkflowCancelParams) -> Workflow | None:
        """Cancel every step that has not ended, with their dependents; the workflow as it then
        stands, or None if not found."""

    def workflow_prune(self, params: WorkflowPruneParams) -> int:
        """Delete ended workflows past retention (their steps go with job retention); returns
        how many."""

    def workflow_retry(self, params: WorkflowRetryParams) -> Workflow | None:
        """Requeue every dead step and re-open the steps their failure cancelled; the workflow
        as it then stands, or None if not found."""

    # -- claims and leases (base/leases.py) -------------------------------------------------------

    def job_poll(self, params: JobPollParams) -> bool:
        """Whether a claim on ``queues`` would find a job now; read-only."""

    def job_claim(self, params: JobClaimParams) -> list[ClaimedJob]:
        """Move up to ``limit`` queued jobs of ``queues`` to running under ``lease_token``, highest
        priority first, then oldest ``run_at``, then lowest id; no job is claimed twice."""

    def job_finish_many(self, params: JobFinishManyParams) -> list[int]:
        """Record outcomes of running jobs whose lease token still matches; returns the ids
        written (the others were fenced off: lease lost, cancelled or reaped). In the same
        transaction, the dependents of the jobs that ended are released (the last parent
        succeeded) or cancelled down the graph (a parent failed), their workflows' counts move,
        and waiters are told."""

    def job_heartbeat(self, params: JobHeartbeatParams) -> list[int]:
        """Extend the leases of every job ``worker_id`` holds; returns their ids."""

    def job_release(self, params: JobReleaseParams) -> list[int]:
        """Hand running jobs back to queued without spending the attempt; returns ids released."""

    def job_progress(self, params: JobProgressParams) -> None:
        """Store progress of running jobs whose lease token still matches."""

    def job_list_expired(self, params: JobListExpiredParams) -> list[ExpiredJob]:
        """Running jobs whose lease expired before ``now``."""

    def job_promote(self, params: JobPromoteParams) -> int:
        """Scheduled and retrying jobs whose ``run_at`` has come become queued; returns how many."""

    # -- tenants (base/tenants.py) ----------------------------------------------------------------

    def tenant_upsert(self, params: TenantUpsertParams) -> Tenant:
        """Create or update a tenant's configuration; returns it as stored."""

    def tenant_get(self, params: TenantGetParams) -> Tenant | None:
        """A configured (or already active) tenant, or None."""

    def tenant_list(self, params: TenantListParams) -> list[Tenant]:
        """Every tenant with a row, by name."""

    def tenant_stats(self, params: TenantStatsParams) -> list[TenantStats]:
        """Running, waiting and recently started jobs and decayed usage, for every tenant that
        has a row or jobs."""

    # -- API keys and idempotency keys (base/keys.py) ---------------------------------------------

    def api_key_insert(self, params: ApiKeyInsertParams) -> ApiKey | None:
        """Store a new key; None (and nothing stored) if its prefix is taken."""

    def api_key_get(self, params: ApiKeyGetParams) -> ApiKey | None:
        """The key with this prefix (revoked or not), or None."""

    def api_key_list(self, params: ApiKeyListParams) -> list[ApiKey]:
        """Keys in creation order."""

    def api_key_revoke(self, params: ApiKeyRevokeParams) -> ApiKey | None:
        """Revoke a key (revoking a revoked key keeps its first ``revoked_at``); None if there
        is no such key."""

    def api_key_touch(self, params: ApiKeyTouchParams) -> None:
        """Set ``last_used_at`` to ``now`` if it is unset or older than ``stale_before``."""

    def idempotency_insert(self, params: IdempotencyInsertParams) -> IdempotencyRecord:
        """Atomically claim the key and insert the jobs, or return the live record that holds the
        key; an expired record is replaced. Racing callers: exactly one inserts."""

    def idempotency_prune(self, params: IdempotencyPruneParams) -> int:
        """Delete up to ``limit`` expired records; returns how many."""

    # -- statistics (base/stats.py) ---------------------------------------------------------------

    def job_stats(self, params: JobStatsParams) -> list[JobStatsBucket]:
        """Per bucket, in time order and only buckets with jobs: the jobs that finished in it
        and their wait percentiles. Reads the window through the finished-time index, never
        the whole table."""

    def usage_list(self, params: UsageListParams) -> list[UsageRow]:
        """The hourly usage roll-up's rows in the window, in hour order, then tenant, task and
        queue. Reads the roll-up only, never the jobs table."""

    def job_count_by_worker(self, params: JobCountByWorkerParams) -> dict[str, int]:
        """Running jobs per worker id; a worker running nothing is absent."""

    def metrics_snapshot(self, params: MetricsSnapshotParams) -> MetricsSnapshot:
        """Live jobs and the window's created and finished jobs, grouped by (tenant, queue,
        state), and the live workers, from one consistent snapshot. Reads the live jobs and the
        window's finished ones only (partial and finished-time indexes), never the history."""

    # -- leaders, workers and periodic schedules (base/workers.py) --------------------------------

    def leader_elect(self, params: LeaderElectParams) -> bool:
        """Acquire or extend leadership of ``name``; at most one holder at any instant."""

    def leader_resign(self, params: LeaderResignParams) -> None:
        """Give leadership up if ``holder`` holds it."""

    def worker_heartbeat(self, params: WorkerHeartbeatParams) -> None:
        """Upsert a worker's registry row."""

    def worker_list(self, params: WorkerListParams) -> list[WorkerInfo]:
        """Registered workers, optionally only those seen after a time."""

    def worker_delete(self, params: WorkerDeleteParams) -> int:
        """Remove one worker, or every worker last seen before a time; returns how many."""

    def periodic_list(self, params: PeriodicListParams) -> dict[str, datetime]:
        """The last slot fired (or recorded) for every known schedule."""

    def periodic_fire(self, params: PeriodicFireParams) -> InsertedJob | None:
        """Compare-and-set the schedule's last slot to ``slot`` (only forward) and, in the same
        transaction, insert the job; returns it, or None when another scheduler won the slot."""

    # -- events: the outbox, destinations, deliveries, triggers (base/events.py) -----------------

    def event_list(self, params: EventListParams) -> list[Event]:
        """Events in id order. A job's transition to succeeded, dead, cancelled or retrying
        writes its event (and a pending delivery per subscribed destination) in the
        transition's own transaction, and only when some enabled destination subscribes to the
        tenant and type."""

    def destination_insert(self, params: DestinationInsertParams) -> Destination:
        """Store a webhook endpoint or broker sink; it receives events written from now on."""

    def destination_list(self, params: DestinationListParams) -> list[Destination]:
        """Destinations by id (a tenant's own only, when ``tenant`` is set)."""

    def destination_delete(self, params: DestinationDeleteParams) -> bool:
        """Delete a destination and its deliveries; False if there is no such destination (of
        that tenant)."""

    def destination_update(self, params: DestinationUpdateParams) -> Destination | None:
        """Enable a disabled destination and/or replace its secrets; None if not found."""

    def delivery_claim(self, params: DeliveryClaimParams) -> list[ClaimedDelivery]:
        """Claim due deliveries to enabled destinations, oldest due first; per job and
        destination only the oldest pending event (events of a job arrive in order); no
        delivery is claimed twice while its lease runs."""

    def delivery_finish_many(self, params: DeliveryFinishManyParams) -> list[int]:
        """Record attempts whose claim token still matches (delivered, retry at ``next_at``, or
        given up), log each, and disable destinations when asked; returns the ids written."""

    def delivery_list(self, params: DeliveryListParams) -> list[Delivery]:
        """Deliveries, newest first (a tenant's own only, when ``tenant`` is set)."""

    def delivery_redeliver(self, params: DeliveryRedeliverParams) -> Delivery | None:
        """Make a delivery pending and due now with a fresh retry budget; None if not found."""

    def delivery_attempt_list(self, params: DeliveryAttemptListParams) -> list[DeliveryAttempt]:
        """The delivery log of one delivery, oldest attempt first."""

    def delivery_backlog(self, params: DeliveryBacklogParams) -> list[BacklogCount]:
        """Pending deliveries per destination kind, and the oldest one's creation time."""

    def event_prune(self, params: EventPruneParams) -> int:
        """Delete old events that every destination is done with (delivered, or given up on),
        with their deliveries and delivery log; an event with a pending delivery stays, however
        old. Returns how many events went."""

    def event_receive(self, params: EventReceiveParams) -> ReceivedEvent:
        """Record an incoming event and insert its jobs atomically, once per (tenant, event
        id): a repeat returns the first call's jobs and inserts nothing."""
