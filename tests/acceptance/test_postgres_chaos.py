"""Chaos on PostgreSQL: three workers run 20,000 jobs while one is SIGKILLed and the database
server (a private cluster of this test's own, never the shared one) restarts under them. Nothing
is lost, nothing stays running, and a job runs more than once only when one of its attempts was
lost (to the kill, or to the restart fencing its outcome)."""

from __future__ import annotations

import json
import signal
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import cast

import pytest

from pgprivate import Cluster, private_cluster
from workhorse import AttemptError, Job, JobState, Workhorse

from ._harness import Execution, Proc, Workspace, all_jobs, state_counts, wait_until
from .fixtures import tasksmod

JOBS = 20_000
WORKERS = 3
CONCURRENCY = 20
LEASE = 5
ENQUEUE_BATCH = 5_000
KILL_AFTER = 2_000
"""Executions before the SIGKILL; the restart comes another ``RESTART_AFTER`` later."""
RESTART_AFTER = 2_000
SETTLE = 0.2
"""Seconds for statements a frozen worker had already sent to finish in the server."""


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A private cluster this test restarts, dropped afterwards."""
    with private_cluster() as created:
        yield created


@pytest.fixture
def pg_workspace(cluster: Cluster, workspace: Workspace) -> Workspace:
    """The workspace (torn down first: its processes stop before the cluster is dropped) with
    its workers on the private cluster."""
    workspace.db_url = cluster.url("jobs")
    migrated = workspace.cli("migrate")
    assert migrated.returncode == 0, migrated.stderr
    return workspace


@pytest.fixture
def pg_app(pg_workspace: Workspace) -> Iterator[Workhorse]:
    tasksmod.app.close()
    tasksmod.app.database_url = pg_workspace.db_url
    try:
        yield tasksmod.app
    finally:
        tasksmod.app.close()


def _succeeded(app: Workhorse) -> int | None:
    counts = state_counts(app)
    return counts[JobState.SUCCEEDED] == JOBS and counts.total() == JOBS and JOBS


def _executions(space: Workspace) -> int:
    return len(space.executions())


def _by_job(executions: list[Execution]) -> dict[int, list[Execution]]:
    runs: dict[int, list[Execution]] = defaultdict(list)
    for execution in executions:
        runs[execution.job_id].append(execution)
    return runs


def _freeze_holding_jobs(app: Workhorse, victim: Proc, worker_id: str) -> set[int] | None:
    """SIGSTOP the victim; if the database then shows it holding running jobs, leave it frozen
    and return their ids, else let it go on (SIGCONT) and return None.

    Fast jobs come and go in milliseconds, so only a frozen worker's holdings can be known: they
    are exactly the attempts its SIGKILL will lose."""
    victim.signal(signal.SIGSTOP)
    time.sleep(SETTLE)
    running = app.list_jobs(states=[JobState.RUNNING], limit=JOBS)
    held = {job.id for job in running if job.worker_id == worker_id}
    if held:
        return held
    victim.signal(signal.SIGCONT)
    return None


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sigkill_and_database_restart_lose_nothing(
    cluster: Cluster, pg_workspace: Workspace, pg_app: Workhorse
) -> None:
    ids: set[int] = set()
    for start in range(0, JOBS, ENQUEUE_BATCH):
        specs = [tasksmod.add.prepare(i, 1) for i in range(start, start + ENQUEUE_BATCH)]
        ids |= {handle.id for handle in pg_app.enqueue_many(specs)}
    assert len(ids) == JOBS
    options = ("--concurrency", str(CONCURRENCY), "--lease", str(LEASE))
    workers = {
        f"chaos-{i}": pg_workspace.start_worker("--id", f"chaos-{i}", *options, name=f"chaos-{i}")
        for i in range(WORKERS)
    }
    victim_id, victim = "chaos-0", workers["chaos-0"]
    survivors = [proc for worker_id, proc in workers.items() if worker_id != victim_id]

    wait_until(
        lambda: _executions(pg_workspace) >= KILL_AFTER,
        timeout=60,
        what=f"{KILL_AFTER} executions",
    )
    held_at_kill = wait_until(
        lambda: _freeze_holding_jobs(pg_app, victim, victim_id),
        timeout=60,
        what=f"{victim_id} to hold running jobs",
    )
    victim.signal(signal.SIGKILL)
    assert victim.wait_exit(10) == -signal.SIGKILL
    at_kill = _executions(pg_workspace)

    wait_until(
        lambda: _executions(pg_workspace) >= at_kill + RESTART_AFTER,
        timeout=60,
        what="the surviving workers to carry on",
    )
    # The test's own app keeps its pool: connections the restart closes are never handed out.
    restart_began = datetime.now(UTC)
    assert _executions(pg_workspace) < JOBS, "the run ended before the restart: nothing tested"
    cluster.ctl("restart")
    cluster.wait_ready()
    assert all(worker.alive for worker in survivors), "a worker died with the database"

    wait_until(lambda: _succeeded(pg_app), timeout=240, what=f"all {JOBS} jobs to succeed")

    jobs = all_jobs(pg_app)
    _check_outcomes(jobs, ids)
    worker_of = {proc.pid: worker_id for worker_id, proc in workers.items()}
    _check_executions(jobs, pg_workspace.executions(), worker_of, victim.pid, restart_began)
    blamed_on_victim = {
        job.id for job in jobs.values() if any(_blames(e, victim_id) for e in job.errors)
    }
    assert blamed_on_victim == held_at_kill, "the attempts lost to the kill are those it held"
    _check_survivors(survivors)


def _blames(error: AttemptError, worker_id: str) -> bool:
    return error.type == "WorkerLostError" and f"worker {worker_id} " in error.message


def _check_outcomes(jobs: dict[int, Job], ids: set[int]) -> None:
    """None lost, none left running, each with its own result."""
    assert set(jobs) == ids
    assert {job.state for job in jobs.values()} == {JobState.SUCCEEDED}
    assert all(job.result == cast(int, job.args[0]) + 1 for job in jobs.values())
    # `add` never raises: every failed attempt is a lost one.
    assert {error.type for job in jobs.values() for error in job.errors} <= {"WorkerLostError"}


def _check_executions(
    jobs: dict[int, Job],
    executions: list[Execution],
    worker_of: dict[int, str],
    victim_pid: int,
    restart_began: datetime,
) -> None:
    """Every job ran; a job ran again only after an attempt of it was lost, and each lost attempt
    is blamed on the worker that ran it: the killed one, or a survivor cut off by the restart."""
    runs = _by_job(executions)
    assert set(runs) == set(jobs), "every job ran"
    for job_id, job_runs in runs.items():
        job = jobs[job_id]
        attempts = [run.attempt for run in job_runs]
        assert len(set(attempts)) == len(attempts), f"job {job_id} ran one attempt twice"
        assert max(attempts) == job.attempts, (job, job_runs)
        if len(job_runs) > 1:
            assert job.attempts > 1 or victim_pid in {run.pid for run in job_runs}
        lost = {error.attempt: error for error in job.errors}
        for run in job_runs:
            if run.attempt == job.attempts:
                continue  # the attempt whose outcome stands
            error = lost.get(run.attempt)
            assert error is not None, f"job {job_id} ran again though attempt {run.attempt} stood"
            assert _blames(error, worker_of[run.pid]), (error, run)
            if run.pid != victim_pid:
                # A survivor's outcome fenced off: its lease ran out during the outage.
                assert error.at >= restart_began, (error, run)


def _check_survivors(survivors: list[Proc]) -> None:
    """The surviving workers noticed the outage, rode it out, and still stop cleanly."""
    for worker in survivors:
        assert worker.alive, worker.stderr()[-3000:]
        levels = {json.loads(line)["level"] for line in worker.stderr().splitlines() if line}
        assert "warning" in levels, f"{worker.name} never noticed the restart"
        worker.signal(signal.SIGTERM)
    for worker in survivors:
        assert worker.wait_exit(30) == 0, worker.stderr()[-3000:]
        assert "Traceback" not in worker.stderr(), worker.stderr()[-3000:]
