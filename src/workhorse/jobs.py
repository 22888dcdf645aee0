"""Jobs, their states and the allowed transitions.

The table below is the one state machine; every backend enforces it with conditional writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from workhorse.errors import WorkhorseError
from workhorse.types import JSON

if TYPE_CHECKING:
    from workhorse.app import Workhorse


class JobState(StrEnum):
    SCHEDULED = "scheduled"
    """Waiting for ``run_at``."""
    QUEUED = "queued"
    """Ready to be claimed."""
    RUNNING = "running"
    """Claimed by a worker under a lease."""
    RETRYING = "retrying"
    """An attempt failed; waiting for the next attempt's time."""
    SUCCEEDED = "succeeded"
    DEAD = "dead"
    """Every attempt failed; retried only by hand."""
    CANCELLED = "cancelled"
    BLOCKED = "blocked"
    """Waiting for its parents (``after=``) to succeed; never claimed."""

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.DEAD, JobState.CANCELLED})
ACTIVE_STATES = frozenset(JobState) - TERMINAL_STATES

_S = JobState
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    _S.SCHEDULED: frozenset({_S.QUEUED, _S.CANCELLED}),
    # blocked -> queued when its last parent succeeds; -> cancelled when a parent fails.
    _S.BLOCKED: frozenset({_S.QUEUED, _S.CANCELLED}),
    _S.QUEUED: frozenset({_S.RUNNING, _S.CANCELLED}),
    # running -> queued is the graceful hand-back on shutdown, which spends no attempt.
    _S.RUNNING: frozenset({_S.SUCCEEDED, _S.RETRYING, _S.DEAD, _S.QUEUED, _S.CANCELLED}),
    _S.RETRYING: frozenset({_S.QUEUED, _S.CANCELLED}),
    _S.SUCCEEDED: frozenset(),
    # dead -> queued is a retry by hand; dead -> cancelled discards it (a redrive's cancel).
    _S.DEAD: frozenset({_S.QUEUED, _S.CANCELLED}),
    # cancelled -> blocked re-opens a job cancelled because a parent failed, when that parent is
    # retried by hand: it waits for the parent again (its count of pending parents never let go
    # of the failed one, so it is blocked, never straight queued).
    _S.CANCELLED: frozenset({_S.BLOCKED}),
}


def can_transition(source: JobState, target: JobState) -> bool:
    """Whether the state machine allows ``source -> target``."""
    return target in TRANSITIONS[source]


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptError:
    """Why one attempt failed."""

    attempt: int
    type: str
    message: str
    traceback: str | None
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptUsage:
    """What one attempt consumed: wall time, CPU time (user + system; None when not measured,
    as for an async task sharing the worker's loop), peak RSS (process isolation only) and the
    worker slots it held."""

    attempt: int
    wall_seconds: float
    cpu_seconds: float | None
    max_rss_bytes: int | None
    slots: int


@dataclass(frozen=True, slots=True, kw_only=True)
class JobUsage:
    """What a job's attempts consumed together: wall and CPU seconds summed, the largest peak
    RSS."""

    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    max_rss_bytes: int | None = None

    @classmethod
    def of(cls, attempts: list[AttemptUsage]) -> JobUsage:
        peaks = [a.max_rss_bytes for a in attempts if a.max_rss_bytes is not None]
        return cls(
            wall_seconds=sum(a.wall_seconds for a in attempts),
            cpu_seconds=sum(a.cpu_seconds or 0.0 for a in attempts),
            max_rss_bytes=max(peaks) if peaks else None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """A snapshot of one job as stored."""

    id: int
    tenant: str
    queue: str
    task: str
    args: list[JSON]
    kwargs: dict[str, JSON]
    state: JobState
    priority: int
    attempts: int
    max_attempts: int
    timeout: float | None
    unique_key: str | None
    concurrency_key: str | None = None
    concurrency_limit: int | None = None
    result: JSON
    errors: list[AttemptError] = field(default_factory=list)
    progress: JSON = None
    worker_id: str | None = None
    created_at: datetime
    run_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    lease_expires_at: datetime | None = None
    attempt_usage: list[AttemptUsage] = field(default_factory=list)
    """What each attempt that ended consumed, in order."""

    @property
    def usage(self) -> JobUsage:
        """Totals over the attempts that ended."""
        return JobUsage.of(self.attempt_usage)

    workflow_id: int | None = None
    step_key: str | None = None
    """The job's key in its workflow (``wf.add(..., key=…)``)."""
    cancelled_by: int | None = None
    """The failed parent (dead or cancelled) whose failure cancelled this job, directly or
    through the graph; retrying that parent by hand re-opens the job."""

    @property
    def cancel_reason(self) -> str | None:
        """Why the job was cancelled by its graph, in words; None otherwise."""
        if self.cancelled_by is None or self.state is not JobState.CANCELLED:
            return None
        return f"parent job {self.cancelled_by} failed"


@dataclass(frozen=True, slots=True)
class JobHandle:
    """What enqueue returns: the job's id, and whether this call created it.

    ``created`` is False when a ``unique_key`` matched a job that was not yet terminal, and when
    ``replayed``: an earlier enqueue with the same idempotency key made the job (see
    ``Idempotency``), and this call made nothing.
    """

    id: int
    created: bool = True
    replayed: bool = False
    app: Workhorse | None = field(default=None, repr=False, compare=False)
    """The app that enqueued the job, which ``result`` waits through."""

    def result(self, timeout: float = 30.0) -> JSON:
        """The job's result once it has succeeded (see ``Workhorse.result``)."""
        return self._app().result(self.id, timeout=timeout)

    async def result_async(self, timeout: float = 30.0) -> JSON:
        """``result`` for async code: waits without blocking the event loop."""
        return await self._app().result_async(self.id, timeout=timeout)

    def _app(self) -> Workhorse:
        if self.app is None:
            raise WorkhorseError("this handle has no app: call app.result(job_id) instead")
        return self.app
