"""Workflows through the Protocol: inserted in one transaction, read with their steps and edges,
listed, cancelled, and settled when their last step ends."""

from __future__ import annotations

import pytest

from workhorse.backends import base as b
from workhorse.errors import DependencyError, InvalidTransitionError
from workhorse.jobs import JobState
from workhorse.workflows import WorkflowState

from .support import Jobs, at, failure, new_job, success

S = JobState
W = WorkflowState


def _insert(jobs: Jobs, *steps: b.NewJob, tenant: str = "acme", name: str = "wf") -> int:
    params = b.WorkflowInsertParams(tenant=tenant, name=name, jobs=steps, now=at(0))
    return jobs.backend.workflow_insert(params).id


def _diamond(jobs: Jobs) -> int:
    return _insert(
        jobs,
        new_job(step_key="top"),
        new_job(step_key="left", after_steps=[0], state=S.BLOCKED),
        new_job(step_key="right", after_steps=[0], state=S.BLOCKED),
        new_job(step_key="bottom", after_steps=[1, 2], state=S.BLOCKED),
    )


def _get(jobs: Jobs, workflow_id: int, tenant: str | None = None) -> b.WorkflowGraph:
    found = jobs.backend.workflow_get(b.WorkflowGetParams(id=workflow_id, tenant=tenant))
    assert found is not None
    return found


def _run_all(jobs: Jobs, fail: str | None = None) -> None:
    """Claim and finish everything claimable until nothing is; the step keyed ``fail`` dies."""
    while claimed := jobs.claim(now=at(1)):
        keys = {job.id: jobs.get(job.id).step_key for job in claimed}
        jobs.finish(*(failure(j) if keys[j.id] == fail else success(j) for j in claimed), now=at(2))


def test_workflow_insert_stores_the_steps_and_edges(jobs: Jobs) -> None:
    workflow_id = _diamond(jobs)
    graph = _get(jobs, workflow_id)
    assert (graph.workflow.state, graph.workflow.steps, graph.workflow.steps_left) == (
        W.RUNNING,
        4,
        4,
    )
    keys = {step.id: step.step_key for step in graph.steps}
    assert [step.state for step in graph.steps] == [S.QUEUED, S.BLOCKED, S.BLOCKED, S.BLOCKED]
    assert {(keys[p], keys[c]) for p, c in graph.edges} == {
        ("top", "left"),
        ("top", "right"),
        ("left", "bottom"),
        ("right", "bottom"),
    }
    assert {step.workflow_id for step in graph.steps} == {workflow_id}


def test_workflow_insert_is_atomic(jobs: Jobs) -> None:
    with pytest.raises(DependencyError):
        _insert(jobs, new_job(), new_job(after=[999_999], state=S.BLOCKED))
    assert jobs.all() == []
    assert jobs.backend.workflow_list(b.WorkflowListParams()) == []


def test_workflow_get_settles_succeeded_when_every_step_succeeded(jobs: Jobs) -> None:
    workflow_id = _diamond(jobs)
    _run_all(jobs)
    graph = _get(jobs, workflow_id)
    assert {step.state for step in graph.steps} == {S.SUCCEEDED}
    assert (graph.workflow.state, graph.workflow.finished_at) == (W.SUCCEEDED, at(2))


def test_workflow_get_settles_failed_when_a_step_died(jobs: Jobs) -> None:
    workflow_id = _diamond(jobs)
    _run_all(jobs, fail="left")
    graph = _get(jobs, workflow_id)
    states = {step.step_key: step.state for step in graph.steps}
    assert states == {
        "top": S.SUCCEEDED,
        "left": S.DEAD,
        "right": S.SUCCEEDED,
        "bottom": S.CANCELLED,
    }
    assert graph.workflow.state is W.FAILED
    assert (graph.workflow.steps_dead, graph.workflow.steps_cancelled) == (1, 1)


def test_workflow_get_runs_again_when_its_dead_step_is_retried(jobs: Jobs) -> None:
    workflow_id = _diamond(jobs)
    _run_all(jobs, fail="left")
    left = next(s for s in _get(jobs, workflow_id).steps if s.step_key == "left")
    jobs.backend.job_retry(b.JobRetryParams(id=left.id, now=at(3)))
    assert _get(jobs, workflow_id).workflow.state is W.RUNNING
    _run_all(jobs)
    assert _get(jobs, workflow_id).workflow.state is W.SUCCEEDED


def test_workflow_get_hides_another_tenants_workflow(jobs: Jobs) -> None:
    workflow_id = _insert(jobs, new_job())
    assert jobs.backend.workflow_get(b.WorkflowGetParams(id=workflow_id, tenant="globex")) is None
    assert _get(jobs, workflow_id, tenant="acme").workflow.tenant == "acme"


def test_workflow_list_filters_and_pages_newest_first(jobs: Jobs) -> None:
    ids = [_insert(jobs, new_job(), name=f"n{i % 2}") for i in range(5)]
    everything = jobs.backend.workflow_list(b.WorkflowListParams())
    assert [w.id for w in everything] == ids[::-1]
    named = jobs.backend.workflow_list(b.WorkflowListParams(name="n0", limit=2))
    assert [w.id for w in named] == [ids[4], ids[2]]
    page = jobs.backend.workflow_list(b.WorkflowListParams(before_id=ids[2]))
    assert [w.id for w in page] == [ids[1], ids[0]]
    assert jobs.backend.workflow_list(b.WorkflowListParams(tenant="globex")) == []
    assert jobs.backend.workflow_list(b.WorkflowListParams(states=[W.SUCCEEDED])) == []


def test_workflow_cancel_cancels_every_step_that_has_not_ended(jobs: Jobs) -> None:
    workflow_id = _diamond(jobs)
    [top] = jobs.claim(now=at(1))
    jobs.finish(success(top), now=at(2))
    params = b.WorkflowCancelParams(id=workflow_id, now=at(3))
    workflow = jobs.backend.workflow_cancel(params)
    assert workflow is not None
    assert (workflow.state, workflow.finished_at) == (W.CANCELLED, at(3))
    states = [step.state for step in _get(jobs, workflow_id).steps]
    assert states == [S.SUCCEEDED, S.CANCELLED, S.CANCELLED, S.CANCELLED]
    assert jobs.claim(now=at(4)) == []


def test_workflow_cancel_of_another_tenants_workflow_finds_nothing(jobs: Jobs) -> None:
    workflow_id = _insert(jobs, new_job())
    params = b.WorkflowCancelParams(id=workflow_id, now=at(3), tenant="globex")
    assert jobs.backend.workflow_cancel(params) is None
    assert _get(jobs, workflow_id).steps[0].state is S.QUEUED


def test_workflow_retry_requeues_the_dead_steps_and_reopens_their_dependents(jobs: Jobs) -> None:
    workflow_id = _diamond(jobs)
    _run_all(jobs, fail="left")
    failed = _get(jobs, workflow_id)
    assert failed.workflow.state is W.FAILED
    assert [step.state for step in failed.steps] == [S.SUCCEEDED, S.DEAD, S.SUCCEEDED, S.CANCELLED]
    params = b.WorkflowRetryParams(id=workflow_id, now=at(3))
    workflow = jobs.backend.workflow_retry(params)
    assert workflow is not None
    assert (workflow.state, workflow.finished_at, workflow.steps_left) == (W.RUNNING, None, 2)
    assert (workflow.steps_dead, workflow.steps_cancelled) == (0, 0)
    states = [step.state for step in _get(jobs, workflow_id).steps]
    assert states == [S.SUCCEEDED, S.QUEUED, S.SUCCEEDED, S.BLOCKED]
    _run_all(jobs)
    settled = _get(jobs, workflow_id)
    assert settled.workflow.state is W.SUCCEEDED
    assert [step.state for step in settled.steps] == [S.SUCCEEDED] * 4


@pytest.mark.parametrize("fail", [None, "top"])
def test_workflow_retry_refuses_a_workflow_without_a_dead_step(
    jobs: Jobs, fail: str | None
) -> None:
    """Running (nothing has failed yet) or already retried: there is nothing to retry."""
    workflow_id = _diamond(jobs)
    params = b.WorkflowRetryParams(id=workflow_id, now=at(3))
    if fail is not None:
        _run_all(jobs, fail=fail)
        assert jobs.backend.workflow_retry(params) is not None
    before = _get(jobs, workflow_id)
    with pytest.raises(InvalidTransitionError, match="no dead step"):
        jobs.backend.workflow_retry(params)
    assert _get(jobs, workflow_id) == before


def test_workflow_retry_of_another_tenants_workflow_finds_nothing(jobs: Jobs) -> None:
    workflow_id = _diamond(jobs)
    _run_all(jobs, fail="top")
    params = b.WorkflowRetryParams(id=workflow_id, now=at(3), tenant="globex")
    assert jobs.backend.workflow_retry(params) is None
    assert _get(jobs, workflow_id).workflow.state is W.FAILED


def test_workflow_retry_refuses_when_a_live_job_holds_a_dead_steps_unique_key(jobs: Jobs) -> None:
    workflow_id = _insert(jobs, new_job(step_key="top", unique_key="nightly"))
    _run_all(jobs, fail="top")
    live = jobs.insert(unique_key="nightly")
    with pytest.raises(InvalidTransitionError, match="unique key"):
        jobs.backend.workflow_retry(b.WorkflowRetryParams(id=workflow_id, now=at(3)))
    assert _get(jobs, workflow_id).workflow.state is W.FAILED
    assert jobs.state(live) is S.QUEUED
