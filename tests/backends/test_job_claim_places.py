"""job_claim's places: one row per (queue, tenant) with queued work, kept as work arrives, is
claimed, drains, returns, and as tenants are paused or reach a quota. A claim reads only the front
of the order, so these tests put many tenants ahead of the one that matters."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from datetime import UTC
from typing import Any

import psycopg
import pytest

from pgtest import postgres_schema
from workhorse.backends import base as b
from workhorse.backends import open_backend
from workhorse.backends.claiming import (
    FRONT_EXTRA,
    FRONT_START,
    Place,
    Running,
    Settled,
    TenantRow,
)
from workhorse.backends.postgres.claims import FRONT_LOCKS, PostgresClaims
from workhorse.backends.postgres.connecting import parse_url
from workhorse.backends.postgres.statements import QUERIES, PostgresTx
from workhorse.tenants import Tenant

from .support import T0, Jobs, at, new_job, success

AHEAD = 20
"""Tenants put ahead of the one a test watches: more than one front read holds."""


@contextmanager
def _sql(url: str) -> Iterator[Any]:
    """A raw connection to the test's store, to look at the places table."""
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            yield conn
    else:
        with psycopg.connect(parse_url(url).conninfo, autocommit=True) as conn:
            yield conn


def _places(url: str) -> dict[tuple[str, str], bool]:
    """Every place, as (queue, tenant) -> whether it is held."""
    with _sql(url) as conn:
        found = conn.execute("SELECT queue, tenant, held_until FROM workhorse_places").fetchall()
    return {(queue, tenant): held is not None for queue, tenant, held in found}


def _enqueue(jobs: Jobs, tenant: str, count: int = 1, **fields: Any) -> list[int]:
    inserted = jobs.insert_many([new_job(T0, tenant=tenant, **fields) for _ in range(count)])
    return [row.id for row in inserted]


def _configure(jobs: Jobs, name: str, **fields: Any) -> None:
    params = b.TenantUpsertParams(tenant=Tenant(name=name, **fields), now=T0)
    jobs.backend.tenant_upsert(params)


def test_an_arrival_gets_a_place_and_a_drained_tenant_loses_it(
    jobs: Jobs, backend_url: str
) -> None:
    _enqueue(jobs, "acme", 2)
    _enqueue(jobs, "acme", 1, queue="reports")
    assert _places(backend_url) == {("default", "acme"): False, ("reports", "acme"): False}
    assert len(jobs.claim(limit=1)) == 1
    assert ("default", "acme") in _places(backend_url), "one job is left"
    assert len(jobs.claim(limit=5)) == 1
    assert _places(backend_url) == {("reports", "acme"): False}


def test_a_tenant_that_drained_and_enqueues_again_is_claimed(jobs: Jobs) -> None:
    _enqueue(jobs, "acme")
    assert len(jobs.claim()) == 1
    [again] = _enqueue(jobs, "acme")
    assert [job.id for job in jobs.claim(now=at(1))] == [again]


def test_a_job_released_back_to_a_drained_queue_is_claimed_again(jobs: Jobs) -> None:
    job = jobs.running()
    params = b.JobReleaseParams(ids=[job.id], lease_token_by_id={job.id: job.lease_token}, now=T0)
    assert jobs.backend.job_release(params)
    assert [again.id for again in jobs.claim(now=at(1))] == [job.id]


def test_a_promoted_job_gets_a_place(jobs: Jobs, backend_url: str) -> None:
    [job_id] = _enqueue(jobs, "acme", run_at=at(10))
    assert _places(backend_url) == {}
    jobs.backend.job_promote(b.JobPromoteParams(now=at(10), limit=10))
    assert [job.id for job in jobs.claim(now=at(10))] == [job_id]


def test_paused_tenants_ahead_are_held_off_the_front(jobs: Jobs, backend_url: str) -> None:
    for index in range(AHEAD):
        _configure(jobs, f"a{index:02}", paused=True)
        _enqueue(jobs, f"a{index:02}")
    _enqueue(jobs, "zz")
    assert [job.tenant for job in jobs.claim(limit=1)] == ["zz"]
    held = {tenant for (_, tenant), is_held in _places(backend_url).items() if is_held}
    assert held == {f"a{index:02}" for index in range(AHEAD)}
    _configure(jobs, "a07", paused=False)
    assert [job.tenant for job in jobs.claim(limit=1, now=at(1))] == ["a07"]


def test_tenants_at_max_running_are_held_until_an_attempt_ends(jobs: Jobs) -> None:
    for index in range(AHEAD):
        _configure(jobs, f"t{index:02}", max_running=1)
        _enqueue(jobs, f"t{index:02}", 2)
    first = [job for step in range(AHEAD) for job in jobs.claim(limit=1, now=at(step / 100))]
    assert Counter(job.tenant for job in first) == {f"t{i:02}": 1 for i in range(AHEAD)}
    assert jobs.claim(limit=AHEAD, now=at(1)) == []
    jobs.finish(success(first[5]), now=at(2))
    assert [job.tenant for job in jobs.claim(limit=AHEAD, now=at(2))] == [first[5].tenant]


@pytest.mark.postgres_only
def test_only_a_tenant_whose_place_is_held_is_marked_and_its_finish_clears_the_mark(
    jobs: Jobs, backend_url: str
) -> None:
    """PostgreSQL runs the release trigger on a usage change only for a tenant marked as holding
    places: the claim that holds a quota tenant's place marks it, and the finish that releases
    the place clears the mark. A tenant without a quota is never marked. (SQLite runs its
    release trigger on every change.)"""
    _configure(jobs, "capped", max_running=1)
    _enqueue(jobs, "capped", 2)
    _enqueue(jobs, "free", 2)
    first = jobs.claim(limit=4)
    assert Counter(job.tenant for job in first) == {"capped": 1, "free": 2}

    def marks() -> dict[str, bool]:
        with _sql(backend_url) as conn:
            return dict(conn.execute("SELECT name, holds FROM workhorse_tenants").fetchall())

    assert _places(backend_url) == {("default", "capped"): True}
    assert marks() == {"capped": True}
    jobs.finish(*(success(job) for job in first), now=at(1))
    assert _places(backend_url) == {("default", "capped"): False}
    assert marks() == {"capped": False, "free": False}
    assert [job.tenant for job in jobs.claim(limit=4, now=at(1))] == ["capped"]


def test_a_tenant_out_of_rate_tokens_comes_back_when_one_refills(jobs: Jobs) -> None:
    _configure(jobs, "metered", rate=1.0, burst=1.0)
    _enqueue(jobs, "metered", 3)
    assert len(jobs.claim(limit=5)) == 1
    assert jobs.claim(limit=5, now=at(0.5)) == []
    assert len(jobs.claim(limit=5, now=at(1))) == 1


def test_new_tenants_a_claim_had_no_slot_for_are_served_by_the_next_one(jobs: Jobs) -> None:
    """New tenants, all alike: a claim reads more of them than it has slots for, and leaves the
    places of those it could not serve at the front, where the next claim serves them, in the
    order of their arrival; it does not write them behind every other new place."""
    tenants = [f"t{i:03}" for i in range(100)]
    jobs.insert_many([new_job(T0, tenant=name) for name in tenants for _ in range(2)])
    assert sorted(_tenants_of(jobs.claim(limit=10))) == tenants[:10]
    assert sorted(_tenants_of(jobs.claim(limit=10, now=at(1)))) == tenants[10:20]


def test_a_late_tenant_is_served_by_the_next_claim(jobs: Jobs) -> None:
    tenants = 200
    jobs.insert_many([new_job(T0, tenant=f"t{i:03}") for i in range(tenants) for _ in range(3)])
    for step in range(5):
        assert len(jobs.claim(limit=10, now=at(step))) == 10
    _enqueue(jobs, "late")
    assert "late" in {job.tenant for job in jobs.claim(limit=10, now=at(6))}


def test_a_claim_of_many_tenants_serves_each_before_any_twice(jobs: Jobs) -> None:
    tenants = 3 * (10 + FRONT_EXTRA)
    jobs.insert_many([new_job(T0, tenant=f"t{i:03}") for i in range(tenants) for _ in range(2)])
    served = [job.tenant for step in range(3) for job in jobs.claim(limit=10, now=at(step))]
    assert len(served) == len(set(served)) == 30


def test_a_claim_never_removes_the_place_of_an_enqueue_not_yet_committed() -> None:
    """PostgreSQL: an enqueue in the caller's open transaction holds its place; a claim that
    drains the tenant meanwhile neither waits for it nor removes the place."""
    with postgres_schema() as url, closing(open_backend(url, auto_migrate=True)) as backend:
        jobs = Jobs(backend)
        _enqueue(jobs, "acme")
        with psycopg.connect(url) as conn:
            new = [new_job(T0, tenant="acme")]
            params = b.JobInsertManyParams(jobs=new, now=T0, connection=conn)
            [pending] = backend.job_insert_many(params)
            assert len(jobs.claim(limit=5)) == 1, "the claim did not wait for the enqueue"
            conn.commit()
        assert [job.id for job in jobs.claim(limit=5, now=at(1))] == [pending.id]


def test_a_claim_passes_a_front_another_claimer_holds() -> None:
    """PostgreSQL: another claimer, mid-claim, holds the jobs and the places of the tenants at
    the front; a claim takes the jobs of the tenants that follow instead of reading the same
    front again and coming back empty (a burst worker would stop with work queued)."""
    with postgres_schema() as url, closing(open_backend(url, auto_migrate=True)) as backend:
        jobs = Jobs(backend)
        jobs.insert_many([new_job(T0, tenant=f"t{i:03}") for i in range(100)])
        held = [f"t{i:03}" for i in range(10 + FRONT_EXTRA)]  # a claim of 10 reads these first
        with psycopg.connect(parse_url(url).conninfo) as other:
            other.execute(
                "SELECT 1 FROM workhorse_jobs_live WHERE tenant = ANY(%s) FOR UPDATE", [held]
            )
            other.execute(
                "SELECT 1 FROM workhorse_places WHERE tenant = ANY(%s) FOR UPDATE", [held]
            )
            claimed = jobs.claim(limit=10)
            other.rollback()
        assert len(claimed) == 10
        assert not {job.tenant for job in claimed} & set(held)


def _reserved(conn: psycopg.Connection[Any], pid: int) -> int:
    """Places the claim on the connection of ``pid`` holds reserved (claim_places_reserving's
    advisory locks)."""
    query = (
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 7216 AND pid = %s"
    )
    row = conn.execute(query, [pid]).fetchone()
    assert row is not None
    return int(row[0])


def _front(conn: psycopg.Connection[Any], front: int) -> list[str]:
    """The tenants of a reserving front read in ``conn``'s open transaction (its reservations
    held until it ends)."""
    store = PostgresClaims(PostgresTx(conn), reserve=True)
    return [p.row.name for p in store.places(["default"], front, T0, FRONT_START)]


def test_a_claimer_reserves_its_places_once_it_met_another_at_a_full_front(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL: a worker's claims reserve the places they read once a claim met another
    claimer (here: jobs of the front's tenants locked) at a front longer than its read, and stop
    once a read comes back short. A lone claimer, or claimers of fewer tenants than a claim reads,
    keep the plain read, which is the cheaper."""
    reads: list[str] = []
    built = PostgresTx.built

    def record(tx: PostgresTx, name: str, *args: Any) -> Any:
        reads.append(name)
        return built(tx, name, *args)

    monkeypatch.setattr(PostgresTx, "built", record)
    with postgres_schema() as url, closing(open_backend(url, auto_migrate=True)) as backend:
        jobs = Jobs(backend)
        tenants = [f"t{i:03}" for i in range(40)]
        jobs.insert_many([new_job(T0, tenant=name) for name in tenants for _ in range(2)])
        assert len(jobs.claim(limit=10)) == 10
        assert len(jobs.claim(limit=10)) == 10
        assert set(reads) == {"claim_places"}, "a lone claimer reserved"
        reads.clear()
        with psycopg.connect(parse_url(url).conninfo) as other:
            other.execute(
                "SELECT 1 FROM workhorse_jobs_live WHERE tenant = ANY(%s) FOR UPDATE", [tenants]
            )
            assert jobs.claim(limit=10) == []  # every job held by the other
            other.rollback()
        assert set(reads) == {"claim_places"}
        reads.clear()
        assert len(jobs.claim(limit=10)) == 10
        assert reads == ["claim_places_reserving"]
        reads.clear()
        jobs.claim(limit=100)  # every tenant's place, fewer than the front asks for
        jobs.claim(limit=100)
        assert reads == ["claim_places_reserving", "claim_places"]


def test_two_claimers_at_once_read_different_places() -> None:
    """PostgreSQL: a claim reserves the places it reads until it commits; another claim meanwhile
    reads the places that follow (it serves other tenants, and neither finds the other's jobs
    locked nor skips the other's places when settling). Once the first commits, its places are
    free again."""
    with postgres_schema() as url, closing(open_backend(url, auto_migrate=True)) as backend:
        tenants = [f"t{i:03}" for i in range(100)]
        Jobs(backend).insert_many([new_job(T0, tenant=name) for name in tenants])
        conninfo = parse_url(url).conninfo
        with psycopg.connect(conninfo) as a, psycopg.connect(conninfo) as b:
            assert _front(a, 18) == tenants[:18]
            assert _reserved(b, a.info.backend_pid) == 19  # one more than the front, in order
            assert _front(b, 18) == tenants[19:37]
            a.commit()
            b.rollback()
            assert _front(b, 18) == tenants[:18]


def test_a_claimer_of_a_few_tenants_reads_the_places_another_reserved() -> None:
    """PostgreSQL: with fewer free places than its front, a claim reads the places other claimers
    reserved as well, after its own, instead of coming back with too few: two workers serving
    three tenants both serve all three (their jobs are taken with SKIP LOCKED)."""
    with postgres_schema() as url, closing(open_backend(url, auto_migrate=True)) as backend:
        jobs = Jobs(backend)
        for name in ("a", "b", "c"):
            _enqueue(jobs, name, 5)
        conninfo = parse_url(url).conninfo
        with psycopg.connect(conninfo) as a, psycopg.connect(conninfo) as b:
            assert _front(a, 18) == ["a", "b", "c"]
            assert _front(b, 18) == ["a", "b", "c"]
            assert _reserved(a, b.info.backend_pid) == 0
            a.rollback()
            b.rollback()


def test_a_claim_reserves_no_more_places_than_its_bound() -> None:
    """PostgreSQL: a claim of more jobs than FRONT_LOCKS places reserves that many, and reads the
    rest of its front among the places other claimers reserved: the shared lock table is never
    filled by a few large claims."""
    with postgres_schema() as url, closing(open_backend(url, auto_migrate=True)) as backend:
        tenants = [f"t{i:03}" for i in range(300)]
        Jobs(backend).insert_many([new_job(T0, tenant=name) for name in tenants])
        conninfo = parse_url(url).conninfo
        front = FRONT_LOCKS + 36
        with psycopg.connect(conninfo) as a, psycopg.connect(conninfo) as b:
            assert _front(a, front) == tenants[:front]
            assert _reserved(b, a.info.backend_pid) == FRONT_LOCKS
            second = _front(b, front)
            assert _reserved(a, b.info.backend_pid) == FRONT_LOCKS
            # Its own first (those that follow a's), then the best of the others: a's.
            own = tenants[FRONT_LOCKS : 2 * FRONT_LOCKS]
            assert sorted(second) == sorted(own + tenants[: front - FRONT_LOCKS])
            a.rollback()
            b.rollback()


def test_deployments_sharing_a_database_do_not_reserve_each_others_places() -> None:
    """PostgreSQL: advisory locks are the database's; two schemas with the same queue and tenant
    names each reserve their own places."""
    with postgres_schema() as one, postgres_schema() as two:
        for url in (one, two):
            with closing(open_backend(url, auto_migrate=True)) as backend:
                Jobs(backend).insert_many([new_job(T0, tenant=f"t{i}") for i in range(5)])
        with psycopg.connect(parse_url(one).conninfo) as a:
            with psycopg.connect(parse_url(two).conninfo) as b:
                assert _front(a, 4) == ["t0", "t1", "t2", "t3"]
                assert _front(b, 4) == ["t0", "t1", "t2", "t3"]
                assert _reserved(a, b.info.backend_pid) == 5
                b.rollback()
            a.rollback()


def _positions(url: str) -> dict[str, float]:
    """Every place's position in the fair order, by tenant."""
    with _sql(url) as conn:
        found = conn.execute("SELECT tenant, place FROM workhorse_places").fetchall()
    return dict(found)


def _serve_each_once(jobs: Jobs, tenants: list[str], ran: float) -> None:
    """Claim one job of each tenant at T0 and finish it ``ran`` seconds later."""
    claimed = jobs.claim(limit=len(tenants))
    assert sorted(job.tenant for job in claimed) == tenants
    jobs.finish(*[success(job) for job in claimed], now=at(ran))


def test_a_tenant_given_no_slot_keeps_its_place_near_its_turn(jobs: Jobs, backend_url: str) -> None:
    """A claim that gives a tenant no slot leaves its place unlocked when it stands near its
    tenant's usage: the claimer that took the tenant's last job may be removing it."""
    tenants = ["a", "b", "c"]
    for name in tenants:
        _enqueue(jobs, name, 3)
    _serve_each_once(jobs, tenants, ran=0.001)  # as long as expected
    before = _positions(backend_url)
    assert _tenants_of(jobs.claim(limit=1, now=at(0.002))) == {"a": 1}
    after = _positions(backend_url)
    assert after["a"] > before["a"]
    assert (after["b"], after["c"]) == (before["b"], before["c"])


def test_a_place_whose_hold_ended_leaves_the_held_range_though_given_no_slot(
    jobs: Jobs, backend_url: str
) -> None:
    """A place read from the range of ended holds is written even when its tenant gets no slot
    and stands near its turn: left there, enough of them would fill that range's reads, and the
    places behind them would never be read again."""
    tenants = ["a", "b", "x"]
    for name in tenants:
        _enqueue(jobs, name, 3)
    _serve_each_once(jobs, tenants, ran=0.001)
    ended = at(-1)
    with _sql(backend_url) as conn:
        value = ended.timestamp() if backend_url.startswith("sqlite") else ended
        sql = "UPDATE workhorse_places SET held_until = %s WHERE tenant = 'x'"
        conn.execute(sql.replace("%s", "?") if backend_url.startswith("sqlite") else sql, [value])
        if backend_url.startswith("sqlite"):
            conn.commit()
    assert _places(backend_url)[("default", "x")]
    assert _tenants_of(jobs.claim(limit=1, now=at(0.002))) == {"a": 1}
    assert not _places(backend_url)[("default", "x")]


def test_a_tenant_given_no_slot_moves_back_when_it_used_far_more_than_its_place_says(
    jobs: Jobs, backend_url: str
) -> None:
    """Jobs that ran far longer than expected: the places of the tenants a claim passes over
    move back, so they cannot crowd the front."""
    tenants = ["a", "b", "c"]
    for name in tenants:
        _enqueue(jobs, name, 3)
    _serve_each_once(jobs, tenants, ran=1.0)  # a thousand times the expected cost
    before = _positions(backend_url)
    assert len(jobs.claim(limit=1, now=at(1.0))) == 1
    after = _positions(backend_url)
    assert all(after[name] > before[name] for name in tenants)


def test_a_claim_leaves_alone_the_place_of_a_tenant_whose_jobs_another_claimer_holds() -> None:
    """PostgreSQL: another claimer, mid-claim, holds a tenant's last job. A claim that finds
    none of the tenant's jobs does not move its place; once the other claimer has taken the job,
    the next claim removes the place."""
    with postgres_schema() as url, closing(open_backend(url, auto_migrate=True)) as backend:
        jobs = Jobs(backend)
        [last] = _enqueue(jobs, "acme")
        _enqueue(jobs, "globex", 3)
        before = _positions(url)
        with psycopg.connect(parse_url(url).conninfo) as other:
            other.execute("SELECT 1 FROM workhorse_jobs_live WHERE id = %s FOR UPDATE", [last])
            assert _tenants_of(jobs.claim(limit=2)) == {"globex": 2}
            assert _positions(url)["acme"] == before["acme"]
            other.execute(
                "UPDATE workhorse_jobs_live SET state = 'running', started_at = %s WHERE id = %s",
                [T0, last],
            )
            other.commit()
        jobs.claim(limit=2, now=at(1))
        assert "acme" not in _positions(url)


def _served(front: Place, *, vanished: bool = False) -> Settled:
    """``front`` settled by a claim that took jobs of its tenant (or, ``vanished``, found none):
    moved back by one, its queue to be checked."""
    return Settled(
        queue=front.queue,
        tenant=front.row.name,
        arrivals=front.arrivals,
        place=front.place + 1.0,
        held_until=None,
        emptied=True,
        vanished=vanished,
    )


def test_the_settle_does_not_lock_a_vanished_place_whose_queue_still_holds_a_job() -> None:
    """PostgreSQL, the settle statement inside an open claim transaction: a place marked
    vanished whose queue still holds a (locked) job is not locked, so the claimer holding that
    job can remove the place when it settles; the same place not marked vanished is locked."""
    with postgres_schema() as url, closing(open_backend(url, auto_migrate=True)) as backend:
        jobs = Jobs(backend)
        [last] = _enqueue(jobs, "acme")
        conninfo = parse_url(url).conninfo
        with (
            psycopg.connect(conninfo) as holder,
            psycopg.connect(conninfo) as claimer,
            psycopg.connect(conninfo, autocommit=True) as probe,
        ):
            holder.execute("SELECT 1 FROM workhorse_jobs_live WHERE id = %s FOR UPDATE", [last])
            store = PostgresClaims(PostgresTx(claimer))
            [front] = store.places(["default"], 10, T0, FRONT_START)
            for vanished, lockable in [(True, True), (False, False)]:
                settled = _served(front, vanished=vanished)
                store.places_settle([settled])
                try:
                    probe.execute(
                        "SELECT 1 FROM workhorse_places WHERE tenant = 'acme' FOR UPDATE NOWAIT"
                    )
                    locked = False
                except psycopg.errors.LockNotAvailable:
                    locked = True
                assert locked is not lockable, f"vanished={vanished}"
            claimer.rollback()
            holder.rollback()


def test_a_place_two_claimers_emptied_together_is_removed_by_the_one_that_skipped_it() -> None:
    """PostgreSQL: claimers A and B each took one of acme's jobs. A settles first: its snapshot
    still shows B's job queued, so it writes the place. B's settle finds the place locked and
    skips it, and answers with it; once both committed, B's recheck removes it when acme's queue
    is empty, and keeps it while a job is queued or if work arrived since it was read."""
    with postgres_schema() as url, closing(open_backend(url, auto_migrate=True)) as backend:
        jobs = Jobs(backend)
        first, second, third = _enqueue(jobs, "acme", 3)
        conninfo = parse_url(url).conninfo
        with (
            psycopg.connect(conninfo) as a,
            psycopg.connect(conninfo) as b,
            psycopg.connect(conninfo, autocommit=True) as after,
        ):
            start = "UPDATE workhorse_jobs SET state = 'running', started_at = %s WHERE id = %s"
            store = PostgresClaims(PostgresTx(after))
            [front] = store.places(["default"], 10, T0, FRONT_START)
            settled = _served(front)
            for conn, job in ((a, first), (b, second)):  # as a take does: locked, then started
                conn.execute("SELECT FROM workhorse_jobs_live WHERE id = %s FOR UPDATE", [job])
                conn.execute(start, [T0, job])
            assert PostgresClaims(PostgresTx(a)).places_settle([settled]) == []
            with b.transaction():
                skipped = PostgresClaims(PostgresTx(b)).places_settle([settled])
            assert skipped == [], "a job queued and free: not looked at again"
            after.execute(start, [T0, third])
            skipped = PostgresClaims(PostgresTx(b)).places_settle([settled])
            assert skipped == [settled]
            a.commit()
            b.commit()
            assert set(_places(url)) == {("default", "acme")}, "A wrote it: a stale place"
            store.places_recheck(skipped)
            assert _places(url) == {}

            [fourth] = _enqueue(jobs, "acme")
            [front] = store.places(["default"], 10, T0, FRONT_START)
            settled = replace(settled, arrivals=front.arrivals)
            store.places_recheck([settled])
            assert set(_places(url)) == {("default", "acme")}, "a job is queued: kept"
            after.execute(start, [T0, fourth])
            _enqueue(jobs, "acme")
            after.execute("UPDATE workhorse_jobs SET state = 'running' WHERE state = 'queued'")
            store.places_recheck([settled])
            assert set(_places(url)) == {("default", "acme")}, "work arrived since: kept"


def test_a_tenant_given_its_last_job_loses_its_place(jobs: Jobs, backend_url: str) -> None:
    _enqueue(jobs, "acme")
    _enqueue(jobs, "globex", 3)
    assert _tenants_of(jobs.claim(limit=2)) == {"acme": 1, "globex": 1}
    assert set(_places(backend_url)) == {("default", "globex")}


def test_claims_never_come_back_empty_while_work_is_queued(jobs: Jobs) -> None:
    """Many tenants, two jobs each: drained places must not pile up at the front (a worker in
    burst mode stops at the first empty claim)."""
    tenants = 30 * (10 + FRONT_EXTRA)
    jobs.insert_many([new_job(T0, tenant=f"t{i:03}") for i in range(tenants) for _ in range(2)])
    claimed = step = 0
    while claimed < 2 * tenants:
        batch = jobs.claim(limit=10, now=at(step))
        assert batch, f"claim {step} found nothing with {2 * tenants - claimed} jobs queued"
        claimed += len(batch)
        step += 1
    assert jobs.claim(limit=10, now=at(step)) == []


def _tenants_of(claimed: list[b.ClaimedJob]) -> Counter[str]:
    return Counter(job.tenant for job in claimed)


def test_many_jobs_queued_again_in_one_statement_write_their_place_once() -> None:
    """PostgreSQL: a promote (or a release of many children) that queues 200 jobs of one place
    bumps its ``arrivals`` once and clears its hold, instead of rewriting the row 200 times."""
    with postgres_schema() as url, closing(open_backend(url, auto_migrate=True)) as backend:
        jobs = Jobs(backend)
        _enqueue(jobs, "acme")
        _enqueue(jobs, "acme", 200, run_at=at(10))
        with _sql(url) as conn:
            conn.execute("UPDATE workhorse_places SET held_until = now(), arrivals = 7")
        backend.job_promote(b.JobPromoteParams(now=at(10), limit=500))
        with _sql(url) as conn:
            rows = conn.execute("SELECT arrivals, held_until FROM workhorse_places").fetchall()
        assert rows == [(8, None)]
        assert len(jobs.claim(limit=500, now=at(10))) == 201


def test_the_front_read_looks_tenants_up_by_key_under_its_generic_plan() -> None:
    """PostgreSQL: the claim reads the front under its generic plan, which cannot see how few
    places it asks for; its tenants must still be looked up one by one, never by reading every
    tenant's row (a hash join over a sequential scan cost 9 ms at 10,000 tenants)."""
    with postgres_schema() as url, closing(open_backend(url, auto_migrate=True)) as backend:
        jobs = Jobs(backend)
        tenants = [f"t{i:04}" for i in range(3000)]
        jobs.insert_many([new_job(T0, tenant=name) for name in tenants])
        with _sql(url) as conn:
            conn.execute(
                "INSERT INTO workhorse_tenants (name, weight, usage_at, created_at, updated_at)"
                " SELECT unnest(%s::text[]), 1, now(), now(), now()",
                [tenants],
            )
            conn.execute("ANALYZE workhorse_tenants")
            conn.execute("ANALYZE workhorse_places")
            conn.execute("SET plan_cache_mode = force_generic_plan")
            params = {
                "queues": ["default"],
                "front": 58,
                "locks": 59,
                "reach": 59 * 8,
                "now": T0,
                "after_place": FRONT_START[0],
                "after_tenant": FRONT_START[1],
                "after_queue": FRONT_START[2],
            }
            plans = {}
            for name in ("claim_places", "claim_places_reserving"):
                cursor = conn.cursor()
                cursor.execute(f"EXPLAIN {QUERIES[name]}", params, prepare=True)
                plans[name] = "\n".join(row[0] for row in cursor.fetchall())
        for plan in plans.values():
            assert "Seq Scan on workhorse_tenants" not in plan, plan
            assert "Index Scan using workhorse_tenants_pkey" in plan, plan
            joins = [line for line in plan.splitlines() if "Hash" in line and "Join" in line]
            assert all("Anti Join" in line for line in joins), plan  # (the reserved places)
        # Places are reserved as the ordered, bounded range is read, never inside it: with any
        # plan of the range, only the places read up to the claim's reservations are locked.
        plan = plans["claim_places_reserving"]
        reserve = plan.index("pg_try_advisory_xact_lock")
        assert plan.index("Limit", reserve) < plan.index("workhorse_places_order", reserve), plan


def test_the_front_read_gives_each_column_to_its_field() -> None:
    """PostgreSQL reads the front's columns in binary, by position: every setting of a tenant,
    its usage and its running jobs land where they belong, and a tenant without a row gets the
    defaults."""
    with postgres_schema() as url, closing(open_backend(url, auto_migrate=True)) as backend:
        jobs = Jobs(backend)
        _configure(jobs, "acme", weight=2.5, max_running=3, rate=1.5, burst=4.0)
        jobs.running(tenant="acme", now=at(-2))  # (its claim spends a token: set them after)
        usage_at, tokens_at = at(-7), at(-3)
        with _sql(url) as conn:
            conn.execute(
                "UPDATE workhorse_tenants SET usage = 6.25, usage_at = %s, mean_cost = 0.5,"
                " tokens = 2.75, tokens_at = %s WHERE name = 'acme'",
                [usage_at, tokens_at],
            )
        _enqueue(jobs, "acme")
        _enqueue(jobs, "zeta")
        with psycopg.connect(parse_url(url).conninfo, autocommit=True) as conn:
            acme, zeta = PostgresClaims(PostgresTx(conn)).places(["default"], 10, T0, FRONT_START)
        assert acme == Place(
            queue="default",
            place=acme.place,
            arrivals=acme.arrivals,
            held=False,
            row=TenantRow(
                name="acme",
                weight=2.5,
                max_running=3,
                rate=1.5,
                burst=4.0,
                paused=False,
                usage=6.25,
                usage_at=usage_at,
                mean_cost=0.5,
                tokens=2.75,
                tokens_at=tokens_at,
            ),
            running=Running(count=1, elapsed=2.0),
        )
        assert acme.row.usage_at is not None
        assert acme.row.usage_at.tzinfo == UTC
        assert zeta.row == TenantRow(name="zeta")
        assert zeta.running == Running(count=0, elapsed=0.0)
