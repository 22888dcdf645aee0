"""The app's job API over each backend: errors for missing jobs and refused transitions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from workhorse import Workhorse
from workhorse.errors import InvalidTransitionError, JobNotFoundError
from workhorse.jobs import JobHandle, JobState
from workhorse.tasks import Task

from .conftest import FixedClock
from .support import Jobs, at, failure, success


def _driver(app: Workhorse) -> Jobs:
    return Jobs(app.backend)


def _finish(app: Workhorse, handle: JobHandle, *, ok: bool) -> None:
    jobs = _driver(app)
    job = jobs.claim_one(handle.id, now=at(1))
    assert jobs.finish(success(job) if ok else failure(job), now=at(2)) == [handle.id]


def test_app_enqueue_stores_the_job_with_its_options(
    app: Workhorse, work: Task[[int], int]
) -> None:
    plain = work.enqueue(1)
    tuned = work.with_options(
        tenant="acme", queue="bulk", priority=7, max_attempts=5, timeout=3, unique_key="u"
    ).enqueue(2)
    job = app.get_job(plain.id)
    assert (job.task, job.args, job.kwargs, job.tenant, job.queue) == (
        "work",
        [1],
        {},
        "default",
        "default",
    )
    assert (job.priority, job.max_attempts, job.timeout, job.state) == (1, 2, None, JobState.QUEUED)
    assert (job.created_at, job.run_at) == (at(0), at(0))
    job = app.get_job(tuned.id, tenant="acme")
    assert (job.tenant, job.queue, job.priority, job.max_attempts) == ("acme", "bulk", 7, 5)
    assert (job.timeout, job.unique_key) == (3.0, "u")


def test_app_enqueue_with_delay_or_future_run_at_is_scheduled(
    app: Workhorse, work: Task[[int], int]
) -> None:
    delayed = work.with_options(delay=timedelta(minutes=5)).enqueue(1)
    later = work.with_options(run_at=at(60)).enqueue(2)
    past = work.with_options(run_at=at(-60)).enqueue(3)
    assert app.get_job(delayed.id).run_at == at(300)
    assert app.get_job(delayed.id).state is JobState.SCHEDULED
    assert app.get_job(later.id).state is JobState.SCHEDULED
    assert app.get_job(past.id).state is JobState.QUEUED


def test_app_enqueue_with_unique_key_returns_the_live_job(
    app: Workhorse, work: Task[[int], int]
) -> None:
    first = app.enqueue("work", [1], unique_key="once")
    again = app.enqueue("work", [2], unique_key="once")
    assert first == JobHandle(first.id, True)
    assert again == JobHandle(first.id, False)
    assert app.get_job(first.id).args == [1]


def test_app_enqueue_many_returns_handles_in_order(app: Workhorse, work: Task[[int], int]) -> None:
    handles = app.enqueue_many([work.prepare(i) for i in range(3)])
    assert [app.get_job(h.id).args for h in handles] == [[0], [1], [2]]
    assert [job.id for job in app.list_jobs()] == [h.id for h in reversed(handles)]


def test_app_get_job_raises_job_not_found(app: Workhorse, work: Task[[int], int]) -> None:
    handle = work.with_options(tenant="acme").enqueue(1)
    with pytest.raises(JobNotFoundError, match=f"job {handle.id + 1} not found"):
        app.get_job(handle.id + 1)
    with pytest.raises(JobNotFoundError):
        app.get_job(handle.id, tenant="globex")
    assert app.get_job(handle.id, tenant="acme").id == handle.id


def test_app_cancel_cancels_and_is_a_no_op_when_repeated(
    app: Workhorse, work: Task[[int], int], clock: FixedClock
) -> None:
    handle = work.enqueue(1)
    clock.now = at(30)
    cancelled = app.cancel(handle.id)
    assert (cancelled.state, cancelled.finished_at) == (JobState.CANCELLED, at(30))
    clock.now = at(40)
    assert app.cancel(handle.id) == cancelled


@pytest.mark.parametrize("ok", [True, False], ids=["succeeded", "dead"])
def test_app_cancel_of_an_ended_job_raises_invalid_transition(
    app: Workhorse, work: Task[[int], int], ok: bool
) -> None:
    handle = work.with_options(max_attempts=1).enqueue(1)
    _finish(app, handle, ok=ok)
    with pytest.raises(InvalidTransitionError, match="can no longer be cancelled"):
        app.cancel(handle.id)


def test_app_cancel_of_a_missing_or_foreign_job_raises_job_not_found(
    app: Workhorse, work: Task[[int], int]
) -> None:
    handle = work.with_options(tenant="acme").enqueue(1)
    with pytest.raises(JobNotFoundError):
        app.cancel(handle.id + 100)
    with pytest.raises(JobNotFoundError):
        app.cancel(handle.id, tenant="globex")
    assert app.get_job(handle.id).state is JobState.QUEUED


def test_app_retry_requeues_a_dead_job(
    app: Workhorse, work: Task[[int], int], clock: FixedClock
) -> None:
    handle = work.with_options(max_attempts=1).enqueue(1)
    _finish(app, handle, ok=False)
    clock.now = at(100)
    job = app.retry(handle.id)
    assert (job.state, job.attempts, job.run_at) == (JobState.QUEUED, 0, at(100))


@pytest.mark.parametrize("ok", [True, None], ids=["succeeded", "queued"])
@pytest.mark.parametrize(("change", "verb"), [("retry", "retried"), ("discard", "discarded")])
def test_app_retry_or_discard_of_a_job_that_is_not_dead_raises_invalid_transition(
    app: Workhorse, work: Task[[int], int], ok: bool | None, change: str, verb: str
) -> None:
    handle = work.enqueue(1)
    if ok is not None:
        _finish(app, handle, ok=ok)
    with pytest.raises(InvalidTransitionError, match=f"only dead jobs can be {verb}"):
        getattr(app, change)(handle.id)


@pytest.mark.parametrize("change", ["retry", "discard"])
def test_app_retry_or_discard_of_a_missing_or_foreign_job_raises_job_not_found(
    app: Workhorse, work: Task[[int], int], change: str
) -> None:
    handle = work.with_options(tenant="acme", max_attempts=1).enqueue(1)
    _finish(app, handle, ok=False)
    with pytest.raises(JobNotFoundError, match=f"job {handle.id + 100} not found"):
        getattr(app, change)(handle.id + 100)
    with pytest.raises(JobNotFoundError):
        getattr(app, change)(handle.id, tenant="globex")
    assert app.get_job(handle.id).state is JobState.DEAD


def test_app_retry_raises_when_a_live_job_holds_the_unique_key(
    app: Workhorse, work: Task[[int], int]
) -> None:
    dead = work.with_options(max_attempts=1, unique_key="k").enqueue(1)
    _finish(app, dead, ok=False)
    live = work.with_options(unique_key="k").enqueue(2)
    assert live.created
    with pytest.raises(InvalidTransitionError):
        app.retry(dead.id)
    assert app.get_job(dead.id).state is JobState.DEAD


def test_app_list_jobs_filters_and_pages(app: Workhorse, work: Task[[int], int]) -> None:
    ids = [work.with_options(tenant="acme").enqueue(i).id for i in range(3)]
    other = work.with_options(tenant="globex").enqueue(9).id
    assert [j.id for j in app.list_jobs(tenant="acme", limit=2)] == [ids[2], ids[1]]
    assert [j.id for j in app.list_jobs(tenant="acme", before_id=ids[1])] == [ids[0]]
    assert [j.id for j in app.list_jobs(states=[JobState.QUEUED], limit=1)] == [other]


def test_app_discard_cancels_a_dead_job_and_is_a_no_op_when_repeated(
    app: Workhorse, work: Task[[int], int], clock: FixedClock
) -> None:
    handle = work.with_options(max_attempts=1).enqueue(1)
    _finish(app, handle, ok=False)
    clock.now = at(100)
    discarded = app.discard(handle.id)
    assert (discarded.state, discarded.finished_at) == (JobState.CANCELLED, at(2))
    assert [error.type for error in discarded.errors] == ["ValueError"]
    clock.now = at(200)
    assert app.discard(handle.id) == discarded
