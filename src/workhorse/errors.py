"""One exception hierarchy, rooted in :class:`WorkhorseError`.

Each exception's docstring is its default message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workhorse.jobs import Job


class WorkhorseError(Exception):
    """A Workhorse error occurred."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class ConfigurationError(WorkhorseError, ValueError):
    """The configuration is invalid."""


class NotJSONError(WorkhorseError, TypeError):
    """The value is not JSON: only dict (with str keys), list, str, int, float, bool and None."""


class UnknownTaskError(WorkhorseError, LookupError):
    """No task is registered under this name."""


class JobNotFoundError(WorkhorseError, LookupError):
    """No such job."""


class QuotaExceededError(WorkhorseError):
    """The tenant's quota does not allow this."""


class InvalidTransitionError(WorkhorseError):
    """The job is not in a state that allows this change."""


class IdempotencyConflictError(WorkhorseError):
    """This idempotency key was used with a different request."""


class DatabaseError(WorkhorseError):
    """The database could not be reached or used."""


class SchemaError(DatabaseError):
    """The database schema is missing, newer than this code, or corrupt."""


class JobTimeoutError(WorkhorseError, TimeoutError):
    """The job ran past its timeout."""


class WorkerLostError(WorkhorseError):
    """The worker running the job stopped heartbeating before the job finished."""


class JobMemoryError(WorkhorseError, MemoryError):
    """The job used more memory than its limit."""


class JobCrashedError(WorkhorseError):
    """The process running the job died."""


class DependencyError(WorkhorseError, ValueError):
    """A job's parents are not valid: missing, another tenant's, or named out of order."""


class JobFailedError(WorkhorseError):
    """The job is dead: every attempt failed. ``job`` holds it, with every attempt's error."""

    def __init__(self, job: Job) -> None:
        last = job.errors[-1] if job.errors else None
        why = f": {last.type}: {last.message}" if last is not None else ""
        super().__init__(f"job {job.id} failed after {job.attempts} attempt(s){why}")
        self.job = job


class JobCancelledError(WorkhorseError):
    """The job was cancelled. ``job`` holds it (``job.cancel_reason`` says why, when its graph
    cancelled it)."""

    def __init__(self, job: Job) -> None:
        reason = job.cancel_reason
        super().__init__(f"job {job.id} was cancelled" + (f": {reason}" if reason else ""))
        self.job = job


class WorkflowNotFoundError(WorkhorseError, LookupError):
    """No such workflow."""


class WaitRefusedError(WorkhorseError):
    """A task cannot wait for a job that depends on its own job: that job runs only after this
    task has ended, so the wait could never end."""
