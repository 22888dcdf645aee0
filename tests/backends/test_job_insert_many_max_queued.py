"""job_insert_many under a tenant's ``max_queued``: a batch that would take the tenant past it is
refused whole with QuotaExceededError; jobs that start or end make room again."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest

from workhorse import Workhorse
from workhorse.backends import Backend
from workhorse.backends import base as b
from workhorse.errors import QuotaExceededError
from workhorse.jobs import JobState
from workhorse.tenants import Tenant

from .conftest import OpenStore
from .support import T0, Jobs, at, failure, new_job, success


def _configure(backend: Backend, name: str, now: datetime = T0, **fields: Any) -> Tenant:
    return backend.tenant_upsert(b.TenantUpsertParams(tenant=Tenant(name=name, **fields), now=now))


def _insert(jobs: Jobs, tenant: str, count: int, **fields: Any) -> list[int]:
    rows = jobs.insert_many([new_job(tenant=tenant, **fields) for _ in range(count)])
    return [row.id for row in rows]


def _count(jobs: Jobs, tenant: str) -> int:
    return sum(row.count for row in jobs.backend.job_count(b.JobCountParams(tenant=tenant)))


def test_job_insert_many_refuses_a_batch_past_max_queued_and_accepts_once_jobs_finish(
    jobs: Jobs,
) -> None:
    _configure(jobs.backend, "acme", max_queued=3)
    _insert(jobs, "acme", 2)
    with pytest.raises(QuotaExceededError, match="acme"):
        _insert(jobs, "acme", 2)
    assert _count(jobs, "acme") == 2  # nothing of the refused batch was stored

    _insert(jobs, "acme", 1)
    with pytest.raises(QuotaExceededError):
        _insert(jobs, "acme", 1)

    [job] = jobs.claim(limit=1, now=at(1))
    assert jobs.finish(success(job), now=at(2)) == [job.id]
    assert len(_insert(jobs, "acme", 1)) == 1
    with pytest.raises(QuotaExceededError):
        _insert(jobs, "acme", 1)


def test_job_insert_many_running_jobs_do_not_count_as_queued(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", max_queued=2)
    _insert(jobs, "acme", 2)
    assert len(jobs.claim(limit=2)) == 2
    assert len(_insert(jobs, "acme", 2)) == 2
    with pytest.raises(QuotaExceededError):
        _insert(jobs, "acme", 1)


def test_job_insert_many_counts_scheduled_and_retrying_jobs_as_queued(jobs: Jobs) -> None:
    retrying = jobs.in_state(JobState.RETRYING, tenant="acme")
    jobs.in_state(JobState.SCHEDULED, tenant="acme")
    _configure(jobs.backend, "acme", max_queued=3)
    _insert(jobs, "acme", 1)
    with pytest.raises(QuotaExceededError):
        _insert(jobs, "acme", 1)
    assert jobs.state(retrying) is JobState.RETRYING


def test_job_insert_many_does_not_count_ended_jobs(jobs: Jobs) -> None:
    for state in (JobState.SUCCEEDED, JobState.DEAD, JobState.CANCELLED):
        jobs.in_state(state, tenant="acme")
    _configure(jobs.backend, "acme", max_queued=2)
    assert len(_insert(jobs, "acme", 2)) == 2


def test_job_insert_many_refuses_the_whole_batch_of_several_tenants(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", max_queued=1)
    batch = [new_job(tenant="globex"), new_job(tenant="acme"), new_job(tenant="acme")]
    with pytest.raises(QuotaExceededError):
        jobs.insert_many(batch)
    assert jobs.all() == []
    assert len(jobs.insert_many(batch[:2])) == 2


def test_job_insert_many_with_max_queued_zero_refuses_everything(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", max_queued=0)
    with pytest.raises(QuotaExceededError):
        _insert(jobs, "acme", 1)
    assert len(_insert(jobs, "globex", 1)) == 1


def test_job_insert_many_of_a_paused_tenant_still_counts_against_max_queued(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", max_queued=2, paused=True)
    assert len(_insert(jobs, "acme", 2)) == 2
    with pytest.raises(QuotaExceededError):
        _insert(jobs, "acme", 1)


def test_job_insert_many_accepts_again_once_max_queued_is_raised(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", max_queued=1)
    _insert(jobs, "acme", 1)
    with pytest.raises(QuotaExceededError):
        _insert(jobs, "acme", 1)
    _configure(jobs.backend, "acme", max_queued=None)
    assert len(_insert(jobs, "acme", 5)) == 5


def test_a_retry_that_goes_back_to_the_queue_counts_again(jobs: Jobs) -> None:
    _configure(jobs.backend, "acme", max_queued=1)
    [job_id] = _insert(jobs, "acme", 1)
    [job] = jobs.claim(limit=1)
    _insert(jobs, "acme", 1)
    # The retrying job is not refused (its attempt already counted), but it fills the quota.
    assert jobs.finish(failure(job, run_at=at(60)), now=at(1)) == [job_id]
    with pytest.raises(QuotaExceededError):
        _insert(jobs, "acme", 1)


RACERS = 8


@pytest.mark.pgbouncer
def test_racing_inserts_never_pass_max_queued(jobs: Jobs, open_store: OpenStore) -> None:
    _configure(jobs.backend, "acme", max_queued=10)
    backends = [open_store() for _ in range(RACERS)]
    start = threading.Barrier(RACERS)

    def racer(index: int) -> int:
        start.wait(30)
        stored = 0
        for _ in range(3):
            params = b.JobInsertManyParams(jobs=[new_job(tenant="acme")] * 2, now=T0)
            with contextlib.suppress(QuotaExceededError):
                stored += len(backends[index].job_insert_many(params))
        return stored

    with ThreadPoolExecutor(RACERS) as pool:
        stored = sum(pool.map(racer, range(RACERS)))
    assert stored == _count(jobs, "acme") == 10


def test_app_enqueue_raises_quota_exceeded(backend_url: str, backend: Backend) -> None:
    app = Workhorse(backend_url, clock=lambda: T0)

    @app.task
    def work(n: int) -> int:
        return n

    try:
        app.set_tenant("acme", max_queued=1)
        work.with_options(tenant="acme").enqueue(1)
        with pytest.raises(QuotaExceededError, match="max_queued"):
            work.with_options(tenant="acme").enqueue(2)
        with pytest.raises(QuotaExceededError):
            app.enqueue_many(
                [
                    work.with_options(tenant="globex").prepare(3),
                    work.with_options(tenant="acme").prepare(4),
                ]
            )
        assert [job.args for job in app.list_jobs()] == [[1]]
        assert work.with_options(tenant="globex", delay=timedelta(minutes=1)).enqueue(5).id > 0
    finally:
        app.close()
