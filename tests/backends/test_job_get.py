"""job_get and job_list: tenant-scoped reads, filters and newest-first pagination."""

from __future__ import annotations

from typing import Any

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import Jobs


def _list(jobs: Jobs, **filters: Any) -> list[int]:
    return [job.id for job in jobs.backend.job_list(b.JobListParams(**filters))]


def test_job_get_returns_the_job(jobs: Jobs) -> None:
    job_id = jobs.insert(tenant="acme", task="send")
    job = jobs.backend.job_get(b.JobGetParams(id=job_id))
    assert job is not None
    assert (job.id, job.tenant, job.task) == (job_id, "acme", "send")


def test_job_get_of_a_missing_job_is_none(jobs: Jobs) -> None:
    job_id = jobs.insert()
    assert jobs.backend.job_get(b.JobGetParams(id=job_id + 1)) is None
    assert jobs.backend.job_get(b.JobGetParams(id=-1)) is None


def test_job_get_is_scoped_by_tenant(jobs: Jobs) -> None:
    job_id = jobs.insert(tenant="acme")
    assert jobs.backend.job_get(b.JobGetParams(id=job_id, tenant="globex")) is None
    own = jobs.backend.job_get(b.JobGetParams(id=job_id, tenant="acme"))
    assert own is not None
    assert own.id == job_id


def test_job_list_is_newest_first(jobs: Jobs) -> None:
    ids = [jobs.insert() for _ in range(4)]
    assert _list(jobs) == ids[::-1]


def test_job_list_is_scoped_by_tenant(jobs: Jobs) -> None:
    acme = [jobs.insert(tenant="acme") for _ in range(2)]
    globex = jobs.insert(tenant="globex")
    assert _list(jobs, tenant="acme") == acme[::-1]
    assert _list(jobs, tenant="globex") == [globex]
    assert _list(jobs, tenant="initech") == []
    assert _list(jobs) == [globex, *acme[::-1]]


def test_job_list_filters_by_state_queue_and_task(jobs: Jobs) -> None:
    queued = jobs.insert(queue="q1", task="a")
    running = jobs.in_state(JobState.RUNNING, queue="q2", task="a")
    dead = jobs.in_state(JobState.DEAD, queue="q3", task="b")
    assert _list(jobs, states=[JobState.QUEUED]) == [queued]
    assert _list(jobs, states=[JobState.RUNNING, JobState.DEAD]) == [dead, running]
    assert _list(jobs, states=[JobState.SUCCEEDED]) == []
    assert _list(jobs, queue="q2") == [running]
    assert _list(jobs, task="a") == [running, queued]
    assert _list(jobs, task="a", states=[JobState.QUEUED], queue="q1") == [queued]
    assert _list(jobs, task="a", queue="q3") == []


def test_job_list_paginates_by_before_id_without_gaps_or_repeats(jobs: Jobs) -> None:
    ids = [jobs.insert(tenant="acme" if i % 3 else "globex") for i in range(10)]
    acme = [i for i in ids if jobs.get(i).tenant == "acme"]
    pages: list[list[int]] = []
    before: int | None = None
    while page := _list(jobs, tenant="acme", before_id=before, limit=3):
        pages.append(page)
        before = page[-1]
    assert [len(page) for page in pages] == [3, 3]
    assert [i for page in pages for i in page] == acme[::-1]


def test_job_list_pages_stay_stable_when_new_jobs_arrive(jobs: Jobs) -> None:
    ids = [jobs.insert() for _ in range(5)]
    first = _list(jobs, limit=2)
    jobs.insert()
    second = _list(jobs, before_id=first[-1], limit=2)
    assert first + second == ids[::-1][:4]


def test_job_list_respects_the_limit(jobs: Jobs) -> None:
    ids = [jobs.insert() for _ in range(5)]
    assert _list(jobs, limit=2) == ids[::-1][:2]
