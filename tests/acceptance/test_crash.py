"""A worker killed with SIGKILL mid-run loses nothing: its jobs come back and run again."""

from __future__ import annotations

import signal
from collections import defaultdict

import pytest

from workhorse import JobState, Workhorse

from ._harness import Execution, Workspace, error_types, wait_all_terminal, wait_until
from .fixtures import tasksmod

JOBS = 300
CONCURRENCY = 10


@pytest.mark.slow
def test_sigkill_mid_run_loses_nothing(workspace: Workspace, app: Workhorse) -> None:
    handles = app.enqueue_many([tasksmod.work.prepare(0.1) for _ in range(JOBS)])
    ids = {handle.id for handle in handles}
    options = ("--concurrency", str(CONCURRENCY), "--lease", "2")

    doomed = workspace.start_worker(*options, name="doomed")
    wait_until(
        lambda: len(workspace.executions()) >= 30, timeout=30, what="the first worker to run jobs"
    )
    doomed.signal(signal.SIGKILL)
    assert doomed.wait_exit(10) == -signal.SIGKILL
    ran_before_kill = len(workspace.executions())
    assert ran_before_kill < JOBS, "the worker finished everything before it was killed"

    survivor = workspace.start_worker(*options, name="survivor")
    jobs = wait_all_terminal(app, JOBS, timeout=90)

    assert set(jobs) == ids
    assert {job.state for job in jobs.values()} == {JobState.SUCCEEDED}
    assert all(job.result == job.id for job in jobs.values())

    runs: dict[int, list[Execution]] = defaultdict(list)
    for execution in workspace.executions():
        runs[execution.job_id].append(execution)
    assert set(runs) == ids, "every job ran"
    repeated = {job_id: r for job_id, r in runs.items() if len(r) > 1}
    # Only jobs the killed worker held (at most its concurrency) may have run twice.
    assert len(repeated) <= CONCURRENCY
    for job_id, executions in repeated.items():
        job = jobs[job_id]
        assert [e.attempt for e in executions] == sorted({e.attempt for e in executions})
        assert executions[0].pid == doomed.pid
        assert executions[-1].attempt == job.attempts > 1
        assert "WorkerLostError" in error_types(job)
    lost = [job for job in jobs.values() if job.errors]
    assert lost, "the killed worker held running jobs, so some attempts were lost"
    assert set(repeated) <= {job.id for job in lost}
    for job in jobs.values():
        # A lost attempt is blamed on the killed worker, never on the survivor.
        for error in job.errors:
            assert error.type == "WorkerLostError"
            assert f"-{doomed.pid}-" in error.message
    survivor.signal(signal.SIGTERM)
    assert survivor.wait_exit(20) == 0
