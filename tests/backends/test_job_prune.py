"""job_prune and the pruner: only terminal jobs that finished before the cut-off go."""

from __future__ import annotations

from datetime import timedelta

import pytest

from workhorse.backends import base as b
from workhorse.jobs import JobState
from workhorse.scheduling import pruner

from .support import Jobs, at


def _prune(jobs: Jobs, before: float, limit: int = 100) -> int:
    return jobs.backend.job_prune(b.JobPruneParams(finished_before=at(before), limit=limit))


def _exists(jobs: Jobs, job_id: int) -> bool:
    return jobs.backend.job_get(b.JobGetParams(id=job_id)) is not None


@pytest.mark.parametrize("state", [JobState.SUCCEEDED, JobState.DEAD, JobState.CANCELLED])
def test_job_prune_deletes_terminal_jobs_finished_before_the_cut_off(
    jobs: Jobs, state: JobState
) -> None:
    old = jobs.in_state(state, now=at(10))
    recent = jobs.in_state(state, now=at(100))
    assert _prune(jobs, 10) == 0, "finished exactly at the cut-off is kept"
    assert _prune(jobs, 50) == 1
    assert not _exists(jobs, old)
    assert _exists(jobs, recent)


@pytest.mark.parametrize(
    "state", [JobState.SCHEDULED, JobState.QUEUED, JobState.RUNNING, JobState.RETRYING]
)
def test_job_prune_never_deletes_live_jobs(jobs: Jobs, state: JobState) -> None:
    job_id = jobs.in_state(state, now=at(0))
    assert _prune(jobs, 1_000_000) == 0
    assert jobs.state(job_id) is state


def test_job_prune_respects_the_limit(jobs: Jobs) -> None:
    ids = [jobs.in_state(JobState.SUCCEEDED, now=at(i)) for i in range(5)]
    assert _prune(jobs, 100, limit=2) == 2
    assert sum(_exists(jobs, i) for i in ids) == 3


def test_job_prune_ids_are_never_reused(jobs: Jobs) -> None:
    old = jobs.in_state(JobState.SUCCEEDED, now=at(0))
    assert _prune(jobs, 100) == 1
    assert jobs.insert(now=at(200)) > old


def test_prune_deletes_everything_past_retention_in_batches(
    jobs: Jobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pruner, "BATCH", 2)
    old = [jobs.in_state(JobState.DEAD, now=at(i)) for i in range(5)]
    kept = jobs.in_state(JobState.SUCCEEDED, now=at(3600))
    live = jobs.insert(now=at(0))
    assert pruner.prune(jobs.backend, at(3700), timedelta(minutes=10)) == 5
    assert not any(_exists(jobs, i) for i in old)
    assert _exists(jobs, kept)
    assert _exists(jobs, live)
