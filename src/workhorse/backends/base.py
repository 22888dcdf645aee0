"""The storage contract: one Protocol of domain operations, each taking one params object.

Every state change is a compare-and-set on the job's current state and, for a running job, the
lease token of the claim that owns it. A write that loses its race changes nothing and is reported
in the return value, never raised. ``now`` is always a parameter so tests control time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from workhorse.jobs import Job, JobState
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
    worker_id: str
    queues: Sequence[str]
    limit: int
    lease_token: str
    lease_for: timedelta
    now: datetime


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
    outcomes: Sequence[Outcome]
    now: datetime
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
