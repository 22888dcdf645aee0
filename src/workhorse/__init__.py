"""Workhorse: a multi-tenant, distributed job execution platform for Python."""

from workhorse.app import Workhorse
from workhorse.context import JobContext, current_job
from workhorse.errors import (
    ConfigurationError,
    DatabaseError,
    IdempotencyConflictError,
    InvalidTransitionError,
    JobCrashedError,
    JobMemoryError,
    JobNotFoundError,
    JobTimeoutError,
    NotJSONError,
    UnknownTaskError,
    WorkerLostError,
    WorkhorseError,
)
from workhorse.jobs import AttemptError, Job, JobHandle, JobState
from workhorse.retry import RetryPolicy
from workhorse.tasks import BoundTask, Idempotency, Isolation, JobOptions, JobSpec, Task
from workhorse.worker import Worker, WorkerConfig

__version__ = "0.1.0"

__all__ = [
    "AttemptError",
    "BoundTask",
    "ConfigurationError",
    "DatabaseError",
    "Idempotency",
    "IdempotencyConflictError",
    "InvalidTransitionError",
    "Isolation",
    "Job",
    "JobContext",
    "JobCrashedError",
    "JobHandle",
    "JobMemoryError",
    "JobNotFoundError",
    "JobOptions",
    "JobSpec",
    "JobState",
    "JobTimeoutError",
    "NotJSONError",
    "RetryPolicy",
    "Task",
    "UnknownTaskError",
    "Worker",
    "WorkerConfig",
    "WorkerLostError",
    "Workhorse",
    "WorkhorseError",
    "__version__",
    "current_job",
]
