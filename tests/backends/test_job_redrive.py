"""job_redrive: retry or cancel dead jobs in bulk, by filter, with a dry run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import Jobs, at, failure

RETRY, CANCEL = b.RedriveAction.RETRY, b.RedriveAction.CANCEL


def _dead(jobs: Jobs, *, error: str = "ValueError", died: float = 0, **fields: Any) -> int:
    """A job that died at ``at(died)``, its last error of type ``error``."""
    job = jobs.running(now=at(died), max_attempts=1, **fields)
    record = b.ErrorRecord(type=error, message="boom", traceback=None)
    assert jobs.finish(failure(job, error=record), now=at(died)) == [job.id]
    return job.id


def _redrive(jobs: Jobs, action: b.RedriveAction = RETRY, **filters: Any) -> int:
    params = b.JobRedriveParams(action=action, now=at(1000), **filters)
    return jobs.backend.job_redrive(params)


def _states(jobs: Jobs, *ids: int) -> list[JobState]:
    return [jobs.state(job_id) for job_id in ids]


def test_job_redrive_retry_requeues_every_dead_job_with_fresh_attempts(jobs: Jobs) -> None:
    dead = [_dead(jobs) for _ in range(3)]
    queued = jobs.insert()
    assert _redrive(jobs) == 3
    assert _states(jobs, *dead, queued) == [JobState.QUEUED] * 4
    job = jobs.get(dead[0])
    assert (job.attempts, job.run_at, job.finished_at) == (0, at(1000), None)
    assert len(job.errors) == 1, "the history of failed attempts is kept"
    assert _redrive(jobs) == 0


def test_job_redrive_cancel_discards_dead_jobs(jobs: Jobs) -> None:
    dead = _dead(jobs, died=5)
    assert _redrive(jobs, CANCEL) == 1
    job = jobs.get(dead)
    assert job.state is JobState.CANCELLED
    assert job.finished_at == at(5), "it ended when it died"
    assert _redrive(jobs, RETRY) == 0, "a cancelled job is no longer dead"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"tenant": "globex"}, {"globex"}),
        ({"queue": "mail"}, {"mail"}),
        ({"task": "resize"}, {"resize"}),
        ({"error_type": "KeyError"}, {"key-error"}),
        ({"finished_after": at(100)}, {"late"}),
        ({"finished_before": at(100)}, {"plain", "globex", "mail", "resize", "key-error"}),
        ({"finished_after": at(50), "finished_before": at(150)}, {"late"}),
        ({"tenant": "acme", "task": "resize"}, {"resize"}),
        ({"tenant": "initech"}, set()),
    ],
)
def test_job_redrive_filters(jobs: Jobs, filters: dict[str, Any], expected: set[str]) -> None:
    made = {
        "plain": _dead(jobs),
        "globex": _dead(jobs, tenant="globex"),
        "mail": _dead(jobs, queue="mail"),
        "resize": _dead(jobs, task="resize"),
        "key-error": _dead(jobs, error="KeyError"),
        "late": _dead(jobs, died=100),
    }
    assert _redrive(jobs, dry_run=True, **filters) == len(expected)
    assert all(state is JobState.DEAD for state in _states(jobs, *made.values()))
    assert _redrive(jobs, **filters) == len(expected)
    retried = {name for name, job_id in made.items() if jobs.state(job_id) is JobState.QUEUED}
    assert retried == expected


def test_job_redrive_error_type_is_the_last_attempts(jobs: Jobs) -> None:
    job = jobs.running(now=at(0), max_attempts=2)
    first = b.ErrorRecord(type="KeyError", message="first", traceback=None)
    jobs.finish(failure(job, run_at=at(1), error=first), now=at(0))
    jobs.backend.job_promote(b.JobPromoteParams(now=at(1), limit=10))
    again = jobs.claim_one(job.id, now=at(1))
    jobs.finish(failure(again), now=at(2))
    assert _redrive(jobs, dry_run=True, error_type="KeyError") == 0
    assert _redrive(jobs, dry_run=True, error_type="ValueError") == 1


def test_job_redrive_only_touches_dead_jobs(jobs: Jobs) -> None:
    others = {
        state: jobs.in_state(state, queue=state.value)
        for state in JobState
        if state is not JobState.DEAD
    }
    for action in (RETRY, CANCEL):
        assert _redrive(jobs, action, dry_run=True) == 0
        assert _redrive(jobs, action) == 0
    assert {state: jobs.state(job_id) for state, job_id in others.items()} == {
        state: state for state in others
    }


def test_job_redrive_changes_at_most_limit_jobs_oldest_first(jobs: Jobs) -> None:
    dead = [_dead(jobs) for _ in range(5)]
    assert _redrive(jobs, limit=2) == 2
    assert _states(jobs, *dead) == [JobState.QUEUED] * 2 + [JobState.DEAD] * 3
    assert _redrive(jobs, dry_run=True, limit=1) == 3, "a dry run counts every match"
    assert _redrive(jobs, limit=10) == 3


def test_job_redrive_retry_leaves_out_jobs_whose_unique_key_is_taken(jobs: Jobs) -> None:
    held = _dead(jobs, unique_key="report")
    older = _dead(jobs, unique_key="sync")
    newer = _dead(jobs, unique_key="sync")
    free = _dead(jobs, unique_key="free")
    live = jobs.insert(unique_key="report")
    assert _redrive(jobs, dry_run=True) == 2
    assert _redrive(jobs) == 2
    assert _states(jobs, held, live, older, newer, free) == [
        JobState.DEAD,
        JobState.QUEUED,
        JobState.DEAD,
        JobState.QUEUED,
        JobState.QUEUED,
    ]
    assert _redrive(jobs, CANCEL, dry_run=True) == 2, "cancelling frees no key: all are fair"


def test_job_redrive_retried_jobs_can_be_claimed(jobs: Jobs) -> None:
    dead = _dead(jobs)
    assert _redrive(jobs) == 1
    claimed = jobs.claim_one(dead, now=at(1000) + timedelta(seconds=1))
    assert claimed.attempt == 1
