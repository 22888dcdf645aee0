"""job_release: graceful hand-back of running jobs, without spending their attempt."""

from __future__ import annotations

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import Jobs, at


def _release(jobs: Jobs, tokens: dict[int, str], ids: list[int] | None = None) -> list[int]:
    params = b.JobReleaseParams(
        ids=list(tokens) if ids is None else ids, lease_token_by_id=tokens, now=at(5)
    )
    return jobs.backend.job_release(params)


def test_job_release_puts_running_jobs_back_to_queued(jobs: Jobs) -> None:
    first = jobs.running(worker="w1")
    second = jobs.running(worker="w1")
    released = _release(jobs, {first.id: first.lease_token, second.id: second.lease_token})
    assert sorted(released) == sorted([first.id, second.id])
    for job in (first, second):
        stored = jobs.get(job.id)
        assert stored.state is JobState.QUEUED
        assert stored.attempts == 0
        assert stored.lease_expires_at is None
        assert stored.started_at is None


def test_job_release_gives_the_attempt_back(jobs: Jobs) -> None:
    job = jobs.running(max_attempts=1)
    assert _release(jobs, {job.id: job.lease_token}) == [job.id]
    again = jobs.claim_one(job.id, now=at(6))
    assert again.attempt == 1
    assert again.lease_token != job.lease_token


def test_job_release_ignores_a_wrong_or_missing_token(jobs: Jobs) -> None:
    wrong = jobs.running()
    missing = jobs.running()
    assert _release(jobs, {wrong.id: "not-the-lease"}, ids=[wrong.id, missing.id]) == []
    for job in (wrong, missing):
        stored = jobs.get(job.id)
        assert (stored.state, stored.attempts) == (JobState.RUNNING, 1)


def test_job_release_ignores_jobs_that_are_not_running(jobs: Jobs) -> None:
    job = jobs.running()
    assert _release(jobs, {job.id: job.lease_token}) == [job.id]
    assert _release(jobs, {job.id: job.lease_token}) == []
    stored = jobs.get(job.id)
    assert (stored.state, stored.attempts) == (JobState.QUEUED, 0)
