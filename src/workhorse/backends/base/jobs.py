"""The storage contract's job operations: enqueue, read, change by hand, prune and redrive."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from workhorse.jobs import Job, JobState


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
    isolation: str | None = None
    """Where the job runs ("inline" or "process"); None: as its task says."""
    memory_limit: int | None = None
    """Bytes of memory the job may use (process isolation); None: as its task says."""
    after: Sequence[int] = ()
    """Parents by id: jobs of the same tenant that must succeed before this one runs."""
    after_steps: Sequence[int] = ()
    """Parents by position in the same batch (earlier jobs only, so no cycle can be made)."""
    run_on_parent_failure: bool = False
    """Run once every parent has ended, whatever its end; by default a failed (dead or cancelled)
    parent cancels this job."""
    workflow_id: int | None = None
    step_key: str | None = None

    @property
    def linked(self) -> bool:
        """Whether the job has a place in a graph (parents, or a workflow)."""
        return bool(self.after or self.after_steps) or self.workflow_id is not None


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
class JobCountParams:
    tenant: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueCount:
    tenant: str
    queue: str
    state: JobState
    count: int


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
class JobDiscardParams:
    """Cancel one dead job, so it never runs again (a redrive's cancel, for one job)."""

    id: int
    now: datetime
    tenant: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobChange:
    """A job after a cancel or retry; ``changed`` says whether this call changed it."""

    job: Job
    changed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class JobPruneParams:
    """Delete terminal jobs that finished before ``finished_before``."""

    finished_before: datetime
    limit: int


@dataclass(frozen=True, slots=True, kw_only=True)
class JobHistoryParams:
    """Keep the history of ended jobs in shape for ``finished_before``: drop what a database
    keeps by the UTC day (PostgreSQL's day partitions) wholly before its day, and prepare the
    days from ``now``'s to ``ahead`` days after."""

    now: datetime
    finished_before: datetime
    ahead: int = 2


@dataclass(frozen=True, slots=True)
class JobHistoryRotation:
    """What ``job_history_rotate`` did."""

    days: int
    """Days of ended jobs dropped whole."""
    jobs: int
    """The jobs they held (PostgreSQL's estimate where it keeps one)."""


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
