"""Usage: each finished attempt's measured usage is stored with the job, and added to the hourly
roll-up per tenant, task and queue that usage_list reads, which outlives pruned jobs."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from workhorse.backends import base as b

from .support import T0, Jobs, at, failure, success

HOUR = timedelta(hours=1)


def _measured(outcome: b.Outcome, wall: float, cpu: float | None, slots: int = 1) -> b.Outcome:
    usage = b.AttemptUsage(wall_seconds=wall, cpu_seconds=cpu, max_rss_bytes=2048, slots=slots)
    return replace(outcome, usage=usage)


def _finish(jobs: Jobs, *outcomes: b.Outcome, now: float) -> list[int]:
    return jobs.backend.job_finish_many(b.JobFinishManyParams(outcomes=outcomes, now=at(now)))


def _usage(jobs: Jobs, tenant: str | None = None) -> list[b.UsageRow]:
    params = b.UsageListParams(since=T0 - HOUR, until=T0 + 2 * HOUR, tenant=tenant)
    return jobs.backend.usage_list(params)


def test_job_finish_many_stores_each_attempts_usage_with_the_job(jobs: Jobs) -> None:
    job = jobs.running(tenant="acme", now=at(0))
    _finish(jobs, _measured(failure(job, run_at=at(1)), 1.5, 1.25), now=2)
    jobs.backend.job_promote(b.JobPromoteParams(now=at(3), limit=10))
    again = jobs.claim_one(job.id, now=at(3))
    _finish(jobs, _measured(success(again), 2.5, None, slots=2), now=6)
    stored = jobs.get(job.id)
    assert [(u.attempt, u.wall_seconds, u.cpu_seconds) for u in stored.attempt_usage] == [
        (1, 1.5, 1.25),
        (2, 2.5, None),
    ]
    assert [u.slots for u in stored.attempt_usage] == [1, 2]
    assert stored.usage.wall_seconds == pytest.approx(4.0)
    assert stored.usage.cpu_seconds == pytest.approx(1.25)
    assert stored.usage.max_rss_bytes == 2048


def test_job_finish_many_rolls_usage_up_per_tenant_task_and_queue(jobs: Jobs) -> None:
    first = jobs.running(tenant="acme", task="resize", now=at(0))
    second = jobs.running(tenant="acme", task="resize", now=at(0))
    retried = jobs.running(tenant="acme", task="resize", now=at(0))
    other = jobs.running(tenant="globex", task="resize", now=at(0))
    outcomes = [
        _measured(success(first), 2.0, 1.0),
        _measured(success(second), 3.0, 2.0, slots=4),
        _measured(failure(retried, run_at=at(60)), 1.0, 0.5),
        _measured(success(other), 1.0, 1.0),
    ]
    _finish(jobs, *outcomes, now=5)
    [acme] = _usage(jobs, "acme")
    assert (acme.task, acme.queue, acme.hour) == ("resize", "default", T0.replace(minute=0))
    assert (acme.jobs, acme.attempts) == (2, 3), "a retry is an attempt, not a job"
    assert acme.wall_seconds == pytest.approx(6.0)
    assert acme.cpu_seconds == pytest.approx(3.5)
    assert acme.slot_seconds == pytest.approx(2.0 + 12.0 + 1.0)
    assert {row.tenant for row in _usage(jobs)} == {"acme", "globex"}


def test_usage_adds_up_across_batches_and_counts_unmeasured_attempts(jobs: Jobs) -> None:
    measured = jobs.running(tenant="acme", now=at(0))
    unmeasured = jobs.running(tenant="acme", now=at(0))
    _finish(jobs, _measured(success(measured), 1.0, 1.0), now=2)
    _finish(jobs, success(unmeasured), now=4)
    [row] = _usage(jobs)
    assert (row.jobs, row.attempts) == (2, 2)
    assert row.wall_seconds == pytest.approx(1.0 + 4.0), "unmeasured: its run time"
    assert row.cpu_seconds == pytest.approx(1.0)


def test_usage_outlives_pruned_jobs(jobs: Jobs) -> None:
    job = jobs.running(tenant="acme", now=at(0))
    _finish(jobs, _measured(success(job), 1.0, 1.0), now=1)
    pruned = jobs.backend.job_prune(b.JobPruneParams(finished_before=at(10), limit=10))
    assert pruned == 1
    assert [row.jobs for row in _usage(jobs)] == [1]


def test_usage_list_reads_only_the_window(jobs: Jobs) -> None:
    job = jobs.running(tenant="acme", now=at(0))
    _finish(jobs, _measured(success(job), 1.0, 1.0), now=1)
    later = b.UsageListParams(since=T0 + HOUR, until=T0 + 3 * HOUR)
    assert jobs.backend.usage_list(later) == []
    assert _usage(jobs, "globex") == []
