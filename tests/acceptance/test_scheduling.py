"""What runs when: delays, priorities and unique keys, through a real worker."""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest

from workhorse import JobState, Workhorse

from ._harness import APP, Workspace, all_jobs, wait_until
from .fixtures import tasksmod

DELAY = timedelta(seconds=2)


@pytest.mark.slow
def test_a_delayed_job_does_not_run_before_its_time(workspace: Workspace, app: Workhorse) -> None:
    worker = workspace.start_worker()
    delayed = tasksmod.add.with_options(delay=DELAY).enqueue(1, 2).id
    now = tasksmod.add.enqueue(3, 4).id
    assert app.get_job(delayed).state == JobState.SCHEDULED

    wait_until(
        lambda: app.get_job(delayed).state == JobState.SUCCEEDED,
        timeout=30,
        what="the delayed job to run",
    )
    worker.signal(signal.SIGTERM)
    assert worker.wait_exit(20) == 0

    job, other = app.get_job(delayed), app.get_job(now)
    assert job.result == 3
    assert abs(job.run_at - job.created_at - DELAY) < timedelta(milliseconds=1)
    assert job.started_at is not None and job.started_at >= job.run_at
    assert other.state == JobState.SUCCEEDED
    assert [e.job_id for e in workspace.executions()] == [now, delayed]


@pytest.mark.slow
def test_priorities_order_execution_with_one_slot(workspace: Workspace, app: Workhorse) -> None:
    priorities = [0, 3, -1, 10, 3, 5, 0, 7, -5, 10]
    handles = app.enqueue_many(
        [tasksmod.add.with_options(priority=p).prepare(i, 0) for i, p in enumerate(priorities)]
    )
    priority_of = {h.id: p for h, p in zip(handles, priorities, strict=True)}

    worker = workspace.start_worker("--concurrency", "1", "--burst")
    assert worker.wait_exit(60) == 0

    order = [e.job_id for e in workspace.executions()]
    # Highest priority first; among equals, first enqueued first.
    assert order == sorted(priority_of, key=lambda job_id: (-priority_of[job_id], job_id))
    assert [priority_of[job_id] for job_id in order] == sorted(priorities, reverse=True)


@pytest.mark.slow
def test_a_unique_key_gives_one_job(workspace: Workspace, app: Workhorse) -> None:
    first = tasksmod.add.with_options(unique_key="sum-1").enqueue(1, 1)
    second = tasksmod.add.with_options(unique_key="sum-1").enqueue(2, 2)
    assert (first.created, second.created, second.id) == (True, False, first.id)

    enqueued = workspace.cli(
        "enqueue", "add", "--args", "[3, 3]", "--unique-key", "sum-1", "--app", APP
    )
    assert enqueued.returncode == 0, enqueued.stderr
    assert enqueued.stdout.splitlines()[-1] == str(first.id)
    assert "sum-1" in enqueued.stderr

    worker = workspace.start_worker("--burst")
    assert worker.wait_exit(60) == 0
    jobs = all_jobs(app)
    assert list(jobs) == [first.id]
    assert (jobs[first.id].state, jobs[first.id].result) == (JobState.SUCCEEDED, 2)
    assert [e.job_id for e in workspace.executions()] == [first.id]

    # Once the job has ended, the key is free again.
    third = tasksmod.add.with_options(unique_key="sum-1").enqueue(4, 4)
    assert third.created and third.id != first.id


@pytest.mark.slow
def test_a_worker_takes_jobs_only_from_its_queues(workspace: Workspace, app: Workhorse) -> None:
    by_queue = {
        queue: tasksmod.add.with_options(queue=queue).enqueue(n, n).id
        for n, queue in enumerate(["emails", "reports", "other", "default"])
    }
    worker = workspace.start_worker("--queues", "emails,reports", "--burst")
    assert worker.wait_exit(60) == 0

    states = {queue: app.get_job(job_id).state for queue, job_id in by_queue.items()}
    assert states == {
        "emails": JobState.SUCCEEDED,
        "reports": JobState.SUCCEEDED,
        "other": JobState.QUEUED,
        "default": JobState.QUEUED,
    }
