"""How workers end: SIGTERM drains within the grace period or hands jobs back; --burst exits."""

from __future__ import annotations

import signal

import pytest

from workhorse import JobState, Workhorse

from ._harness import Workspace, all_jobs, wait_until
from .fixtures import tasksmod


def _enqueue_slow(app: Workhorse, pairs: int, seconds: float) -> list[int]:
    """``pairs`` sync and ``pairs`` async slow jobs, interleaved so every claim gets both."""
    specs = []
    for _ in range(pairs):
        specs += [tasksmod.slow_sync.prepare(seconds), tasksmod.slow_async.prepare(seconds)]
    return [handle.id for handle in app.enqueue_many(specs)]


def _started(workspace: Workspace, count: int) -> set[int]:
    """The jobs that have started, once there are at least ``count`` of them."""
    started = {e.job_id for e in workspace.executions("start")}
    return started if len(started) >= count else set()


@pytest.mark.slow
def test_sigterm_lets_running_jobs_finish_and_exits_0(workspace: Workspace, app: Workhorse) -> None:
    ids = _enqueue_slow(app, pairs=4, seconds=2)
    worker = workspace.start_worker("--concurrency", "4", "--grace", "10")
    wait_until(lambda: _started(workspace, 4), timeout=30, what="4 jobs to start")

    worker.signal(signal.SIGTERM)
    assert worker.wait_exit(20) == 0

    started = {e.job_id for e in workspace.executions("start")}
    finished = {e.job_id for e in workspace.executions("done")}
    assert workspace.executions("interrupted") == []
    assert finished == started
    jobs = all_jobs(app)
    assert {jobs[i].task for i in started} == {"slow_sync", "slow_async"}
    for job_id in ids:
        job = jobs[job_id]
        if job_id in started:
            assert (job.state, job.attempts, job.errors) == (JobState.SUCCEEDED, 1, [])
        else:  # never claimed: stopping workers take no new jobs
            assert (job.state, job.attempts) == (JobState.QUEUED, 0)
    assert any(jobs[i].state == JobState.QUEUED for i in ids), "no new claims after SIGTERM"


@pytest.mark.slow
def test_sigterm_hands_back_jobs_that_outlast_the_grace_period(
    workspace: Workspace, app: Workhorse
) -> None:
    ids = _enqueue_slow(app, pairs=2, seconds=3)
    worker = workspace.start_worker("--concurrency", "4", "--grace", "1", name="stopped")
    wait_until(lambda: _started(workspace, 4), timeout=30, what="4 jobs to start")

    worker.signal(signal.SIGTERM)
    assert worker.wait_exit(20) == 0

    assert workspace.executions("done") == []
    interrupted = {e.job_id for e in workspace.executions("interrupted")}
    jobs = all_jobs(app)
    assert interrupted == {i for i in ids if jobs[i].task == "slow_async"}
    for job_id in ids:
        job = jobs[job_id]
        # Handed back: queued again, and the attempt was not spent.
        assert (job.state, job.attempts, job.errors) == (JobState.QUEUED, 0, [])

    later = workspace.start_worker("--concurrency", "4", "--burst", name="later")
    assert later.wait_exit(60) == 0
    jobs = all_jobs(app)
    for job_id in ids:
        job = jobs[job_id]
        assert (job.state, job.attempts, job.errors) == (JobState.SUCCEEDED, 1, []), job
        assert job.result == f"{job.task.replace('_', ' ')} done"
    done = workspace.executions("done")
    assert sorted(e.job_id for e in done) == sorted(ids)
    assert {(e.attempt, e.pid) for e in done} == {(1, later.pid)}


@pytest.mark.slow
def test_burst_exits_0_once_the_queue_is_empty(workspace: Workspace, app: Workhorse) -> None:
    empty = workspace.start_worker("--burst", name="empty")
    assert empty.wait_exit(30) == 0

    adds = app.enqueue_many([tasksmod.add.prepare(i, 1) for i in range(50)])
    flaky = tasksmod.flaky.enqueue(1)  # --burst waits for its retry, too
    worker = workspace.start_worker("--burst", name="burst")
    assert worker.wait_exit(60) == 0

    jobs = all_jobs(app)
    assert len(jobs) == 51
    assert {job.state for job in jobs.values()} == {JobState.SUCCEEDED}
    assert [jobs[h.id].result for h in adds] == [i + 1 for i in range(50)]
    assert jobs[flaky.id].attempts == 2
    assert "burst: no work left" in worker.stderr()


@pytest.mark.slow
def test_a_second_sigterm_hands_running_jobs_back_at_once(
    workspace: Workspace, app: Workhorse
) -> None:
    ids = _enqueue_slow(app, pairs=1, seconds=60)
    worker = workspace.start_worker("--grace", "60")
    wait_until(lambda: _started(workspace, 2), timeout=30, what="both jobs to start")

    worker.signal(signal.SIGTERM)
    wait_until(lambda: "stopping" in worker.stderr(), timeout=20, what="the worker to stop")
    worker.signal(signal.SIGTERM)
    assert worker.wait_exit(20) == 0  # well before the 60 s grace period

    jobs = all_jobs(app)
    assert [(jobs[i].state, jobs[i].attempts) for i in ids] == [(JobState.QUEUED, 0)] * 2
    assert "second stop signal" in worker.stderr()
