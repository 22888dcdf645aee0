"""job_prune and the pruner: only terminal jobs that finished before the cut-off go."""

from __future__ import annotations

from datetime import timedelta

import pytest

from workhorse.backends import base as b
from workhorse.jobs import JobState
from workhorse.scheduling import pruner

from .support import Jobs, at, new_job, success

DAY = 24 * 3600
"""T0 is a midnight UTC: at(DAY) starts the next UTC day."""


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
    kept = jobs.in_state(JobState.SUCCEEDED, now=at(DAY + 3600))
    live = jobs.insert(now=at(0))
    assert pruner.prune(jobs.backend, at(DAY + 3700), timedelta(minutes=10)) == 5
    assert not any(_exists(jobs, i) for i in old)
    assert _exists(jobs, kept)
    assert _exists(jobs, live)


def test_prune_keeps_a_day_until_all_of_it_is_past_retention(jobs: Jobs) -> None:
    early = jobs.in_state(JobState.SUCCEEDED, now=at(60))
    late = jobs.in_state(JobState.SUCCEEDED, now=at(DAY - 60))
    assert pruner.prune(jobs.backend, at(DAY - 30), timedelta(seconds=60)) == 0
    assert _exists(jobs, early), "past retention, but its day is not"
    assert pruner.prune(jobs.backend, at(DAY + 30), timedelta(seconds=60)) == 0
    assert _exists(jobs, late), "the day's last job is not past retention yet"
    assert pruner.prune(jobs.backend, at(DAY + 61), timedelta(seconds=60)) == 2
    assert not _exists(jobs, early) and not _exists(jobs, late)


def test_job_prune_deletes_the_edges_of_the_jobs_it_deletes(jobs: Jobs) -> None:
    parent = jobs.in_state(JobState.SUCCEEDED, now=at(10))
    child = jobs.insert(now=at(10), after=(parent,), state=JobState.BLOCKED)
    grandchild = jobs.insert(now=at(10), after=(child,), state=JobState.BLOCKED)
    kept = jobs.insert(now=at(10), after=(parent,), state=JobState.BLOCKED)
    for job_id in (child, kept):
        assert jobs.state(job_id) is JobState.QUEUED
    [claimed] = [job for job in jobs.claim(now=at(20)) if job.id == child]
    jobs.finish(success(claimed), now=at(30))
    assert jobs.backend.job_has_ancestor(b.JobHasAncestorParams(id=grandchild, ancestor=parent))
    assert _prune(jobs, 50) == 2  # the parent and the child; the others are live
    assert not jobs.backend.job_has_ancestor(b.JobHasAncestorParams(id=kept, ancestor=parent))
    assert not jobs.backend.job_has_ancestor(b.JobHasAncestorParams(id=grandchild, ancestor=child))
    assert jobs.backend.job_parent_results(b.JobParentResultsParams(id=grandchild)) == []


def _workflow(jobs: Jobs, created: float) -> int:
    params = b.WorkflowInsertParams(
        tenant="acme", name="wf", jobs=[new_job(now=at(created))], now=at(created)
    )
    return jobs.backend.workflow_insert(params).id


def _workflow_exists(jobs: Jobs, workflow_id: int) -> bool:
    return jobs.backend.workflow_get(b.WorkflowGetParams(id=workflow_id)) is not None


def test_workflow_prune_deletes_ended_workflows_past_retention_with_their_steps(jobs: Jobs) -> None:
    old, recent, running = _workflow(jobs, 0), _workflow(jobs, 0), _workflow(jobs, 0)
    jobs.backend.workflow_cancel(b.WorkflowCancelParams(id=old, now=at(10)))
    jobs.backend.workflow_cancel(b.WorkflowCancelParams(id=recent, now=at(DAY + 3600)))
    # a step and a workflow
    assert pruner.prune(jobs.backend, at(DAY + 3700), timedelta(minutes=10)) == 2
    assert [_workflow_exists(jobs, w) for w in (old, recent, running)] == [False, True, True]
    assert [w.id for w in jobs.backend.workflow_list(b.WorkflowListParams())] == [running, recent]
    params = b.WorkflowPruneParams(finished_before=at(1_000_000), limit=10)
    assert jobs.backend.workflow_prune(params) == 1, "a running workflow is never pruned"
    assert _workflow_exists(jobs, running)
