"""idempotency_insert and idempotency_prune: one request's jobs per key and scope, for a while."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import timedelta

from workhorse.backends import Backend
from workhorse.backends import base as b
from workhorse.jobs import JobState
from workhorse.scheduling.pruner import forget_idempotency_keys

from .conftest import OpenStore
from .support import Jobs, at, new_job

DAY = timedelta(hours=24)


def _insert(
    backend: Backend,
    key: str = "k1",
    *,
    scope: str = "acme",
    request_hash: str = "h1",
    jobs: Sequence[b.NewJob] | None = None,
    seconds: float = 0,
) -> b.IdempotencyRecord:
    now = at(seconds)
    return backend.idempotency_insert(
        b.IdempotencyInsertParams(
            scope=scope,
            key=key,
            request_hash=request_hash,
            jobs=[new_job(now)] if jobs is None else jobs,
            now=now,
            expires_at=now + DAY,
        )
    )


def test_idempotency_insert_inserts_the_jobs_once(backend: Backend, jobs: Jobs) -> None:
    first = _insert(backend, jobs=[new_job(task="a"), new_job(task="b")])
    assert not first.replayed
    assert first.request_hash == "h1"
    assert [job.created for job in first.jobs] == [True, True]
    assert [jobs.get(job.id).task for job in first.jobs] == ["a", "b"]
    again = _insert(backend, request_hash="h1", jobs=[new_job(task="c")], seconds=60)
    assert again.replayed
    assert again.request_hash == "h1"
    assert again.jobs == [b.InsertedJob(id=job.id, created=False) for job in first.jobs]
    assert len(jobs.all()) == 2


def test_idempotency_insert_replays_the_first_request_hash_for_another_body(
    backend: Backend, jobs: Jobs
) -> None:
    first = _insert(backend, request_hash="body-1")
    other = _insert(backend, request_hash="body-2", seconds=1)
    assert other.replayed
    assert other.request_hash == "body-1", "the caller compares and refuses (HTTP 409)"
    assert [job.id for job in other.jobs] == [job.id for job in first.jobs]
    assert len(jobs.all()) == 1


def test_idempotency_insert_keys_are_scoped(backend: Backend, jobs: Jobs) -> None:
    acme = _insert(backend, scope="acme", jobs=[new_job(tenant="acme")])
    globex = _insert(backend, scope="globex", jobs=[new_job(tenant="globex")])
    admin = _insert(backend, scope="", jobs=[new_job(tenant="acme")])
    assert not (acme.replayed or globex.replayed or admin.replayed)
    assert len({acme.jobs[0].id, globex.jobs[0].id, admin.jobs[0].id}) == 3
    assert len(jobs.all()) == 3


def test_idempotency_insert_takes_over_an_expired_key(backend: Backend, jobs: Jobs) -> None:
    first = _insert(backend, request_hash="old")
    later = DAY.total_seconds() + 1
    fresh = _insert(backend, request_hash="new", seconds=later)
    assert not fresh.replayed
    assert fresh.jobs[0].id != first.jobs[0].id
    replay = _insert(backend, request_hash="whatever", seconds=later + 1)
    assert replay.replayed
    assert replay.request_hash == "new"
    assert [job.id for job in replay.jobs] == [fresh.jobs[0].id]


def test_idempotency_insert_keeps_unique_key_semantics(backend: Backend, jobs: Jobs) -> None:
    live = jobs.insert(unique_key="nightly")
    record = _insert(backend, jobs=[new_job(unique_key="nightly"), new_job()])
    assert not record.replayed
    assert record.jobs[0] == b.InsertedJob(id=live, created=False)
    assert record.jobs[1].created
    replay = _insert(backend, seconds=1)
    assert [job.id for job in replay.jobs] == [live, record.jobs[1].id]


def test_idempotency_insert_stores_jobs_like_job_insert_many(backend: Backend, jobs: Jobs) -> None:
    scheduled = new_job(at(0), run_at=at(300), queue="slow", priority=7)
    [inserted] = _insert(backend, jobs=[scheduled]).jobs
    job = jobs.get(inserted.id)
    assert (job.state, job.queue, job.priority, job.run_at) == (
        JobState.SCHEDULED,
        "slow",
        7,
        at(300),
    )


def test_idempotency_insert_racing_requests_insert_once(open_store: OpenStore, jobs: Jobs) -> None:
    stores = [open_store() for _ in range(4)]
    start = threading.Barrier(len(stores))
    records: list[b.IdempotencyRecord] = []

    def request(backend: Backend) -> None:
        start.wait(10)
        records.append(_insert(backend, key="race"))

    threads = [threading.Thread(target=request, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(record.replayed for record in records) == [False, True, True, True]
    assert len({record.jobs[0].id for record in records}) == 1
    assert len(jobs.all()) == 1


def test_idempotency_prune_deletes_expired_records_only(backend: Backend, jobs: Jobs) -> None:
    old = _insert(backend, key="old")
    recent = _insert(backend, key="recent", seconds=3600)
    now = at(DAY.total_seconds() + 60)
    assert backend.idempotency_prune(b.IdempotencyPruneParams(now=now, limit=100)) == 1
    assert backend.idempotency_prune(b.IdempotencyPruneParams(now=now, limit=100)) == 0
    again = _insert(backend, key="old", request_hash="h2", seconds=DAY.total_seconds() + 60)
    assert not again.replayed, "the pruned key is free again"
    assert again.jobs[0].id != old.jobs[0].id
    still = _insert(backend, key="recent", seconds=DAY.total_seconds())
    assert still.replayed
    assert still.jobs[0].id == recent.jobs[0].id


def test_idempotency_prune_respects_the_limit(backend: Backend) -> None:
    for n in range(5):
        _insert(backend, key=f"k{n}")
    now = at(DAY.total_seconds() + 1)
    assert backend.idempotency_prune(b.IdempotencyPruneParams(now=now, limit=3)) == 3
    assert backend.idempotency_prune(b.IdempotencyPruneParams(now=now, limit=3)) == 2


def test_the_pruner_forgets_expired_idempotency_keys(backend: Backend) -> None:
    for n in range(3):
        _insert(backend, key=f"k{n}", seconds=n * 3600)
    assert forget_idempotency_keys(backend, at(DAY.total_seconds() + 1)) == 1
    assert forget_idempotency_keys(backend, at(DAY.total_seconds() + 7201)) == 2
    assert forget_idempotency_keys(backend, at(10 * DAY.total_seconds())) == 0
