"""job_history_rotate and job_prune together remove the ended jobs of the UTC days wholly before
the cut-off, and nothing else: PostgreSQL drops those days' partitions, SQLite leaves them to
job_prune."""

from __future__ import annotations

from datetime import timedelta

from workhorse.backends import base as b
from workhorse.clock import day_start
from workhorse.jobs import JobState

from .support import Jobs, at

DAY = 24 * 3600


def _rotate_then_prune(jobs: Jobs, now: float, before: float) -> int:
    params = b.JobHistoryParams(now=at(now), finished_before=at(before))
    rotated = jobs.backend.job_history_rotate(params)
    prune = b.JobPruneParams(finished_before=day_start(at(before)), limit=100)
    return rotated.jobs + jobs.backend.job_prune(prune)


def test_job_history_rotate_then_prune_removes_the_days_wholly_before_the_cut_off(
    jobs: Jobs,
) -> None:
    jobs.backend.job_history_rotate(b.JobHistoryParams(now=at(0), finished_before=at(0)))
    first_day = [jobs.in_state(state, now=at(60)) for state in
                 (JobState.SUCCEEDED, JobState.DEAD, JobState.CANCELLED)]  # fmt: skip
    second_day = jobs.in_state(JobState.SUCCEEDED, now=at(DAY + 60))
    live = [jobs.in_state(state, now=at(30)) for state in
            (JobState.RUNNING, JobState.SCHEDULED, JobState.QUEUED)]  # fmt: skip
    assert _rotate_then_prune(jobs, now=DAY + 120, before=DAY - 1) == 0
    assert _rotate_then_prune(jobs, now=2 * DAY + 120, before=DAY + 120) == 3
    assert [jobs.backend.job_get(b.JobGetParams(id=i)) for i in first_day] == [None] * 3
    assert jobs.state(second_day) is JobState.SUCCEEDED
    assert [jobs.state(i) for i in live] == [JobState.RUNNING, JobState.SCHEDULED,
                                             JobState.QUEUED]  # fmt: skip


def test_job_history_rotate_prepares_days_ahead_without_dropping_any(jobs: Jobs) -> None:
    params = b.JobHistoryParams(now=at(0), finished_before=at(0) - timedelta(days=7), ahead=3)
    assert jobs.backend.job_history_rotate(params) == b.JobHistoryRotation(days=0, jobs=0)
    job = jobs.in_state(JobState.SUCCEEDED, now=at(3 * DAY))
    assert jobs.state(job) is JobState.SUCCEEDED
