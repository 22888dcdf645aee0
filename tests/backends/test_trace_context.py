"""The trace context stored at enqueue travels with the job to every claim of it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from workhorse.backends import Backend
from workhorse.backends import base as b

from .support import Jobs, at, failure, new_job

CONTEXT = '{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}'
OTHER = (
    '{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",'
    '"tracestate":"vendor=x"}'
)


def test_a_single_insert_keeps_its_trace_context(jobs: Jobs) -> None:
    job_id = jobs.insert(trace_context=CONTEXT)
    [claimed] = jobs.claim(now=at(1))
    assert (claimed.id, claimed.trace_context) == (job_id, CONTEXT)


@pytest.mark.parametrize("count", [2, 50])
def test_a_batch_insert_keeps_each_jobs_trace_context(jobs: Jobs, count: int) -> None:
    """Plain batches take PostgreSQL's COPY path."""
    rows = [new_job(trace_context=CONTEXT if i % 2 else OTHER) for i in range(count)]
    inserted = jobs.insert_many(rows)
    claimed = {job.id: job for job in jobs.claim(limit=count, now=at(1))}
    assert len(claimed) == count
    for row, result in zip(rows, inserted, strict=True):
        assert claimed[result.id].trace_context == row.trace_context


def test_a_unique_keyed_insert_keeps_its_trace_context(jobs: Jobs) -> None:
    jobs.insert_many([new_job(unique_key="k", trace_context=CONTEXT), new_job()])
    claimed = jobs.claim(limit=10, now=at(1))
    assert sorted(job.trace_context or "" for job in claimed) == ["", CONTEXT]


def test_jobs_enqueued_without_tracing_have_no_trace_context(jobs: Jobs) -> None:
    jobs.insert()
    [claimed] = jobs.claim(now=at(1))
    assert claimed.trace_context is None


def test_every_attempt_of_a_job_carries_the_enqueuers_context(jobs: Jobs) -> None:
    jobs.insert(trace_context=CONTEXT)
    [first] = jobs.claim(now=at(1))
    assert jobs.finish(failure(first, run_at=at(5)), now=at(2)) == [first.id]
    jobs.backend.job_promote(b.JobPromoteParams(now=at(5), limit=10))
    [second] = jobs.claim(now=at(6))
    assert (second.id, second.attempt, second.trace_context) == (first.id, 2, CONTEXT)


def test_an_idempotent_insert_keeps_the_trace_context(backend: Backend, jobs: Jobs) -> None:
    record = backend.idempotency_insert(
        b.IdempotencyInsertParams(
            scope="acme",
            key="k1",
            request_hash="h",
            jobs=[new_job(trace_context=CONTEXT), new_job(trace_context=OTHER)],
            now=at(0),
            expires_at=at(0) + timedelta(days=1),
        )
    )
    claimed = {job.id: job.trace_context for job in jobs.claim(limit=10, now=at(1))}
    assert [claimed[job.id] for job in record.jobs] == [CONTEXT, OTHER]


def test_claims_report_when_each_attempt_became_due(jobs: Jobs) -> None:
    early = jobs.insert(run_at=at(-30))
    late = jobs.insert(run_at=at(-5))
    claimed = {job.id: job.run_at for job in jobs.claim(limit=10, now=at(1))}
    assert claimed == {early: at(-30), late: at(-5)}
