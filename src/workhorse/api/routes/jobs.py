"""``/v1/jobs``: enqueue, read, list, cancel, retry and redrive jobs.

Handlers are plain functions: FastAPI runs them in its threadpool, so their (blocking) database
calls never hold up the event loop.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.convertors import IntegerConvertor, register_url_convertor

from workhorse.api.auth import App, Caller, Principal
from workhorse.api.enqueue import enqueue, request_hash, to_spec, to_specs
from workhorse.api.errors import ApiError
from workhorse.api.pagination import CURSOR_PATTERN, decode_cursor, encode_cursor
from workhorse.api.schemas import (
    EnqueuedJob,
    ErrorBody,
    JobBatchCreate,
    JobBatchOut,
    JobCreate,
    JobOut,
    JobPage,
    RedriveOut,
    RedriveRequest,
)
from workhorse.api.types import Name
from workhorse.app import Workhorse
from workhorse.jobs import Job, JobState
from workhorse.tasks import Idempotency

router = APIRouter(prefix="/jobs", tags=["jobs"])

MAX_WAIT_SECONDS = 60
"""The longest long poll a request may ask for (``?wait=``)."""


class _JobIdConvertor(IntegerConvertor):
    """Path segments of 1 to 19 digits: anything else is no job path at all (404, or 405 for
    ``GET /v1/jobs/redrive``), and a 5,000-digit segment never reaches ``int()``'s limit."""

    regex = "[0-9]{1,19}"


register_url_convertor("job_id", _JobIdConvertor())

JobPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="The job's id.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Repeat a request safely: the same key and body return the same job(s).",
        # Stated for the schema; _idempotency checks it with a clearer message.
        json_schema_extra={"pattern": "^[\\x20-\\x7e]+$"},
    ),
]


_LINKS = {
    name: {"operationId": operation, "parameters": {"job_id": "$response.body#/id"}}
    for name, operation in (
        ("GetJob", "getJob"),
        ("CancelJob", "cancelJob"),
        ("RetryJob", "retryJob"),
    )
}
QUOTA_FULL: dict[str, Any] = {
    "model": ErrorBody,
    "description": "quota_exceeded: the tenant's max_queued jobs already wait; nothing stored",
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "schema": {"type": "integer"},
        }
    },
}
_CREATED: dict[int | str, dict[str, Any]] = {
    201: {"description": "Enqueued", "links": _LINKS},
    200: {
        "description": "An existing job (unique key or repeated Idempotency-Key)",
        "model": JobOut,
    },
    429: QUOTA_FULL,
}


def _idempotency(
    request: Request, caller: Principal, key: str | None, body: Any
) -> Idempotency | None:
    """The request's ``Idempotency-Key``, kept in the caller's scope; None without one."""
    if key is None:
        return None
    if not key.isprintable() or not key.isascii():
        raise ApiError(422, "invalid_request", "Idempotency-Key must be printable ASCII")
    return Idempotency(
        scope=caller.idempotency_scope,
        key=key,
        request_hash=request_hash(request.url.path, body),
        ttl=request.app.state.settings.idempotency_ttl,
    )


@router.post(
    "", status_code=201, response_model=JobOut, operation_id="createJob", responses=_CREATED
)
def create_job(
    *,
    body: JobCreate,
    request: Request,
    response: Response,
    app: App,
    caller: Caller,
    idempotency_key: IdempotencyKey = None,
) -> JobOut:
    """Enqueue one job: 201 with the job, or 200 with the existing job when a unique key or a
    repeated Idempotency-Key matched one."""
    spec = to_spec(app, caller, body)
    idem = _idempotency(request, caller, idempotency_key, body.model_dump(mode="json"))
    [inserted] = enqueue(app, [spec], idem)
    if not inserted.created:
        response.status_code = 200
    return JobOut.of(app.get_job(inserted.id), full_tracebacks=caller.is_admin)


@router.post(
    "/batch",
    status_code=201,
    response_model=JobBatchOut,
    operation_id="createJobs",
    responses={
        200: {"description": "A repeated Idempotency-Key", "model": JobBatchOut},
        429: QUOTA_FULL,
    },
)
def create_jobs(
    *,
    body: JobBatchCreate,
    request: Request,
    response: Response,
    app: App,
    caller: Caller,
    idempotency_key: IdempotencyKey = None,
) -> JobBatchOut:
    """Enqueue up to 1,000 jobs in one transaction: all are stored, or none (200 for a replayed
    Idempotency-Key)."""
    specs = to_specs(app, caller, body.jobs)
    idem = _idempotency(request, caller, idempotency_key, body.model_dump(mode="json"))
    handles = enqueue(app, specs, idem)
    if handles[0].replayed:  # a batch is replayed whole or not at all
        response.status_code = 200
    return JobBatchOut(jobs=[EnqueuedJob(id=job.id, created=job.created) for job in handles])


@router.post("/redrive", response_model=RedriveOut, operation_id="redriveJobs")
def redrive(body: RedriveRequest, app: App, caller: Caller) -> RedriveOut:
    """Retry (requeue) or cancel (discard) every dead job matching the filters; with dry_run,
    count them. A tenant key acts on its own tenant only."""
    count = app.admin.redrive(
        body.action,
        tenant=caller.tenant_filter(body.tenant),
        queue=body.queue,
        task=body.task,
        error_type=body.error_type,
        finished_after=body.finished_after,
        finished_before=body.finished_before,
        dry_run=body.dry_run,
    )
    return RedriveOut(action=body.action, dry_run=body.dry_run, count=count)


@router.get("", response_model=JobPage, operation_id="listJobs")
def list_jobs(
    *,
    app: App,
    caller: Caller,
    state: Annotated[list[JobState] | None, Query(description="Repeatable.")] = None,
    queue: Annotated[Name | None, Query()] = None,
    task: Annotated[Name | None, Query()] = None,
    tenant: Annotated[Name | None, Query(description="Admin keys only.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[
        str | None, Query(pattern=CURSOR_PATTERN, description="A page's next_cursor.")
    ] = None,
) -> JobPage:
    """Jobs, newest first, a page at a time: pass ``next_cursor`` back as ``cursor``."""
    found = app.list_jobs(
        tenant=caller.tenant_filter(tenant),
        states=state or (),
        queue=queue,
        task=task,
        before_id=None if cursor is None else decode_cursor(cursor),
        limit=limit + 1,
    )
    page, more = found[:limit], len(found) > limit
    return JobPage(
        jobs=[JobOut.of(job, full_tracebacks=caller.is_admin) for job in page],
        next_cursor=encode_cursor(page[-1].id) if more else None,
    )


@router.get("/{job_id:job_id}", response_model=JobOut, operation_id="getJob")
async def get_job(
    job_id: JobPath,
    request: Request,
    app: App,
    caller: Caller,
    wait: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_WAIT_SECONDS,
            description="Hold the request up to this many seconds until the job has ended "
            "(a long poll; the server may hold it for less), then return the job as it is.",
        ),
    ] = None,
) -> JobOut:
    """One job, with its result and every failed attempt's error."""
    job = await run_in_threadpool(app.get_job, job_id, tenant=caller.tenant)
    if wait and not job.state.terminal:
        limit = request.app.state.settings.max_wait.total_seconds()
        job = await _wait(app, job_id, caller.tenant, min(wait, limit))
    return JobOut.of(job, full_tracebacks=caller.is_admin)


async def _wait(app: Workhorse, job_id: int, tenant: str | None, seconds: float) -> Job:
    """The job once it has ended, or as it is after ``seconds``. The wait holds no thread: one
    watch per process wakes every waiting request."""
    try:
        return await app.wait_async(job_id, timeout=seconds, tenant=tenant)
    except TimeoutError:
        return await run_in_threadpool(app.get_job, job_id, tenant=tenant)


@router.post("/{job_id:job_id}/cancel", response_model=JobOut, operation_id="cancelJob")
def cancel_job(job_id: JobPath, app: App, caller: Caller) -> JobOut:
    """Cancel a job that has not ended (409 if it has); a running job stops at its next
    heartbeat."""
    return JobOut.of(app.cancel(job_id, tenant=caller.tenant), full_tracebacks=caller.is_admin)


@router.post("/{job_id:job_id}/retry", response_model=JobOut, operation_id="retryJob")
def retry_job(job_id: JobPath, app: App, caller: Caller) -> JobOut:
    """Requeue a dead job with a fresh budget of attempts (409 if it is not dead)."""
    return JobOut.of(app.retry(job_id, tenant=caller.tenant), full_tracebacks=caller.is_admin)
