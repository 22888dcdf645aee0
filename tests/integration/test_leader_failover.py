"""Maintenance leadership moves when its holder dies: two real workers on one PostgreSQL schema,
the leader is SIGKILLed, the survivor takes the lease once it has expired (never before, never two
holders), and then reaps the dead worker's jobs so they run again."""

from __future__ import annotations

import signal
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from acceptance._harness import (
    Proc,
    Workspace,
    all_jobs,
    error_types,
    wait_all_terminal,
    wait_until,
)
from acceptance.fixtures import tasksmod
from workhorse import JobState, Workhorse
from workhorse.backends import base as b
from workhorse.scheduling.maintenance import LEADER_NAME, MaintenanceConfig

LEADER_TTL = MaintenanceConfig().leader_ttl
TAKEOVER_WITHIN = 15.0
CONCURRENCY = 2
JOB_SECONDS = 2.0
LEASE = "3"


@dataclass(frozen=True, slots=True)
class Sighting:
    """One read of the leaders table: when, and every (name, holder, expires_at) row."""

    at: datetime
    rows: tuple[tuple[str, str, datetime], ...]

    @property
    def maintenance(self) -> list[tuple[str, datetime]]:
        """(holder, expires_at) of each maintenance lease row: one at most, or two leaders."""
        return [(holder, expires) for name, holder, expires in self.rows if name == LEADER_NAME]

    @property
    def holder(self) -> str | None:
        return self.maintenance[0][0] if self.maintenance else None

    @property
    def expires_at(self) -> datetime:
        [(_, expires)] = self.maintenance
        return expires


class LeaderWatch:
    """Reads the leaders table every ``interval`` seconds on its own connection, in a thread."""

    def __init__(self, url: str, interval: float = 0.05) -> None:
        self._url = url
        self._interval = interval
        self._stop = threading.Event()
        self.sightings: list[Sighting] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="leader-watch", daemon=True)

    def __enter__(self) -> LeaderWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def held_by(self, *holders: str) -> Sighting | None:
        """The latest sighting, if one of ``holders`` holds the maintenance lease in it."""
        latest = self.sightings[-1] if self.sightings else None
        return latest if latest is not None and latest.holder in holders else None

    def _run(self) -> None:
        try:
            with psycopg.connect(self._url, autocommit=True) as conn:
                while not self._stop.is_set():
                    rows = conn.execute(
                        "SELECT name, holder, expires_at FROM workhorse_leaders ORDER BY name"
                    ).fetchall()
                    self.sightings.append(Sighting(datetime.now(UTC), tuple(rows)))
                    self._stop.wait(self._interval)
        except BaseException as exc:
            self.error = exc


def _leader_row(url: str) -> tuple[str, datetime]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT holder, expires_at FROM workhorse_leaders WHERE name = %s", [LEADER_NAME]
        ).fetchone()
    assert row is not None, "nobody holds the maintenance lease"
    return row[0], row[1]


def _leader_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM workhorse_leaders WHERE name = %s", [LEADER_NAME]
        ).fetchone()
    assert row is not None
    return int(row[0])


def _running_by_worker(app: Workhorse) -> Counter[str | None]:
    return Counter(job.worker_id for job in app.list_jobs(states=[JobState.RUNNING]))


def _holders(watch: LeaderWatch) -> list[str | None]:
    """The successive holders seen, each run of equal sightings counted once."""
    seen: list[str | None] = []
    for sighting in watch.sightings:
        if not seen or seen[-1] != sighting.holder:
            seen.append(sighting.holder)
    return seen


def test_leader_failover_and_reaping(pg_workspace: Workspace) -> None:
    url = pg_workspace.db_url
    app = tasksmod.app
    app.close()
    app.database_url = url
    try:
        _run_failover(pg_workspace, app, url)
    finally:
        app.close()


def _run_failover(space: Workspace, app: Workhorse, url: str) -> None:
    options = ("--concurrency", str(CONCURRENCY), "--lease", LEASE)
    workers: dict[str, Proc] = {
        worker_id: space.start_worker("--id", worker_id, *options, name=worker_id)
        for worker_id in ("alpha", "bravo")
    }

    with LeaderWatch(url) as watch:
        wait_until(
            lambda: _registered(app) == set(workers),
            timeout=30,
            what="both workers to register",
        )
        first = wait_until(
            lambda: watch.held_by(*workers),
            timeout=30,
            what="a worker to take the maintenance lease",
        )
        leader_id = first.holder
        assert leader_id is not None
        survivor_id = next(worker_id for worker_id in workers if worker_id != leader_id)
        leader, survivor = workers[leader_id], workers[survivor_id]

        # Both workers fill their slots, so the leader holds jobs when it dies.
        handles = app.enqueue_many(
            [tasksmod.work.prepare(JOB_SECONDS) for _ in range(2 * CONCURRENCY)]
        )
        wait_until(
            lambda: _running_by_worker(app) == {leader_id: CONCURRENCY, survivor_id: CONCURRENCY},
            timeout=30,
            what="each worker to fill its slots",
        )
        held_by_leader = {
            job.id for job in app.list_jobs(states=[JobState.RUNNING]) if job.worker_id == leader_id
        }

        leader.signal(signal.SIGKILL)
        assert leader.wait_exit(10) == -signal.SIGKILL
        killed_at = datetime.now(UTC)
        holder, final_expiry = _leader_row(url)
        assert holder == leader_id, "the dead leader's lease outlives it until it expires"

        takeover = wait_until(
            lambda: watch.held_by(survivor_id),
            timeout=TAKEOVER_WITHIN + 5,
            what=f"{survivor_id} to take over the maintenance lease",
        )
        jobs = wait_all_terminal(app, len(handles), timeout=60)

    assert watch.error is None, f"the leader watch failed: {watch.error!r}"
    # One row per name, and the lease passed once, from the dead leader to the survivor.
    assert watch.sightings, "the leaders table was read"
    assert all(len(s.maintenance) <= 1 for s in watch.sightings)
    holders = _holders(watch)
    assert holders in ([None, leader_id, survivor_id], [leader_id, survivor_id]), holders
    assert (takeover.at - killed_at).total_seconds() < TAKEOVER_WITHIN
    # The survivor took the lease only after the dead leader's had expired.
    assert takeover.expires_at - LEADER_TTL > final_expiry
    assert all(s.holder == leader_id for s in watch.sightings if first.at <= s.at < killed_at), (
        "the lease stayed with the leader while it lived"
    )

    assert {job.state for job in jobs.values()} == {JobState.SUCCEEDED}
    done = space.executions()
    assert {e.pid for e in done} == {survivor.pid}, "the killed worker finished nothing"
    assert sorted(e.job_id for e in done) == sorted(jobs), "each job ran to completion once"
    for job_id, job in jobs.items():
        if job_id not in held_by_leader:
            assert (job.attempts, job.errors) == (1, []), job
            continue
        # Reaped by the new leader (after the old lease expired), retried, run by the survivor.
        assert job.attempts == 2
        assert error_types(job) == ["WorkerLostError"]
        [error] = job.errors
        assert error.attempt == 1
        assert f"worker {leader_id} " in error.message
        assert error.at > final_expiry
        assert [(e.attempt, e.pid) for e in done if e.job_id == job_id] == [(2, survivor.pid)]
    assert set(all_jobs(app)) == {handle.id for handle in handles}

    assert survivor.alive
    survivor.signal(signal.SIGTERM)
    assert survivor.wait_exit(20) == 0
    assert _leader_count(url) == 0, "a worker stopping gracefully resigns its lease"


def _registered(app: Workhorse) -> set[str]:
    """Ids of the workers in the registry."""
    return {worker.id for worker in app.backend.worker_list(b.WorkerListParams())}
