"""job_count_by_worker: running jobs per worker, the numerator of a worker's utilisation."""

from __future__ import annotations

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import Jobs, at, success


def _by_worker(jobs: Jobs) -> dict[str, int]:
    return jobs.backend.job_count_by_worker(b.JobCountByWorkerParams())


def test_job_count_by_worker_of_an_idle_store_is_empty(jobs: Jobs) -> None:
    jobs.in_state(JobState.SUCCEEDED)
    jobs.in_state(JobState.DEAD)
    jobs.insert()
    assert _by_worker(jobs) == {}


def test_job_count_by_worker_counts_each_workers_running_jobs(jobs: Jobs) -> None:
    for _ in range(3):
        jobs.running(worker="w1", tenant="acme")
    jobs.running(worker="w1", tenant="globex")
    jobs.running(worker="w2")
    assert _by_worker(jobs) == {"w1": 4, "w2": 1}


def test_job_count_by_worker_drops_jobs_as_they_finish(jobs: Jobs) -> None:
    first = jobs.running(worker="w1")
    jobs.running(worker="w1")
    assert jobs.finish(success(first), now=at(1)) == [first.id]
    assert _by_worker(jobs) == {"w1": 1}
