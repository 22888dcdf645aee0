"""job_progress: running jobs report progress under their lease."""

from __future__ import annotations

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import Jobs, at, success


def _progress(jobs: Jobs, progress: dict[int, str], tokens: dict[int, str]) -> None:
    params = b.JobProgressParams(progress_json_by_id=progress, lease_token_by_id=tokens, now=at(3))
    jobs.backend.job_progress(params)


def test_job_progress_stores_progress_of_running_jobs(jobs: Jobs) -> None:
    first = jobs.running()
    second = jobs.running()
    _progress(
        jobs,
        {first.id: '{"done":1,"of":10}', second.id: "0.5"},
        {first.id: first.lease_token, second.id: second.lease_token},
    )
    assert jobs.get(first.id).progress == {"done": 1, "of": 10}
    assert jobs.get(second.id).progress == 0.5


def test_job_progress_replaces_earlier_progress(jobs: Jobs) -> None:
    job = jobs.running()
    _progress(jobs, {job.id: "1"}, {job.id: job.lease_token})
    _progress(jobs, {job.id: "2"}, {job.id: job.lease_token})
    assert jobs.get(job.id).progress == 2


def test_job_progress_is_fenced_by_the_lease_token(jobs: Jobs) -> None:
    job = jobs.running()
    other = jobs.running()
    _progress(jobs, {job.id: "1", other.id: "1"}, {job.id: "stale"})
    assert jobs.get(job.id).progress is None
    assert jobs.get(other.id).progress is None
    assert jobs.state(job.id) is JobState.RUNNING


def test_job_progress_of_a_finished_job_is_ignored(jobs: Jobs) -> None:
    job = jobs.running()
    jobs.finish(success(job), now=at(2))
    _progress(jobs, {job.id: "99"}, {job.id: job.lease_token})
    assert jobs.get(job.id).progress is None
