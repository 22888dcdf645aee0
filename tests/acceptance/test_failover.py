"""A real failover under load: a primary with a synchronous streaming standby (private clusters,
``tests/pgprivate.py``), three workers and the API on a multi-host URL, clients enqueueing
through Python and HTTP at 200 jobs/s each. The primary is stopped and the standby promoted; the
same load rides out a plain ``pg_ctlcluster restart`` too.

Debian's ``pg_createcluster`` and ``pg_basebackup`` rather than Patroni: Patroni needs a
consensus store (etcd) and runs its own loop, so a test could not decide when the primary goes
and the standby is promoted; what Workhorse must handle (a primary that vanishes, another that
takes over) is the same either way.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pgprivate import Cluster, failover_url, primary_and_standby, private_cluster
from workhorse import JobState, Workhorse

from ._failover import Outcome, run_cut
from ._harness import Workspace, state_counts, wait_all_terminal, wait_until
from .fixtures import tasksmod

BEFORE = 3.0
"""Seconds of load before the cut."""
AFTER = 8.0
"""Seconds of load after it."""


@contextmanager
def _workspace(tmp_path: Path, url: str) -> Iterator[Workspace]:
    space = Workspace(tmp_path)
    space.db_url = url
    try:
        migrated = space.cli("migrate")
        assert migrated.returncode == 0, migrated.stderr
        yield space
    finally:
        space.close()


@pytest.fixture
def pair() -> Iterator[list[Cluster]]:
    with primary_and_standby(synchronous=True) as clusters:
        yield clusters


@pytest.fixture
def single() -> Iterator[Cluster]:
    with private_cluster() as cluster:
        yield cluster


@pytest.fixture
def client_app() -> Iterator[Workhorse]:
    tasksmod.app.close()
    try:
        yield tasksmod.app
    finally:
        tasksmod.app.close()


def _check(outcome: Outcome) -> None:
    """Nothing acknowledged lost, every job succeeded (``run_cut`` waited for that), failures
    only around the cut, and a bounded recovery."""
    assert outcome.jobs_per_second >= 200, outcome.jobs_per_second
    assert outcome.lost == 0
    assert outcome.recovery_seconds < 30, outcome.recovery_seconds
    window_end = outcome.cut + outcome.recovery_seconds
    for call in outcome.calls:
        if call.error:
            assert outcome.cut <= call.ended and call.started <= window_end, call
    # Only jobs held at the cut run twice: their lease ran out during the outage.
    assert outcome.duplicated_not_lost == 0
    assert outcome.duplicates <= 3 * 40, "more than 3 workers x (20 running + 20 prefetched)"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_promoting_a_synchronous_standby_loses_nothing(
    pair: list[Cluster], client_app: Workhorse, tmp_path: Path
) -> None:
    primary, standby = pair
    url = failover_url(pair)
    with _workspace(tmp_path, url) as space:
        client_app.database_url = url

        def cut() -> None:
            primary.ctl("stop", "-m", "immediate")  # as a crash: no WAL sent at shutdown
            standby.ctl("promote")

        _check(run_cut(space, client_app, cut, before=BEFORE, after=AFTER))


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_restart_under_load_loses_nothing(
    single: Cluster, client_app: Workhorse, tmp_path: Path
) -> None:
    url = single.url("jobs")
    with _workspace(tmp_path, url) as space:
        client_app.database_url = url
        _check(
            run_cut(space, client_app, lambda: single.ctl("restart"), before=BEFORE, after=AFTER)
        )


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_jobs_running_through_an_outage_finish_on_their_first_attempt(
    single: Cluster, client_app: Workhorse, tmp_path: Path
) -> None:
    """An outage longer than a call's budget: the running jobs go on, their outcomes are written
    once the server is back, and the worker logs the database going and coming back."""
    url = single.url("jobs")
    with _workspace(tmp_path, url) as space:
        client_app.database_url = url
        ids = [tasksmod.slow_async.enqueue(4).id for _ in range(5)]
        worker = space.start_worker("--concurrency", "5", name="worker")
        wait_until(
            lambda: state_counts(client_app)[JobState.RUNNING] == 5,
            timeout=30,
            what="the jobs to run",
        )
        single.ctl("stop", "-m", "fast")
        time.sleep(7)  # longer than the 5 s a call waits for the database
        single.ctl("start")
        jobs = wait_all_terminal(client_app, len(ids), timeout=60)
        assert {(job.state, job.attempts) for job in jobs.values()} == {(JobState.SUCCEEDED, 1)}
        worker.signal(signal.SIGTERM)
        assert worker.wait_exit(30) == 0, worker.stderr()[-3000:]
        logged = worker.stderr()
        assert "is unreachable" in logged and "is reachable again after" in logged
        assert "Traceback" not in logged
