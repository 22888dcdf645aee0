"""Enqueueing over HTTP: request bodies become jobs, once per ``Idempotency-Key``.

With an ``Idempotency-Key``, the jobs and the key's record are written in one transaction: a
repeat of the request (same key, same body, same caller's scope) within the key's lifetime gets
the same jobs back and creates nothing; the same key with another body is a 409.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from workhorse.api.auth import Principal
from workhorse.api.errors import ApiError, from_workhorse_error
from workhorse.api.schemas import JobCreate, JobFields
from workhorse.app import Workhorse
from workhorse.errors import IdempotencyConflictError, WorkhorseError
from workhorse.jobs import JobHandle
from workhorse.tasks import Idempotency, JobOptions, JobSpec


def request_hash(route: str, body: object) -> str:
    """What makes two requests "the same": the route and the body's canonical JSON."""
    canonical = json.dumps([route, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def to_spec(app: Workhorse, caller: Principal, job: JobFields) -> JobSpec:
    """The job a request asks for, in the caller's tenant; 403 for a tenant key naming another
    tenant, 422 for an unknown task or options the task refuses. Only an admin key is told which
    tasks exist: a tenant's need not learn the names of every tenant's tasks."""
    tenant = caller.tenant_filter(job.tenant)
    if not caller.is_admin and job.task not in app.tasks:
        raise ApiError(422, "unknown_task", f"unknown task {job.task!r}")
    app.get_task(job.task)
    after, on_parent_failure = job.dependencies()
    options = JobOptions(
        tenant=tenant,
        queue=job.queue,
        priority=job.priority,
        delay=job.delay,
        run_at=job.run_at,
        unique_key=job.unique_key,
        max_attempts=job.max_attempts,
        timeout=job.timeout,
        concurrency_key=job.concurrency_key,
        concurrency_limit=job.concurrency_limit,
        after=after,
        on_parent_failure=on_parent_failure,
    )
    return JobSpec(task=job.task, args=job.args, kwargs=job.kwargs, options=options)


def to_specs(app: Workhorse, caller: Principal, jobs: Sequence[JobCreate]) -> list[JobSpec]:
    """``to_spec`` for each job; an error names the job's index, e.g. ``jobs[3]: …``."""
    specs = []
    for index, job in enumerate(jobs):
        try:
            specs.append(to_spec(app, caller, job))
        except WorkhorseError as exc:
            error = from_workhorse_error(exc)
            raise ApiError(error.status, error.code, f"jobs[{index}]: {error.message}") from None
        except ApiError as exc:
            raise ApiError(exc.status, exc.code, f"jobs[{index}]: {exc.message}") from None
    return specs


def enqueue(app: Workhorse, specs: Sequence[JobSpec], idem: Idempotency | None) -> list[JobHandle]:
    """Store the jobs in one transaction, or find those of an earlier identical request (each
    ``replayed``); 409 for the key of an earlier request with another body."""
    try:
        return app.enqueue_many(specs, idempotency=idem)
    except IdempotencyConflictError:
        raise ApiError(
            409,
            "idempotency_conflict",
            "this Idempotency-Key was used with a different request body",
        ) from None
