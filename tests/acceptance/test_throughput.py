"""Many jobs over several worker processes sharing one SQLite file: each runs exactly once."""

from __future__ import annotations

from collections import Counter

import pytest

from workhorse import JobState, Workhorse

from ._harness import Workspace, all_jobs, state_counts
from .fixtures import tasksmod

JOBS = 10_000


@pytest.mark.slow
def test_ten_thousand_jobs_over_two_workers_each_run_exactly_once(
    workspace: Workspace, app: Workhorse
) -> None:
    expected: dict[int, int] = {}
    for start in range(0, JOBS, 2_000):
        numbers = range(start, start + 2_000)
        handles = app.enqueue_many([tasksmod.add.prepare(i, 1) for i in numbers])
        expected |= {handle.id: i + 1 for handle, i in zip(handles, numbers, strict=True)}
    assert state_counts(app) == {JobState.QUEUED: JOBS}

    workers = [
        workspace.start_worker("--concurrency", "20", "--burst", name=f"worker{n}")
        for n in range(2)
    ]
    # --burst: each exits 0 once nothing is queued or running, so "no worker died" is the status.
    statuses = [worker.wait_exit(90) for worker in workers]
    assert statuses == [0, 0], [w.stderr()[-2000:] for w in workers]

    executions = workspace.executions()
    runs_per_job = Counter(e.job_id for e in executions)
    assert len(executions) == JOBS
    assert len(runs_per_job) == JOBS
    assert max(runs_per_job.values()) == 1
    assert all(e.attempt == 1 for e in executions)
    assert {e.pid for e in executions} == {w.pid for w in workers}, "both workers took jobs"

    jobs = all_jobs(app)
    assert set(jobs) == set(runs_per_job) == set(expected)
    assert {job.state for job in jobs.values()} == {JobState.SUCCEEDED}
    assert {job.id: job.result for job in jobs.values()} == expected
    assert {job.attempts for job in jobs.values()} == {1}
