"""``POST /v1/jobs/{id}/discard``: cancel one dead job, so that it never runs again.

``/cancel`` stops jobs that have not ended; a dead job has ended, and retrying or discarding it is
a decision made by hand (the dashboard's per-job buttons, or ``/v1/jobs/redrive`` in bulk).
"""

from __future__ import annotations

from fastapi import APIRouter

from workhorse.api.auth import App, Caller
from workhorse.api.routes.jobs import JobPath
from workhorse.api.schemas import JobOut

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.post("/{job_id:job_id}/discard", response_model=JobOut, operation_id="discardJob")
def discard_job(job_id: JobPath, app: App, caller: Caller) -> JobOut:
    """Cancel a dead job, keeping its errors and when it died (discarding a discarded job
    changes nothing; 409 for a job that is not dead)."""
    return JobOut.of(app.discard(job_id, tenant=caller.tenant))
