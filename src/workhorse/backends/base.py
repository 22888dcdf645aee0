"""The storage contract: one Protocol of domain operations, each taking one params object.

Every state change is a compare-and-set on the job's current state and, for a running job, the
lease token of the claim that owns it. A write that loses its race changes nothing and is reported
in the return value, never raised. ``now`` is always a parameter so tests control time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from workhorse.jobs import Job, JobState
from workhorse.tenants import Tenant, TenantStats
from workhorse.types import JSON


@dataclass(frozen=True, slots=True, kw_only=True)
class NewJob:
    """One job to insert. ``state`` is queued, or scheduled when ``run_at`` is in the future."""

    tenant: str
    queue: str
    task: str
    args_json: str
    kwargs_json: str
    priority: int
    run_at: datetime
    state: JobState
    max_attempts: int
    timeout: float | None
    unique_key: str | None
    concurrency_key: str | None = None
    concurrency_limit: int | None = None
    """At most this many jobs of the tenant with ``concurrency_key`` run at once."""
    trace_context: str | None = None
    """The enqueuer's W3C trace context (a JSON carrier), continued by the job's execution."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobInsertManyParams:
    jobs: Sequence[NewJob]
    now: datetime
    connection: object | None = None
    """The caller's own open connection (PostgreSQL: a psycopg Connection): insert inside its
    transaction, which the caller commits or rolls back. None: a transaction of our own."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InsertedJob:
    """``created`` is False when a live job with the same tenant and unique key already existed."""

    id: int
    created: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class JobClaimParams:
    """Claim fairly: tenants are served by least recent usage per weight, within their quotas
    (paused, ``max_running``, start rate) and concurrency-key limits; priority orders a tenant's
    own jobs."""

    worker_id: str
    queues: Sequence[str]
    limit: int
    lease_token: str
    lease_for: timedelta
    now: datetime
    usage_window: timedelta = timedelta(minutes=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimedJob:
    """What a worker needs to run one claimed job. ``attempt`` counts this attempt."""

    id: int
    tenant: str
    queue: str
    task: str
    args: list[JSON]
    kwargs: dict[str, JSON]
    attempt: int
    max_attempts: int
    timeout: float | None
    lease_token: str
    run_at: datetime | None = None
    """When this attempt became due: its wait is the claim's ``now`` minus this."""
    trace_context: str | None = None
    """The enqueuer's trace context, as stored at enqueue (None when tracing was off)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorRecord:
    type: str
    message: str
    traceback: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """The end of one attempt.

    ``state`` is succeeded, retrying (with ``run_at``) or dead. ``error`` is set unless succeeded.
    """

    id: int
    lease_token: str
    attempt: int
    state: JobState
    result_json: str | None = None
    error: ErrorRecord | None = None
    run_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobFinishManyParams:
    """Also adds each finished attempt's run time to its tenant's decayed usage."""

    outcomes: Sequence[Outcome]
    now: datetime
    usage_window: timedelta = timedelta(minutes=1)
    only_expired: bool = False
    """Apply an outcome only if the job's lease has expired (the reaper's fencing)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobHeartbeatParams:
    worker_id: str
    lease_for: timedelta
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class JobReleaseParams:
    """Hand running jobs back to the queue without spending their attempt."""

    ids: Sequence[int]
    lease_token_by_id: dict[int, str]
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class JobListExpiredParams:
    now: datetime
    limit: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpiredJob:
    id: int
    task: str
    attempt: int
    max_attempts: int
    lease_token: str
    worker_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobPromoteParams:
    """Move scheduled and retrying jobs whose ``run_at`` has come to queued."""

    now: datetime
    limit: int


@dataclass(frozen=True, slots=True, kw_only=True)
class JobGetParams:
    id: int
    tenant: str | None = None
    """When set, a job of another tenant is not found."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobListParams:
    tenant: str | None = None
    states: Sequence[JobState] = ()
    queue: str | None = None
    task: str | None = None
    before_id: int | None = None
    """Cursor: only jobs with a smaller id (the list is newest first)."""
    limit: int = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class JobCancelParams:
    id: int
    now: datetime
    tenant: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRetryParams:
    """Put a dead job back in the queue with a fresh budget of attempts."""

    id: int
    now: datetime
    tenant: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobChange:
    """A job after a cancel or retry; ``changed`` says whether this call changed it."""

    job: Job
    changed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class JobProgressParams:
    progress_json_by_id: dict[int, str]
    lease_token_by_id: dict[int, str]
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class JobCountParams:
    tenant: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueCount:
    tenant: str
    queue: str
    state: JobState
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class JobPollParams:
    """Cheap read: is anything claimable in these queues right now?"""

    queues: Sequence[str]
    now: datetime
    include_queued: bool = True
    include_retrying: bool = False
    """Also count retrying jobs (waiting for their next attempt) as pending work."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobPruneParams:
    """Delete terminal jobs that finished before ``finished_before``."""

    finished_before: datetime
    limit: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaderElectParams:
    """Become, or stay, the holder of ``name`` for ``ttl``; returns whether ``holder`` holds it."""

    name: str
    holder: str
    ttl: timedelta
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaderResignParams:
    name: str
    holder: str


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerHeartbeatParams:
    """Register or refresh a worker in the registry."""

    id: str
    host: str
    pid: int
    queues: Sequence[str]
    concurrency: int
    now: datetime
    started_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerInfo:
    id: str
    host: str
    pid: int
    queues: list[str]
    concurrency: int
    started_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerListParams:
    seen_after: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerDeleteParams:
    id: str | None = None
    seen_before: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodicListParams:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodicFireParams:
    """Advance schedule ``name`` to ``slot`` and insert ``job``, exactly once per slot.

    With ``job`` None, record ``slot`` only if the schedule is new (its first sighting).
    """

    name: str
    slot: datetime
    job: NewJob | None
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantUpsertParams:
    """Create or replace a tenant's configuration (its usage and tokens are kept)."""

    tenant: Tenant
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantGetParams:
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantListParams:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantStatsParams:
    now: datetime
    usage_window: timedelta = timedelta(minutes=1)


# -- API keys, idempotency keys and redrive (the HTTP API's operations) ----------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKey:
    """A stored API key. Its secret is never stored: only the SHA-256 of the whole key."""

    id: int
    prefix: str
    """Public and unique: finds the key and names it in listings."""
    secret_hash: str
    tenant: str | None
    """The only tenant the key may see; None for an admin key."""
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyInsertParams:
    prefix: str
    secret_hash: str
    tenant: str | None
    name: str
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyGetParams:
    prefix: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyListParams:
    include_revoked: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyRevokeParams:
    """Revoke the key with this ``id`` or this ``prefix`` (exactly one of them)."""

    id: int | None = None
    prefix: str | None = None
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyTouchParams:
    """Record a use of key ``id`` at ``now``, unless one was recorded after ``stale_before``
    (so that a busy key costs a write a minute, not a write a request)."""

    id: int
    now: datetime
    stale_before: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class IdempotencyInsertParams:
    """Insert ``jobs`` and remember them under (``scope``, ``key``) until ``expires_at``, in one
    transaction; or, when a live record of the key exists, insert nothing and return it."""

    scope: str
    """Who may see the key: the requesting key's tenant, or '' for admin keys."""
    key: str
    request_hash: str
    jobs: Sequence[NewJob]
    now: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class IdempotencyRecord:
    """The outcome of ``idempotency_insert``.

    ``replayed`` is True when the key was already used: ``request_hash`` and ``jobs`` are then
    those of the first request (every job with ``created`` False), and nothing was inserted.
    """

    request_hash: str
    jobs: list[InsertedJob]
    replayed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class IdempotencyPruneParams:
    """Delete idempotency records that expired before ``now``."""

    now: datetime
    limit: int


class RedriveAction(StrEnum):
    RETRY = "retry"
    """Requeue with a fresh budget of attempts (as ``job_retry``)."""
    CANCEL = "cancel"
    """Discard: the dead job becomes cancelled and is never retried."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRedriveParams:
    """Retry or cancel dead jobs matching every filter given (None matches anything).

    ``error_type`` is the type of the last attempt's error; ``finished_after`` is inclusive,
    ``finished_before`` exclusive.
    """

    action: RedriveAction
    now: datetime
    tenant: str | None = None
    queue: str | None = None
    task: str | None = None
    error_type: str | None = None
    finished_after: datetime | None = None
    finished_before: datetime | None = None
    dry_run: bool = False
    limit: int = 1000
    """Change at most this many jobs per call (a dry run counts them all)."""


# -- dashboard reads ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class JobStatsParams:
    """Jobs that finished in [``since``, ``until``), counted per ``bucket``-long interval starting
    at ``since``; only ``tenant``'s when set."""

    since: datetime
    until: datetime
    bucket: timedelta
    tenant: str | None = None

    def __post_init__(self) -> None:
        if self.bucket <= timedelta(0):
            raise ValueError(f"bucket must be positive, got {self.bucket}")
        if self.until < self.since:
            raise ValueError("until must not be before since")


@dataclass(frozen=True, slots=True, kw_only=True)
class JobStatsBucket:
    """The jobs that finished in one bucket, by end state, and how long they waited.

    A job's wait runs from when its last attempt was due (``run_at``) to when that attempt
    started; the percentiles are nearest-rank over the bucket's jobs that started at all (a job
    cancelled before it ran has no wait), None when there are none.
    """

    start: datetime
    succeeded: int
    dead: int
    cancelled: int
    wait_p50: timedelta | None
    wait_p95: timedelta | None

    @property
    def finished(self) -> int:
        return self.succeeded + self.dead + self.cancelled


@dataclass(frozen=True, slots=True, kw_only=True)
class JobCountByWorkerParams:
    """Running jobs per worker: what each worker's utilisation is made of."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobDiscardParams:
    """Cancel one dead job, so it never runs again (a redrive's cancel, for one job)."""

    id: int
    now: datetime
    tenant: str | None = None


# -- metrics -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsSnapshotParams:
    """What the metrics gauges and the autoscaler read, once per interval: live jobs at ``now``,
    jobs created and finished in the ``window`` before it, and workers seen after
    ``workers_seen_after``."""

    now: datetime
    window: timedelta = timedelta(minutes=1)
    workers_seen_after: datetime

    def __post_init__(self) -> None:
        if self.window <= timedelta(0):
            raise ValueError(f"window must be positive, got {self.window}")


@dataclass(frozen=True, slots=True, kw_only=True)
class JobGroupStats:
    """The jobs of one (tenant, queue, state) in a metrics snapshot.

    For a live state (scheduled, queued, running, retrying) ``count`` is how many are in it now;
    for an end state, how many ended in it during the window. ``created`` counts those created in
    the window; ``due`` the scheduled or retrying ones whose ``run_at`` has come; ``runs`` and
    ``run_seconds`` the succeeded and dead ones of the window that started, and the sum of their
    last attempt's run time.
    """

    tenant: str
    queue: str
    state: JobState
    count: int
    created: int = 0
    due: int = 0
    runs: int = 0
    run_seconds: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsSnapshot:
    groups: list[JobGroupStats]
    workers: int
    """Registered workers seen after ``workers_seen_after``."""
    slots: int
    """Their concurrency, summed."""


class Listener(Protocol):
    """Wake-ups for idle workers (PostgreSQL LISTEN/NOTIFY)."""

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; True when new jobs may be claimable."""

    def close(self) -> None: ...


class Backend(Protocol):
    """The storage contract every backend implements and the conformance suite checks.

    Methods are synchronous and thread-safe; async callers run them in a thread.
    """

    url: str

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

    def close(self) -> None:
        """Release connections; the backend is unusable afterwards."""

    def listener(self, queues: Sequence[str]) -> Listener | None:
        """A Listener for new jobs in ``queues``, or None when workers must poll."""

    def job_insert_many(self, params: JobInsertManyParams) -> list[InsertedJob]:
        """Insert jobs atomically, in order; a live job with the same (tenant, unique_key) is
        returned instead of a duplicate."""

    def job_claim(self, params: JobClaimParams) -> list[ClaimedJob]:
        """Move up to ``limit`` queued jobs of ``queues`` to running under ``lease_token``, highest
        priority first, then oldest ``run_at``, then lowest id; no job is claimed twice."""

    def job_poll(self, params: JobPollParams) -> bool:
        """Whether a claim on ``queues`` would find a job now; read-only."""

    def job_finish_many(self, params: JobFinishManyParams) -> list[int]:
        """Record outcomes of running jobs whose lease token still matches; returns the ids
        written (the others were fenced off: lease lost, cancelled or reaped)."""

    def job_heartbeat(self, params: JobHeartbeatParams) -> list[int]:
        """Extend the leases of every job ``worker_id`` holds; returns their ids."""

    def job_release(self, params: JobReleaseParams) -> list[int]:
        """Hand running jobs back to queued without spending the attempt; returns ids released."""

    def job_list_expired(self, params: JobListExpiredParams) -> list[ExpiredJob]:
        """Running jobs whose lease expired before ``now``."""

    def job_promote(self, params: JobPromoteParams) -> int:
        """Scheduled and retrying jobs whose ``run_at`` has come become queued; returns how many."""

    def job_get(self, params: JobGetParams) -> Job | None:
        """One job, or None (also for another tenant's job)."""

    def job_list(self, params: JobListParams) -> list[Job]:
        """Jobs matching the filters, newest first, at most ``limit``."""

    def job_cancel(self, params: JobCancelParams) -> JobChange | None:
        """Cancel a non-terminal job; None if not found."""

    def job_retry(self, params: JobRetryParams) -> JobChange | None:
        """Requeue a dead job with a fresh budget of attempts; None if not found."""

    def job_progress(self, params: JobProgressParams) -> None:
        """Store progress of running jobs whose lease token still matches."""

    def job_count(self, params: JobCountParams) -> list[QueueCount]:
        """Job counts by tenant, queue and state."""

    def job_prune(self, params: JobPruneParams) -> int:
        """Delete old terminal jobs; returns how many."""

    def periodic_list(self, params: PeriodicListParams) -> dict[str, datetime]:
        """The last slot fired (or recorded) for every known schedule."""

    def periodic_fire(self, params: PeriodicFireParams) -> InsertedJob | None:
        """Compare-and-set the schedule's last slot to ``slot`` (only forward) and, in the same
        transaction, insert the job; returns it, or None when another scheduler won the slot."""

    def tenant_upsert(self, params: TenantUpsertParams) -> Tenant:
        """Create or update a tenant's configuration; returns it as stored."""

    def tenant_get(self, params: TenantGetParams) -> Tenant | None:
        """A configured (or already active) tenant, or None."""

    def tenant_list(self, params: TenantListParams) -> list[Tenant]:
        """Every tenant with a row, by name."""

    def tenant_stats(self, params: TenantStatsParams) -> list[TenantStats]:
        """Running, waiting and recently started jobs and decayed usage, for every tenant that
        has a row or jobs."""

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

    # -- API keys, idempotency keys and redrive ----------------------------------------------

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

    def job_redrive(self, params: JobRedriveParams) -> int:
        """Retry or cancel up to ``limit`` matching dead jobs, oldest id first; returns how many
        changed. A dry run changes nothing and returns how many match in all. A retry leaves
        alone (and does not count) a dead job whose unique key a live job or a newer dead job
        holds, since requeueing it would duplicate the key."""

    # -- dashboard reads ---------------------------------------------------------------------

    def job_stats(self, params: JobStatsParams) -> list[JobStatsBucket]:
        """Per bucket, in time order and only buckets with jobs: the jobs that finished in it
        and their wait percentiles. Reads the window through the finished-time index, never
        the whole table."""

    def job_count_by_worker(self, params: JobCountByWorkerParams) -> dict[str, int]:
        """Running jobs per worker id; a worker running nothing is absent."""

    def job_discard(self, params: JobDiscardParams) -> JobChange | None:
        """Move a dead job to cancelled, keeping ``finished_at`` (when it died); a job in any
        other state is left as it is (``changed`` False). None if not found."""

    # -- metrics -----------------------------------------------------------------------------

    def metrics_snapshot(self, params: MetricsSnapshotParams) -> MetricsSnapshot:
        """Live jobs and the window's created and finished jobs, grouped by (tenant, queue,
        state), and the live workers, from one consistent snapshot. Reads the live jobs and the
        window's finished ones only (partial and finished-time indexes), never the history."""
