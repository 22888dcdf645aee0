"""The storage contract's worker side of a job: polls, claims, leases and outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from workhorse.fairness import USAGE_WINDOW
from workhorse.jobs import JobState
from workhorse.types import JSON


@dataclass(frozen=True, slots=True, kw_only=True)
class JobPollParams:
    """Cheap read: is anything claimable in these queues right now?"""

    queues: Sequence[str]
    now: datetime
    include_queued: bool = True
    include_retrying: bool = False
    """Also count retrying jobs (waiting for their next attempt) as pending work."""


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
    usage_window: timedelta = USAGE_WINDOW


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
    isolation: str | None = None
    """Where the job runs, when the enqueuer chose; None: as its task says."""
    memory_limit: int | None = None
    """Bytes of memory the job may use, when the enqueuer chose; None: as its task says."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorRecord:
    type: str
    message: str
    traceback: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptUsage:
    """What one attempt consumed. ``cpu_seconds`` is user + system time (None when it cannot
    be told apart from other work, as for an async task on the worker's loop); ``max_rss_bytes``
    is the peak resident memory of its process (process isolation only)."""

    wall_seconds: float
    cpu_seconds: float | None = None
    max_rss_bytes: int | None = None
    slots: int = 1
    """How many of the worker's slots it held."""

    def stored(self, attempt: int) -> dict[str, float | int | None]:
        """As stored with the job (an element of its ``usage`` array)."""
        return {
            "attempt": attempt,
            "wall": self.wall_seconds,
            "cpu": self.cpu_seconds,
            "rss": self.max_rss_bytes,
            "slots": self.slots,
        }


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
    usage: AttemptUsage | None = None
    """What the attempt consumed, when measured."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobFinishManyParams:
    """Also adds each finished attempt's run time to its tenant's decayed usage."""

    outcomes: Sequence[Outcome]
    now: datetime
    usage_window: timedelta = USAGE_WINDOW
    only_expired: bool = False
    """Apply an outcome only if the job's lease has expired (the reaper's fencing)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobHeartbeatParams:
    """Extend the leases of the running jobs ``ids`` that ``worker_id`` holds. A job the worker
    holds in the database but does not know (claimed by a claim whose answer was lost) is left to
    its lease: it expires, and the reaper gives the job another attempt."""

    worker_id: str
    ids: Sequence[int]
    lease_for: timedelta
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class JobReleaseParams:
    """Hand running jobs back to the queue without spending their attempt."""

    ids: Sequence[int]
    lease_token_by_id: dict[int, str]
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class JobProgressParams:
    progress_json_by_id: dict[int, str]
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
