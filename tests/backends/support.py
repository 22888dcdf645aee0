"""Helpers for the conformance suite: a fixed clock, job factories and a driver for jobs.

Everything here talks to the Backend Protocol only, so it serves every backend.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from workhorse.backends import Backend, open_backend
from workhorse.backends import base as b
from workhorse.jobs import Job, JobState

T0 = datetime(2030, 1, 1, tzinfo=UTC)
"""The suite's epoch: every test controls time as offsets from here, never the wall clock."""

LEASE = timedelta(seconds=30)

ERROR = b.ErrorRecord(type="ValueError", message="bad input", traceback="Traceback: ...")

_NEW_JOB = b.NewJob(
    tenant="acme",
    queue="default",
    task="work",
    args_json="[]",
    kwargs_json="{}",
    priority=0,
    run_at=T0,
    state=JobState.QUEUED,
    max_attempts=3,
    timeout=None,
    unique_key=None,
)


def at(seconds: float) -> datetime:
    """The instant ``seconds`` after T0."""
    return T0 + timedelta(seconds=seconds)


def new_job(now: datetime = T0, **fields: Any) -> b.NewJob:
    """A NewJob enqueued at ``now`` with test defaults: due at ``now`` unless ``run_at`` says
    otherwise, and scheduled (as the app would make it) when ``run_at`` is later than ``now``."""
    fields.setdefault("run_at", now)
    if "state" not in fields and fields["run_at"] > now:
        fields["state"] = JobState.SCHEDULED
    return replace(_NEW_JOB, **fields)


def success(job: b.ClaimedJob, result_json: str | None = '"ok"') -> b.Outcome:
    return b.Outcome(
        id=job.id,
        lease_token=job.lease_token,
        attempt=job.attempt,
        state=JobState.SUCCEEDED,
        result_json=result_json,
    )


def failure(
    job: b.ClaimedJob,
    *,
    run_at: datetime | None = None,
    error: b.ErrorRecord = ERROR,
) -> b.Outcome:
    """Retrying at ``run_at`` when given, else dead."""
    return b.Outcome(
        id=job.id,
        lease_token=job.lease_token,
        attempt=job.attempt,
        state=JobState.DEAD if run_at is None else JobState.RETRYING,
        error=error,
        run_at=run_at,
    )


class Jobs:
    """Creates and drives jobs in one backend; every call takes its time explicitly."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._tokens = itertools.count(1)

    def insert_many(self, jobs: Sequence[b.NewJob], now: datetime = T0) -> list[b.InsertedJob]:
        return self.backend.job_insert_many(b.JobInsertManyParams(jobs=jobs, now=now))

    def insert(self, now: datetime = T0, **fields: Any) -> int:
        [inserted] = self.insert_many([new_job(now, **fields)], now=now)
        assert inserted.created
        return inserted.id

    def claim(
        self,
        *,
        worker: str = "w1",
        queues: Sequence[str] = ("default",),
        limit: int = 100,
        token: str | None = None,
        lease: timedelta = LEASE,
        now: datetime = T0,
    ) -> list[b.ClaimedJob]:
        params = b.JobClaimParams(
            worker_id=worker,
            queues=queues,
            limit=limit,
            lease_token=token or f"lease-{next(self._tokens)}",
            lease_for=lease,
            now=now,
        )
        return self.backend.job_claim(params)

    def claim_one(self, job_id: int, *, queue: str = "default", **claim: Any) -> b.ClaimedJob:
        """Claim ``job_id``, which must be the next job of ``queue`` (so tests that need other
        queued jobs in that queue create them after their running ones)."""
        claimed = self.claim(queues=[queue], limit=1, **claim)
        assert [job.id for job in claimed] == [job_id], f"job {job_id} is not next in {queue}"
        return claimed[0]

    def running(self, now: datetime = T0, worker: str = "w1", **fields: Any) -> b.ClaimedJob:
        """A new job, claimed at ``now`` by ``worker``."""
        job_id = self.insert(now=now, **fields)
        return self.claim_one(job_id, queue=fields.get("queue", "default"), worker=worker, now=now)

    def finish(
        self, *outcomes: b.Outcome, now: datetime = T0, only_expired: bool = False
    ) -> list[int]:
        params = b.JobFinishManyParams(outcomes=outcomes, now=now, only_expired=only_expired)
        return self.backend.job_finish_many(params)

    def in_state(self, state: JobState, now: datetime = T0, **fields: Any) -> int:
        """A new job brought to ``state`` through the Protocol's own transitions at ``now``."""
        if state is JobState.SCHEDULED:
            return self.insert(now=now, **{"run_at": now + timedelta(hours=1), **fields})
        if state is JobState.QUEUED:
            return self.insert(now=now, **fields)
        if state is JobState.BLOCKED:
            parent = self.insert(now=now, **fields)
            return self.insert(now=now, after=[parent], state=JobState.BLOCKED, **fields)
        if state is JobState.CANCELLED:
            job_id = self.insert(now=now, **fields)
            self.backend.job_cancel(b.JobCancelParams(id=job_id, now=now))
            return job_id
        job = self.running(now=now, **fields)
        outcome = {
            JobState.RUNNING: None,
            JobState.SUCCEEDED: success(job),
            JobState.RETRYING: failure(job, run_at=now + timedelta(minutes=5)),
            JobState.DEAD: failure(job),
        }[state]
        if outcome is not None:
            assert self.finish(outcome, now=now) == [job.id]
        return job.id

    def get(self, job_id: int, tenant: str | None = None) -> Job:
        job = self.backend.job_get(b.JobGetParams(id=job_id, tenant=tenant))
        assert job is not None, f"job {job_id} not found"
        return job

    def state(self, job_id: int) -> JobState:
        return self.get(job_id).state

    def all(self) -> list[Job]:
        return self.backend.job_list(b.JobListParams(limit=100_000))


def claim_until_empty(url: str, worker_id: str, start: Any, results: Any) -> None:
    """A claimer process (spawned, so importable by name): claim in small batches until none is
    left, then report the ids claimed."""
    backend = open_backend(url)
    claimed: list[int] = []
    try:
        start.wait(60)
        for batch in itertools.count():
            params = b.JobClaimParams(
                worker_id=worker_id,
                queues=["default"],
                limit=1 + batch % 3,
                lease_token=f"{worker_id}-{batch}",
                lease_for=LEASE,
                now=T0,
            )
            jobs = backend.job_claim(params)
            if not jobs:
                break
            claimed.extend(job.id for job in jobs)
    finally:
        backend.close()
        results.put((worker_id, claimed))
