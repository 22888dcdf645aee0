"""job_insert_many: atomic, ordered inserts with idempotency by (tenant, unique_key)."""

from __future__ import annotations

from datetime import datetime

import pytest

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .conftest import OpenStore
from .support import T0, Jobs, at, new_job


def test_job_insert_many_returns_ids_in_order(jobs: Jobs) -> None:
    inserted = jobs.insert_many([new_job(task=f"t{i}") for i in range(5)])
    ids = [row.id for row in inserted]
    assert all(row.created for row in inserted)
    assert ids == sorted(ids)
    assert len(set(ids)) == 5
    assert [jobs.get(job_id).task for job_id in ids] == [f"t{i}" for i in range(5)]


def test_job_insert_many_ids_keep_growing_across_calls(jobs: Jobs) -> None:
    first = jobs.insert()
    second = jobs.insert()
    assert second > first


def test_job_insert_many_of_nothing_inserts_nothing(jobs: Jobs) -> None:
    assert jobs.insert_many([]) == []
    assert jobs.all() == []


def test_job_insert_many_stores_every_field(jobs: Jobs) -> None:
    [row] = jobs.insert_many(
        [
            new_job(
                tenant="globex",
                queue="emails",
                task="send",
                args_json='[1,"two",{"three":3}]',
                kwargs_json='{"to":"a@example.com","cc":null}',
                priority=-7,
                run_at=at(60),
                state=JobState.SCHEDULED,
                max_attempts=5,
                timeout=12.5,
                unique_key="send:a",
            )
        ],
        now=at(1),
    )
    job = jobs.get(row.id)
    assert (job.tenant, job.queue, job.task) == ("globex", "emails", "send")
    assert job.args == [1, "two", {"three": 3}]
    assert job.kwargs == {"to": "a@example.com", "cc": None}
    assert (job.state, job.priority, job.max_attempts) == (JobState.SCHEDULED, -7, 5)
    assert (job.timeout, job.unique_key) == (12.5, "send:a")
    assert (job.created_at, job.run_at) == (at(1), at(60))
    assert (job.attempts, job.result, job.errors, job.progress) == (0, None, [], None)
    assert (job.worker_id, job.started_at, job.finished_at, job.lease_expires_at) == (
        None,
        None,
        None,
        None,
    )


def test_job_insert_many_times_are_aware_utc(jobs: Jobs) -> None:
    job = jobs.get(jobs.insert())
    for value in (job.created_at, job.run_at):
        assert isinstance(value, datetime)
        assert value.utcoffset() is not None
        assert value.utcoffset() == T0.utcoffset()


def test_job_insert_many_is_atomic(jobs: Jobs) -> None:
    naive = datetime(2030, 1, 1)  # naive on purpose: refused
    with pytest.raises(ValueError, match="naive"):
        jobs.insert_many(
            [new_job(task="ok"), new_job(task="bad", run_at=naive, state=JobState.QUEUED)]
        )
    assert jobs.all() == []


@pytest.mark.parametrize("state", [JobState.QUEUED, JobState.SCHEDULED, JobState.RUNNING])
def test_job_insert_many_unique_key_returns_the_live_job(jobs: Jobs, state: JobState) -> None:
    job_id = jobs.in_state(state, unique_key="report:2030")
    [again] = jobs.insert_many([new_job(unique_key="report:2030", task="other")], now=at(5))
    assert again == b.InsertedJob(id=job_id, created=False)
    assert len(jobs.all()) == 1
    assert jobs.get(job_id).task == "work"
    assert jobs.state(job_id) is state


def test_job_insert_many_unique_key_returns_a_retrying_job(jobs: Jobs) -> None:
    job_id = jobs.in_state(JobState.RETRYING, unique_key="k")
    [again] = jobs.insert_many([new_job(unique_key="k")])
    assert again == b.InsertedJob(id=job_id, created=False)


def test_job_insert_many_unique_key_within_one_batch(jobs: Jobs) -> None:
    inserted = jobs.insert_many([new_job(unique_key="k"), new_job(), new_job(unique_key="k")])
    assert [row.created for row in inserted] == [True, True, False]
    assert inserted[2].id == inserted[0].id
    assert len(jobs.all()) == 2


@pytest.mark.parametrize("ended", [JobState.SUCCEEDED, JobState.DEAD, JobState.CANCELLED])
def test_job_insert_many_unique_key_is_free_once_the_job_ends(jobs: Jobs, ended: JobState) -> None:
    first = jobs.in_state(ended, unique_key="nightly")
    [second] = jobs.insert_many([new_job(unique_key="nightly")], now=at(10))
    assert second.created
    assert second.id != first
    [third] = jobs.insert_many([new_job(unique_key="nightly")], now=at(20))
    assert third == b.InsertedJob(id=second.id, created=False)
    assert jobs.state(first) is ended


def test_job_insert_many_unique_key_is_per_tenant(jobs: Jobs) -> None:
    inserted = jobs.insert_many(
        [new_job(tenant="acme", unique_key="k"), new_job(tenant="globex", unique_key="k")]
    )
    assert [row.created for row in inserted] == [True, True]
    assert inserted[0].id != inserted[1].id
    assert {jobs.get(row.id).tenant for row in inserted} == {"acme", "globex"}


def test_job_insert_many_without_unique_key_never_deduplicates(jobs: Jobs) -> None:
    inserted = jobs.insert_many([new_job(), new_job()])
    assert [row.created for row in inserted] == [True, True]
    assert inserted[0].id != inserted[1].id


def test_job_insert_many_is_durable_for_another_backend(jobs: Jobs, open_store: OpenStore) -> None:
    job_id = jobs.insert(task="durable")
    jobs.backend.close()
    other = Jobs(open_store())
    assert other.get(job_id).task == "durable"
