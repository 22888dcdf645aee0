"""Dependencies through the Protocol: a child is blocked until every parent has succeeded, released
in the transaction that finishes its last parent, cancelled down the graph when a parent fails
(unless it runs on parent failure), and re-opened when the failed parent is retried by hand."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from pgtest import postgres_schema
from workhorse.backends import base as b
from workhorse.backends import open_backend
from workhorse.backends.postgres.connecting import parse_url
from workhorse.errors import DependencyError
from workhorse.jobs import JobState

from .support import Jobs, at, failure, new_job, success

S = JobState


def _child(jobs: Jobs, *parents: int, **fields: Any) -> int:
    return jobs.insert(after=list(parents), state=S.BLOCKED, **fields)


def _claim_ids(jobs: Jobs, queue: str = "default") -> list[int]:
    return [job.id for job in jobs.claim(queues=[queue], now=at(1))]


def test_a_child_is_blocked_and_never_claimed_until_its_parent_succeeds(jobs: Jobs) -> None:
    parent = jobs.running(now=at(0))
    child = _child(jobs, parent.id)
    assert jobs.state(child) is S.BLOCKED
    assert _claim_ids(jobs) == []
    assert jobs.finish(success(parent), now=at(5)) == [parent.id]
    released = jobs.get(child)
    assert released.state is S.QUEUED
    assert released.run_at == at(5), "it waits in the queue from its release"
    assert _claim_ids(jobs) == [child]


def test_a_child_waits_for_every_parent(jobs: Jobs) -> None:
    first, second = jobs.running(now=at(0)), jobs.running(now=at(0))
    child = _child(jobs, first.id, second.id)
    jobs.finish(success(first), now=at(2))
    assert jobs.state(child) is S.BLOCKED
    jobs.finish(success(second), now=at(3))
    assert jobs.state(child) is S.QUEUED


def test_parents_finishing_in_one_batch_release_their_child_once(jobs: Jobs) -> None:
    parents = [jobs.running(now=at(0)) for _ in range(3)]
    child = _child(jobs, *(p.id for p in parents))
    jobs.finish(*(success(p) for p in parents), now=at(2))
    assert jobs.state(child) is S.QUEUED


def test_a_child_of_succeeded_parents_starts_queued(jobs: Jobs) -> None:
    parent = jobs.in_state(S.SUCCEEDED)
    assert jobs.state(_child(jobs, parent)) is S.QUEUED


def test_a_child_of_a_failed_parent_starts_cancelled_with_the_reason(jobs: Jobs) -> None:
    parent = jobs.in_state(S.DEAD)
    child = jobs.get(_child(jobs, parent))
    assert (child.state, child.cancelled_by) == (S.CANCELLED, parent)
    assert child.cancel_reason == f"parent job {parent} failed"
    assert jobs.state(_child(jobs, parent, run_on_parent_failure=True)) is S.QUEUED


def test_a_dead_parent_cancels_its_dependents_down_the_graph(jobs: Jobs) -> None:
    root = jobs.running(now=at(0), max_attempts=1)
    child = _child(jobs, root.id)
    grandchild = _child(jobs, child)
    bystander = jobs.running(now=at(0))
    other = _child(jobs, bystander.id)
    jobs.finish(failure(root), now=at(4))
    for job_id in (child, grandchild):
        job = jobs.get(job_id)
        assert (job.state, job.cancelled_by, job.finished_at) == (S.CANCELLED, root.id, at(4))
    assert jobs.state(other) is S.BLOCKED


def test_a_child_that_runs_on_parent_failure_is_released_by_a_dead_parent(jobs: Jobs) -> None:
    root = jobs.running(now=at(0), max_attempts=1)
    cleanup = _child(jobs, root.id, run_on_parent_failure=True)
    doomed = _child(jobs, root.id)
    after_cleanup = _child(jobs, cleanup, doomed, run_on_parent_failure=True)
    jobs.finish(failure(root), now=at(4))
    assert jobs.state(cleanup) is S.QUEUED
    assert jobs.state(doomed) is S.CANCELLED
    assert jobs.state(after_cleanup) is S.BLOCKED, "it still waits for cleanup"


def test_a_retrying_parent_holds_its_children(jobs: Jobs) -> None:
    parent = jobs.running(now=at(0))
    child = _child(jobs, parent.id)
    jobs.finish(failure(parent, run_at=at(60)), now=at(1))
    assert jobs.state(child) is S.BLOCKED


def test_cancelling_a_parent_cancels_its_dependents(jobs: Jobs) -> None:
    parent = jobs.insert()
    child = _child(jobs, parent)
    grandchild = _child(jobs, child)
    jobs.backend.job_cancel(b.JobCancelParams(id=parent, now=at(3)))
    assert [jobs.get(i).cancelled_by for i in (child, grandchild)] == [parent, parent]
    assert {jobs.state(i) for i in (child, grandchild)} == {S.CANCELLED}


def test_retrying_a_dead_parent_reopens_what_its_death_cancelled(jobs: Jobs) -> None:
    root = jobs.running(now=at(0), max_attempts=1)
    child = _child(jobs, root.id)
    grandchild = _child(jobs, child)
    jobs.finish(failure(root), now=at(4))
    jobs.backend.job_retry(b.JobRetryParams(id=root.id, now=at(5)))
    assert [jobs.state(i) for i in (child, grandchild)] == [S.BLOCKED, S.BLOCKED]
    assert jobs.get(child).cancelled_by is None
    again = jobs.claim_one(root.id, now=at(6))
    jobs.finish(success(again), now=at(7))
    assert jobs.state(child) is S.QUEUED
    assert jobs.state(grandchild) is S.BLOCKED


def test_a_redrive_reopens_what_the_dead_jobs_cancelled(jobs: Jobs) -> None:
    root = jobs.running(now=at(0), max_attempts=1)
    child = _child(jobs, root.id)
    jobs.finish(failure(root), now=at(4))
    params = b.JobRedriveParams(action=b.RedriveAction.RETRY, now=at(5))
    assert jobs.backend.job_redrive(params) == 1
    assert jobs.state(child) is S.BLOCKED


def test_a_child_cancelled_by_hand_stays_cancelled_when_its_parent_is_retried(
    jobs: Jobs,
) -> None:
    root = jobs.running(now=at(0), max_attempts=1)
    child = _child(jobs, root.id)
    jobs.backend.job_cancel(b.JobCancelParams(id=child, now=at(1)))
    jobs.finish(failure(root), now=at(4))
    jobs.backend.job_retry(b.JobRetryParams(id=root.id, now=at(5)))
    assert jobs.state(child) is S.CANCELLED


def test_parents_of_another_tenant_are_refused_and_nothing_is_stored(jobs: Jobs) -> None:
    parent = jobs.insert(tenant="acme")
    # Read as a missing parent: the error tells globex nothing about acme's jobs.
    with pytest.raises(DependencyError, match=rf"parent job\(s\) \[{parent}\] not found"):
        _child(jobs, parent, tenant="globex")
    assert [job.id for job in jobs.all()] == [parent]


def test_postgres_another_tenants_parent_is_not_even_locked() -> None:
    """A child naming another tenant's job neither changes nor locks it: held elsewhere, it makes
    the child wait no more than a missing job does (a wait would tell of the job)."""
    with postgres_schema() as url:
        backend = open_backend(f"{url}&lock_timeout=1s", auto_migrate=True)
        try:
            jobs = Jobs(backend)
            parent = jobs.insert(tenant="acme")
            with psycopg.connect(parse_url(url).conninfo) as other:
                other.execute("SELECT 1 FROM workhorse_jobs WHERE id = %s FOR UPDATE", [parent])
                with pytest.raises(DependencyError, match="not found"):
                    _child(jobs, parent, tenant="globex")
        finally:
            backend.close()


def test_a_missing_parent_is_refused(jobs: Jobs) -> None:
    with pytest.raises(DependencyError, match="not found"):
        _child(jobs, 999_999)
    assert jobs.all() == []


def test_a_batch_can_name_earlier_jobs_of_itself_as_parents(jobs: Jobs) -> None:
    inserted = jobs.insert_many(
        [
            new_job(),
            new_job(after_steps=[0], state=S.BLOCKED),
            new_job(after_steps=[0, 1], state=S.BLOCKED, step_key="last"),
        ]
    )
    first, second, third = (row.id for row in inserted)
    assert [jobs.state(i) for i in (first, second, third)] == [S.QUEUED, S.BLOCKED, S.BLOCKED]
    assert jobs.get(third).step_key == "last"
    [claimed] = jobs.claim(now=at(1))
    jobs.finish(success(claimed), now=at(2))
    assert [jobs.state(i) for i in (second, third)] == [S.QUEUED, S.BLOCKED]
