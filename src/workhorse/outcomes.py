"""Turning the end of an attempt into an Outcome. Pure: time and the policy are inputs."""

from __future__ import annotations

import traceback
from datetime import datetime

from workhorse.backends.base import ClaimedJob, ErrorRecord, Outcome
from workhorse.errors import NotJSONError
from workhorse.jobs import JobState
from workhorse.retry import RetryPolicy, next_attempt_at
from workhorse.serialization import dumps
from workhorse.types import JSON

_MAX_TRACEBACK = 20_000


def succeeded(job: ClaimedJob, result: JSON, now: datetime, policy: RetryPolicy) -> Outcome:
    """A success, or a failure if the result is not JSON."""
    try:
        result_json = dumps(result, "result")
    except NotJSONError as exc:
        return failed(job, exc, now, policy)
    return Outcome(
        id=job.id,
        lease_token=job.lease_token,
        attempt=job.attempt,
        state=JobState.SUCCEEDED,
        result_json=result_json,
    )


def failed(job: ClaimedJob, exc: BaseException, now: datetime, policy: RetryPolicy) -> Outcome:
    """Retrying with a backoff while attempts remain, else dead."""
    return failure(
        job_id=job.id,
        lease_token=job.lease_token,
        attempt=job.attempt,
        max_attempts=job.max_attempts,
        error=error_record(exc),
        now=now,
        policy=policy,
    )


def failure(
    *,
    job_id: int,
    lease_token: str,
    attempt: int,
    max_attempts: int,
    error: ErrorRecord,
    now: datetime,
    policy: RetryPolicy,
) -> Outcome:
    run_at = next_attempt_at(attempt=attempt, max_attempts=max_attempts, now=now, policy=policy)
    return Outcome(
        id=job_id,
        lease_token=lease_token,
        attempt=attempt,
        state=JobState.DEAD if run_at is None else JobState.RETRYING,
        error=error,
        run_at=run_at,
    )


def error_record(exc: BaseException) -> ErrorRecord:
    text = "".join(traceback.format_exception(exc))
    if len(text) > _MAX_TRACEBACK:
        text = "…" + text[-_MAX_TRACEBACK:]
    return ErrorRecord(
        type=type(exc).__name__, message=storable(str(exc)[:2000]), traceback=storable(text)
    )


def storable(text: str) -> str:
    """``text`` with what databases cannot store (NUL, lone surrogates) spelled out instead."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    try:
        text.encode()
    except UnicodeEncodeError:
        text = text.encode(errors="backslashreplace").decode()
    return text
