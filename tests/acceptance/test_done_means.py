"""The "done means" scenario: a mixed workload survives a SIGKILLed worker, end to end."""

from __future__ import annotations

import signal

import pytest

from workhorse import Job, JobState, Workhorse

from ._harness import Workspace, error_types, state_counts, wait_all_terminal, wait_until
from .fixtures import tasksmod

ADDS = 1_000


def _assert_errors_recorded(job: Job, failed_attempts: int, allowed: set[str]) -> None:
    """Attempts 1..failed_attempts each left an error of an allowed type, with a traceback."""
    assert [error.attempt for error in job.errors] == list(range(1, failed_attempts + 1))
    for error in job.errors:
        assert error.type in allowed
        assert error.message
        assert error.traceback and error.type in error.traceback


@pytest.mark.slow
def test_mixed_workload_survives_a_killed_worker(workspace: Workspace, app: Workhorse) -> None:
    adds = app.enqueue_many([tasksmod.add.prepare(i, i) for i in range(ADDS)])
    flaky = [tasksmod.flaky.enqueue(2).id for _ in range(3)]
    failing = [tasksmod.always_fail.enqueue(f"card-{n}").id for n in range(2)]
    too_slow = tasksmod.sleepy_async.enqueue(5).id
    total = ADDS + len(flaky) + len(failing) + 1

    doomed = workspace.start_worker("--lease", "3", name="doomed")
    # Kill it mid-run (about a second in): once a tenth of the work is done.
    wait_until(lambda: len(workspace.executions()) >= 100, timeout=30, what="jobs to run")
    doomed.signal(signal.SIGKILL)
    assert doomed.wait_exit(10) == -signal.SIGKILL
    at_kill = state_counts(app)
    assert sum(n for state, n in at_kill.items() if not state.terminal) > 0, at_kill
    survivor = workspace.start_worker("--lease", "3", name="survivor")

    jobs = wait_all_terminal(app, total, timeout=90)

    for i, handle in enumerate(adds):
        job = jobs[handle.id]
        assert (job.state, job.result) == (JobState.SUCCEEDED, 2 * i), job
    for job_id in flaky:
        job = jobs[job_id]
        assert job.state == JobState.SUCCEEDED
        assert (job.attempts, job.result) == (3, "ok on attempt 3")
        _assert_errors_recorded(job, 2, {"ConnectionError", "WorkerLostError"})
    for job_id in failing:
        job = jobs[job_id]
        assert (job.state, job.attempts) == (JobState.DEAD, 2)
        _assert_errors_recorded(job, 2, {"ValueError", "WorkerLostError"})
        assert "ValueError" in error_types(job) or all(
            f"-{doomed.pid}-" in error.message for error in job.errors
        )
    job = jobs[too_slow]
    assert (job.state, job.attempts, job.result) == (JobState.DEAD, 1, None)
    # The killed worker may have held it: then its one attempt was lost rather than timed out.
    _assert_errors_recorded(job, 1, {"JobTimeoutError", "WorkerLostError"})
    if error_types(job) == ["JobTimeoutError"]:
        assert "ran past its timeout" in job.errors[0].message

    for worker in (doomed, survivor):
        worker.signal(signal.SIGTERM)
    assert survivor.wait_exit(20) == 0
