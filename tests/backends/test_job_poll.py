"""job_poll: a cheap, read-only look for claimable work."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import Jobs, at


def _poll(
    jobs: Jobs, queues: Sequence[str] = ("default",), *, include_retrying: bool = False
) -> bool:
    params = b.JobPollParams(queues=queues, now=at(1), include_retrying=include_retrying)
    return jobs.backend.job_poll(params)


def test_job_poll_of_an_empty_store_finds_nothing(jobs: Jobs) -> None:
    assert not _poll(jobs)
    assert not _poll(jobs, include_retrying=True)


def test_job_poll_finds_a_queued_job_in_its_queues(jobs: Jobs) -> None:
    job_id = jobs.insert(queue="emails")
    assert _poll(jobs, ["reports", "emails"])
    assert not _poll(jobs, ["default"])
    assert not _poll(jobs, [])
    assert jobs.state(job_id) is JobState.QUEUED, "polling must not change the job"


@pytest.mark.parametrize(
    "state",
    [
        JobState.SCHEDULED,
        JobState.RUNNING,
        JobState.SUCCEEDED,
        JobState.DEAD,
        JobState.CANCELLED,
    ],
)
@pytest.mark.parametrize("include_retrying", [False, True])
def test_job_poll_ignores_jobs_a_claim_would_not_take(
    jobs: Jobs, state: JobState, include_retrying: bool
) -> None:
    jobs.in_state(state)
    assert not _poll(jobs, include_retrying=include_retrying)


def test_job_poll_counts_retrying_jobs_only_when_asked(jobs: Jobs) -> None:
    job_id = jobs.in_state(JobState.RETRYING)
    assert not _poll(jobs)
    assert _poll(jobs, include_retrying=True)
    assert not _poll(jobs, ["elsewhere"], include_retrying=True)
    assert jobs.state(job_id) is JobState.RETRYING


def test_job_poll_agrees_with_job_claim(jobs: Jobs) -> None:
    jobs.insert()
    assert _poll(jobs)
    assert len(jobs.claim(now=at(1))) == 1
    assert not _poll(jobs)
