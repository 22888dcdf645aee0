"""Retries, dead-lettering and timeouts through a real worker, and the CLI that shows them."""

from __future__ import annotations

import json
import signal

import pytest

from workhorse import JobState, Workhorse

from ._harness import Workspace, error_types, wait_all_terminal
from .fixtures import tasksmod


@pytest.mark.slow
def test_retries_dead_letters_and_timeouts(workspace: Workspace, app: Workhorse) -> None:
    flaky = tasksmod.flaky.enqueue(2).id
    failing = tasksmod.always_fail.enqueue("boom").id
    sync_timeout = tasksmod.sleepy_sync.enqueue(3).id
    async_timeout = tasksmod.sleepy_async.enqueue(3).id
    worker = workspace.start_worker("--concurrency", "4")

    jobs = wait_all_terminal(app, 4, timeout=60)

    job = jobs[flaky]
    assert (job.state, job.attempts, job.result) == (JobState.SUCCEEDED, 3, "ok on attempt 3")
    assert [(e.attempt, e.type) for e in job.errors] == [
        (1, "ConnectionError"),
        (2, "ConnectionError"),
    ]
    assert [e.message for e in job.errors] == [
        "flaky failure on attempt 1",
        "flaky failure on attempt 2",
    ]
    assert [e.attempt for e in workspace.executions() if e.job_id == flaky] == [1, 2, 3]

    job = jobs[failing]
    assert (job.state, job.attempts, job.result) == (JobState.DEAD, 2, None)
    assert [(e.attempt, e.type, e.message) for e in job.errors] == [
        (1, "ValueError", "always fails: boom"),
        (2, "ValueError", "always fails: boom"),
    ]
    for error in job.errors:
        assert error.traceback is not None
        assert "Traceback (most recent call last)" in error.traceback
        assert "ValueError: always fails: boom" in error.traceback
        assert "always_fail" in error.traceback

    for job_id in (sync_timeout, async_timeout):
        job = jobs[job_id]
        assert (job.state, job.attempts, job.result) == (JobState.DEAD, 1, None)
        assert error_types(job) == ["JobTimeoutError"]
        assert job.errors[0].message == f"job {job_id} ran past its timeout of 1s"
        assert job.finished_at is not None and job.started_at is not None

    worker.signal(signal.SIGTERM)
    assert worker.wait_exit(20) == 0


@pytest.mark.slow
def test_jobs_show_and_retry_a_dead_job_from_the_cli(workspace: Workspace, app: Workhorse) -> None:
    job_id = tasksmod.always_fail.enqueue("again").id
    first = workspace.start_worker("--burst", name="first")
    assert first.wait_exit(60) == 0

    shown = workspace.cli("jobs", "show", str(job_id), "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert (data["id"], data["state"], data["attempts"]) == (job_id, "dead", 2)
    assert [e["type"] for e in data["errors"]] == ["ValueError", "ValueError"]

    retried = workspace.cli("jobs", "retry", str(job_id))
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.strip() == f"job {job_id} queued"
    second = workspace.start_worker("--burst", name="second")
    assert second.wait_exit(60) == 0

    # A fresh budget of attempts; the error history is kept.
    job = app.get_job(job_id)
    assert (job.state, job.attempts) == (JobState.DEAD, 2)
    assert [e.attempt for e in job.errors] == [1, 2, 1, 2]
    assert len(workspace.executions()) == 4

    again = workspace.cli("jobs", "retry", str(tasksmod.add.enqueue(1, 1).id))
    assert again.returncode == 1
    assert "only dead jobs can be retried" in again.stderr
