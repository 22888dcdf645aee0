"""Cancellation through ``workhorse jobs cancel``: queued jobs never run, running ones stop."""

from __future__ import annotations

import signal

import pytest

from workhorse import JobState, Workhorse

from ._harness import Workspace, wait_until
from .fixtures import tasksmod


@pytest.mark.slow
def test_a_cancelled_queued_job_never_runs(workspace: Workspace, app: Workhorse) -> None:
    victim = tasksmod.add.enqueue(1, 1).id
    cancelled = workspace.cli("jobs", "cancel", str(victim))
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.strip() == f"job {victim} cancelled"
    others = [tasksmod.add.enqueue(i, i).id for i in range(3)]

    worker = workspace.start_worker("--burst")
    assert worker.wait_exit(60) == 0

    job = app.get_job(victim)
    assert (job.state, job.attempts, job.result, job.started_at) == (
        JobState.CANCELLED,
        0,
        None,
        None,
    )
    assert sorted(e.job_id for e in workspace.executions()) == others
    assert all(app.get_job(i).state == JobState.SUCCEEDED for i in others)


@pytest.mark.slow
def test_cancelling_a_running_async_job_interrupts_it(workspace: Workspace, app: Workhorse) -> None:
    job_id = tasksmod.slow_async.enqueue(60).id
    # Heartbeats every min(2 s, lease / 3) = 1 s: that is when the worker notices.
    worker = workspace.start_worker("--lease", "3")
    wait_until(lambda: workspace.executions("start"), timeout=30, what="the job to start")
    assert app.get_job(job_id).state == JobState.RUNNING

    cancelled = workspace.cli("jobs", "cancel", str(job_id))
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.strip() == f"job {job_id} cancelled"
    interrupted = wait_until(
        lambda: workspace.executions("interrupted"), timeout=20, what="the task to be interrupted"
    )
    assert [(e.job_id, e.attempt, e.pid) for e in interrupted] == [(job_id, 1, worker.pid)]

    # The worker goes on: its slot is free, and the cancelled job's outcome is never written.
    follow_up = tasksmod.add.enqueue(20, 22).id
    wait_until(
        lambda: app.get_job(follow_up).state == JobState.SUCCEEDED,
        timeout=30,
        what="the next job to run",
    )
    worker.signal(signal.SIGTERM)
    assert worker.wait_exit(20) == 0
    job = app.get_job(job_id)
    assert (job.state, job.result, job.attempts, job.errors) == (JobState.CANCELLED, None, 1, [])
    assert workspace.executions("done") == [
        e for e in workspace.executions() if e.job_id == follow_up
    ]
    assert app.get_job(follow_up).result == 42


@pytest.mark.slow
def test_cancelling_a_running_sync_job_discards_its_outcome(
    workspace: Workspace, app: Workhorse
) -> None:
    job_id = tasksmod.slow_sync.enqueue(3).id
    worker = workspace.start_worker("--lease", "3")
    wait_until(lambda: workspace.executions("start"), timeout=30, what="the job to start")

    cancelled = workspace.cli("jobs", "cancel", str(job_id))
    assert cancelled.returncode == 0, cancelled.stderr
    # A thread cannot be interrupted: the function runs to its end, but its result is dropped.
    wait_until(lambda: workspace.executions("done"), timeout=30, what="the thread to return")
    wait_until(lambda: "no longer held" in worker.stderr(), timeout=20, what="the worker to notice")
    worker.signal(signal.SIGTERM)
    assert worker.wait_exit(20) == 0
    job = app.get_job(job_id)
    assert (job.state, job.result, job.attempts, job.errors) == (JobState.CANCELLED, None, 1, [])
