"""The reaper: running jobs whose lease expired lost their worker; their attempt fails."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from workhorse.backends import base as b
from workhorse.errors import WorkerLostError
from workhorse.outcomes import error_record, failure
from workhorse.retry import RetryPolicy

BATCH = 500


def reap(backend: b.Backend, now: datetime, policy_for: Callable[[str], RetryPolicy]) -> int:
    """Fail every expired attempt ("worker lost"), retrying or dead-lettering it; returns how
    many. The write is conditional on the lease still being expired and the token unchanged, so a
    worker that heartbeats in between keeps its job."""
    expired = backend.job_list_expired(b.JobListExpiredParams(now=now, limit=BATCH))
    if not expired:
        return 0
    outcomes = [
        failure(
            job_id=job.id,
            lease_token=job.lease_token,
            attempt=job.attempt,
            max_attempts=job.max_attempts,
            error=error_record(
                WorkerLostError(f"worker {job.worker_id} stopped heartbeating (lease expired)")
            ),
            now=now,
            policy=policy_for(job.task),
        )
        for job in expired
    ]
    params = b.JobFinishManyParams(outcomes=outcomes, now=now, only_expired=True)
    return len(backend.job_finish_many(params))
