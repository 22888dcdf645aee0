"""Request and response bodies of the REST API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator
from pydantic.config import JsonDict

from workhorse.api.tracebacks import task_frames
from workhorse.api.types import (
    Count,
    JobRef,
    JSONList,
    JSONObject,
    Name,
    Priority,
    Seconds,
    Time,
)
from workhorse.backends import base as b
from workhorse.jobs import Job, JobState

MAX_BATCH = 1000
MAX_PARENTS = 1000
MAX_EDGES = 10_000
"""Dependencies named by one request, over all its jobs: a batch of 1,000 jobs each after 1,000
others would write a million edges in one transaction."""


class _Request(BaseModel):
    """A request body: unknown fields refused. Numbers and booleans are strict types (no
    ``"5"`` for 5, no ``0`` for false), so the schema states exactly what is accepted."""

    model_config = ConfigDict(extra="forbid")


def _present(name: str, kind: str) -> JsonDict:
    """JSON Schema: ``name`` is given, and not null."""
    return {"required": [name], "properties": {name: {"type": kind}}}


_JOB_RULES: JsonDict = {
    "allOf": [
        {"not": {"allOf": [_present("delay", "number"), _present("run_at", "string")]}},
        {
            "if": _present("concurrency_limit", "integer"),
            "then": _present("concurrency_key", "string"),
        },
    ]
}
"""The rules between fields that ``JobCreate``'s validator enforces, in the schema too."""


class JobFields(_Request):
    """What every job to enqueue says: its task, arguments and options (those left out take the
    task's defaults)."""

    model_config = ConfigDict(json_schema_extra=_JOB_RULES)

    task: Name
    args: JSONList = Field(
        default_factory=list,
        description="Positional arguments: JSON without NUL characters, nested at most 64 deep.",
    )
    kwargs: JSONObject = Field(
        default_factory=dict,
        description="Keyword arguments: JSON without NUL characters, nested at most 64 deep.",
    )
    tenant: Name | None = Field(None, description="Admin keys only; a tenant key's is implied.")
    queue: Name | None = None
    priority: Priority | None = None
    delay: Seconds | None = Field(None, description="Seconds to wait before running.")
    run_at: Time | None = Field(None, description="When to run (not with delay).")
    unique_key: Name | None = Field(
        None, description="While a job of the tenant with this key is live, return it instead."
    )
    max_attempts: Count | None = None
    timeout: Seconds | None = Field(None, description="Seconds one attempt may run.")
    concurrency_key: Name | None = Field(
        None, description="Jobs of the tenant with this key run at most concurrency_limit at once."
    )
    concurrency_limit: Count | None = None

    @model_validator(mode="after")
    def _one_start_time(self) -> JobFields:
        if self.delay is not None and self.run_at is not None:
            raise ValueError("pass delay or run_at, not both")
        if self.concurrency_limit is not None and self.concurrency_key is None:
            raise ValueError("concurrency_limit needs a concurrency_key")
        return self

    def dependencies(self) -> tuple[list[int], Literal["cancel", "run"]]:
        """The job ids this job runs after, and what a failed one does to it: none here."""
        return [], "cancel"


class JobCreate(JobFields):
    """One job to enqueue. Options left out take the task's defaults."""

    after: list[JobRef] = Field(
        default_factory=list,
        max_length=MAX_PARENTS,
        description="Ids of the tenant's jobs that must succeed first: until then the job is "
        "blocked.",
    )
    on_parent_failure: Literal["cancel", "run"] = Field(
        "cancel", description="A parent that ends dead or cancelled cancels this job, or it runs."
    )

    def dependencies(self) -> tuple[list[int], Literal["cancel", "run"]]:
        return self.after, self.on_parent_failure


class JobBatchCreate(_Request):
    jobs: list[JobCreate] = Field(min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _bounded_edges(self) -> JobBatchCreate:
        if sum(len(job.after) for job in self.jobs) > MAX_EDGES:
            raise ValueError(f"at most {MAX_EDGES} dependencies (after) in one request")
        return self


class RedriveRequest(_Request):
    """Which dead jobs to retry (requeue) or cancel (discard). Filters left out match all."""

    action: b.RedriveAction
    tenant: Name | None = Field(None, description="Admin keys only; a tenant key's is implied.")
    queue: Name | None = None
    task: Name | None = None
    error_type: Name | None = Field(None, description="The type of the last attempt's error.")
    finished_after: Time | None = Field(None, description="Died at or after this time.")
    finished_before: Time | None = Field(None, description="Died before this time.")
    dry_run: StrictBool = Field(False, description="Only count the jobs that would change.")


class AttemptErrorOut(BaseModel):
    attempt: int
    type: str
    message: str
    traceback: str | None
    at: datetime


class AttemptUsageOut(BaseModel):
    attempt: int
    wall_seconds: float
    cpu_seconds: float | None = Field(description="User + system CPU time, when measured.")
    max_rss_bytes: int | None = Field(description="Peak resident memory (process isolation).")
    slots: int


class JobUsageOut(BaseModel):
    """Totals over the attempts that ended."""

    wall_seconds: float
    cpu_seconds: float
    max_rss_bytes: int | None


class JobOut(BaseModel):
    id: int
    tenant: str
    queue: str
    task: str
    args: list[Any]
    kwargs: dict[str, Any]
    state: JobState
    priority: int
    attempts: int
    max_attempts: int
    timeout: float | None
    unique_key: str | None
    concurrency_key: str | None
    result: Any
    errors: list[AttemptErrorOut]
    usage: JobUsageOut
    attempt_usage: list[AttemptUsageOut]
    progress: Any
    worker_id: str | None
    workflow_id: int | None = Field(description="The workflow the job is a step of, if any.")
    step_key: str | None = Field(description="The step's key in its workflow.")
    cancel_reason: str | None = Field(
        description="Why the graph cancelled the job (a parent that failed); else null."
    )
    created_at: datetime
    run_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job, *, full_tracebacks: bool) -> JobOut:
        """The job as the API shows it; without ``full_tracebacks`` (tenant keys), tracebacks
        show only the task's own frames (see ``task_frames``)."""
        trim = _as_is if full_tracebacks else task_frames
        return cls(
            id=job.id,
            tenant=job.tenant,
            queue=job.queue,
            task=job.task,
            args=job.args,
            kwargs=job.kwargs,
            state=job.state,
            priority=job.priority,
            attempts=job.attempts,
            max_attempts=job.max_attempts,
            timeout=job.timeout,
            unique_key=job.unique_key,
            concurrency_key=job.concurrency_key,
            result=job.result,
            errors=[
                AttemptErrorOut(
                    attempt=e.attempt,
                    type=e.type,
                    message=e.message,
                    traceback=None if e.traceback is None else trim(e.traceback),
                    at=e.at,
                )
                for e in job.errors
            ],
            usage=JobUsageOut(
                wall_seconds=job.usage.wall_seconds,
                cpu_seconds=job.usage.cpu_seconds,
                max_rss_bytes=job.usage.max_rss_bytes,
            ),
            attempt_usage=[
                AttemptUsageOut(
                    attempt=u.attempt,
                    wall_seconds=u.wall_seconds,
                    cpu_seconds=u.cpu_seconds,
                    max_rss_bytes=u.max_rss_bytes,
                    slots=u.slots,
                )
                for u in job.attempt_usage
            ],
            progress=job.progress,
            worker_id=job.worker_id,
            workflow_id=job.workflow_id,
            step_key=job.step_key,
            cancel_reason=job.cancel_reason,
            created_at=job.created_at,
            run_at=job.run_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


def _as_is(text: str) -> str:
    return text


class JobPage(BaseModel):
    jobs: list[JobOut]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )


class EnqueuedJob(BaseModel):
    id: int
    created: bool = Field(description="False: an existing job was returned (unique or replay).")


class JobBatchOut(BaseModel):
    jobs: list[EnqueuedJob]


class RedriveOut(BaseModel):
    action: b.RedriveAction
    dry_run: bool
    count: int = Field(description="Jobs changed, or with dry_run, jobs that would change.")


class QueueOut(BaseModel):
    tenant: str
    queue: str
    counts: dict[JobState, int]


class QueuesOut(BaseModel):
    queues: list[QueueOut]


class WorkerOut(BaseModel):
    id: str
    host: str
    pid: int
    queues: list[str]
    concurrency: int
    started_at: datetime
    last_seen_at: datetime


class WorkersOut(BaseModel):
    workers: list[WorkerOut]


class Health(BaseModel):
    status: Literal["ok", "ready"]
    schema_version: int | None = None


class ErrorDetail(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail
