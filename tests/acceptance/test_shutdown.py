"""How workers end: SIGTERM drains within the grace period or hands jobs back, also while the
database is unavailable; --burst exits."""

from __future__ import annotations

import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from workhorse import JobState, Workhorse
from workhorse.backends import base as b
from workhorse.backends import open_backend
from workhorse.errors import DatabaseError
from workhorse.worker.session import CLEAN_UP

from ._harness import Proc, Workspace, all_jobs, error_types, wait_until
from .fixtures import tasksmod

OUTAGE_GRACE = 1.0
EXIT_BOUND = OUTAGE_GRACE + CLEAN_UP + 4
"""How long after SIGTERM a worker may take to exit during an outage: the grace period, the
clean-up time, and a margin for starting and ending the process on a busy machine."""


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


@contextmanager
def _write_locked(workspace: Workspace) -> Iterator[None]:
    """The database unavailable: another connection holds SQLite's write lock, so every write
    waits out its busy timeout (30 s) and then fails. (Replacing or chmod-ing the file would
    not do: connections already open keep using it.)"""
    holder = sqlite3.connect(workspace.db_path, isolation_level=None, timeout=10)
    holder.execute("BEGIN IMMEDIATE")
    try:
        _check_writes_fail(workspace.db_path)
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _check_writes_fail(path: Path) -> None:
    probe = open_backend(f"sqlite:///{path}?busy_timeout=0.2", auto_migrate=False)
    try:
        with pytest.raises(DatabaseError, match="locked"):
            probe.worker_delete(b.WorkerDeleteParams(id="probe"))
    finally:
        probe.close()


def _sigterm_and_time_exit(worker: Proc) -> tuple[int, float]:
    started = time.monotonic()
    worker.signal(signal.SIGTERM)
    code = worker.wait_exit(EXIT_BOUND + 20)
    return code, time.monotonic() - started


@pytest.mark.slow
def test_sigterm_in_an_outage_exits_3_in_bounded_time_and_the_job_returns_after_its_lease(
    workspace: Workspace, app: Workhorse
) -> None:
    job_id = tasksmod.slow_first.enqueue(60).id
    options = ("--grace", str(OUTAGE_GRACE), "--lease", "3")
    worker = workspace.start_worker(*options, name="stranded")
    wait_until(lambda: _started(workspace, 1), timeout=30, what="the job to start")

    with _write_locked(workspace):
        code, took = _sigterm_and_time_exit(worker)

    assert code == 3, worker.stderr()[-3000:]
    assert took < EXIT_BOUND, f"exited {took:.1f}s after SIGTERM"
    assert "could not hand back 1 job(s): the database did not answer" in worker.stderr()
    assert "they return to the queue when their leases expire" in worker.stderr()
    assert app.get_job(job_id).state is JobState.RUNNING, "still under the stopped worker's lease"

    workspace.start_worker(*options, name="later")
    wait_until(
        lambda: app.get_job(job_id).state is JobState.SUCCEEDED,
        timeout=60,
        what="the job to come back through lease expiry and run again",
    )
    job = app.get_job(job_id)
    assert (job.attempts, job.result, error_types(job)) == (2, 2, ["WorkerLostError"])


@pytest.mark.slow
def test_sigterm_in_an_outage_with_nothing_to_hand_back_exits_0_in_bounded_time(
    workspace: Workspace,
) -> None:
    worker = workspace.start_worker("--grace", str(OUTAGE_GRACE), name="idle")
    wait_until(lambda: " started: " in worker.stderr(), timeout=30, what="the worker to start")

    with _write_locked(workspace):
        code, took = _sigterm_and_time_exit(worker)

    assert code == 0, worker.stderr()[-3000:]
    assert took < EXIT_BOUND, f"exited {took:.1f}s after SIGTERM"
    assert "could not hand back" not in worker.stderr()
