"""job_count: counts by tenant, queue and state."""

from __future__ import annotations

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import Jobs


def _counts(jobs: Jobs, tenant: str | None = None) -> set[tuple[str, str, JobState, int]]:
    rows = jobs.backend.job_count(b.JobCountParams(tenant=tenant))
    return {(row.tenant, row.queue, row.state, row.count) for row in rows}


def test_job_count_of_an_empty_store_is_empty(jobs: Jobs) -> None:
    assert _counts(jobs) == set()


def test_job_count_groups_by_tenant_queue_and_state(jobs: Jobs) -> None:
    jobs.in_state(JobState.RUNNING, tenant="acme", queue="q1")
    for _ in range(3):
        jobs.insert(tenant="acme", queue="q1")
    jobs.in_state(JobState.DEAD, tenant="acme", queue="q2")
    jobs.insert(tenant="globex", queue="q1")
    assert _counts(jobs) == {
        ("acme", "q1", JobState.QUEUED, 3),
        ("acme", "q1", JobState.RUNNING, 1),
        ("acme", "q2", JobState.DEAD, 1),
        ("globex", "q1", JobState.QUEUED, 1),
    }


def test_job_count_is_scoped_by_tenant(jobs: Jobs) -> None:
    jobs.insert(tenant="acme")
    jobs.insert(tenant="globex")
    jobs.insert(tenant="globex")
    assert _counts(jobs, "globex") == {("globex", "default", JobState.QUEUED, 2)}
    assert _counts(jobs, "initech") == set()
