"""metrics_snapshot: live jobs, the window's arrivals and endings, and live workers."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from workhorse.backends import base as b
from workhorse.jobs import JobState

from .support import Jobs, at, failure, new_job, success

WINDOW = timedelta(seconds=60)
Key = tuple[str, str, JobState]


def _snapshot(jobs: Jobs, now: datetime, seen_after: datetime | None = None) -> b.MetricsSnapshot:
    params = b.MetricsSnapshotParams(
        now=now, window=WINDOW, workers_seen_after=seen_after or now - timedelta(seconds=30)
    )
    return jobs.backend.metrics_snapshot(params)


def _groups(snapshot: b.MetricsSnapshot) -> dict[Key, b.JobGroupStats]:
    found = {(g.tenant, g.queue, g.state): g for g in snapshot.groups}
    assert len(found) == len(snapshot.groups), "one group per (tenant, queue, state)"
    return found


def _counts(snapshot: b.MetricsSnapshot) -> dict[Key, int]:
    return {key: group.count for key, group in _groups(snapshot).items()}


def test_an_empty_store_has_nothing(jobs: Jobs) -> None:
    assert _snapshot(jobs, at(0)) == b.MetricsSnapshot(groups=[], workers=0, slots=0)


def test_live_jobs_are_counted_by_tenant_queue_and_state(jobs: Jobs) -> None:
    # Claimed ones first: a claim takes the next queued job.
    jobs.in_state(JobState.RUNNING, tenant="globex")
    jobs.in_state(JobState.RETRYING, tenant="initech")
    jobs.in_state(JobState.QUEUED, tenant="acme")
    jobs.in_state(JobState.QUEUED, tenant="acme")
    jobs.in_state(JobState.QUEUED, tenant="acme", queue="mail")
    jobs.in_state(JobState.SCHEDULED, tenant="globex")
    assert _counts(_snapshot(jobs, at(1))) == {
        ("acme", "default", JobState.QUEUED): 2,
        ("acme", "mail", JobState.QUEUED): 1,
        ("globex", "default", JobState.RUNNING): 1,
        ("globex", "default", JobState.SCHEDULED): 1,
        ("initech", "default", JobState.RETRYING): 1,
    }


def test_ended_jobs_count_only_while_they_ended_within_the_window(jobs: Jobs) -> None:
    jobs.in_state(JobState.SUCCEEDED, now=at(0))
    jobs.in_state(JobState.DEAD, now=at(30))
    jobs.in_state(JobState.CANCELLED, now=at(30))
    assert _counts(_snapshot(jobs, at(59))) == {
        ("acme", "default", JobState.SUCCEEDED): 1,
        ("acme", "default", JobState.DEAD): 1,
        ("acme", "default", JobState.CANCELLED): 1,
    }
    assert _counts(_snapshot(jobs, at(61))) == {
        ("acme", "default", JobState.DEAD): 1,
        ("acme", "default", JobState.CANCELLED): 1,
    }
    assert _counts(_snapshot(jobs, at(91))) == {}


def test_created_counts_the_jobs_created_within_the_window_live_or_ended(jobs: Jobs) -> None:
    done = jobs.running(now=at(65))
    jobs.finish(success(done), now=at(80))
    jobs.insert(now=at(0))  # created before the window
    jobs.insert(now=at(50))
    jobs.insert(now=at(70), tenant="globex")
    groups = _groups(_snapshot(jobs, at(100)))
    assert groups[("acme", "default", JobState.QUEUED)].count == 2
    assert groups[("acme", "default", JobState.QUEUED)].created == 1
    assert groups[("globex", "default", JobState.QUEUED)].created == 1
    assert groups[("acme", "default", JobState.SUCCEEDED)].created == 1
    assert sum(g.created for g in groups.values()) == 3


def test_due_counts_scheduled_and_retrying_jobs_whose_time_has_come(jobs: Jobs) -> None:
    jobs.insert(now=at(0), run_at=at(30))
    jobs.insert(now=at(0), run_at=at(90))
    retrying = jobs.running(now=at(0))
    jobs.finish(failure(retrying, run_at=at(40)), now=at(1))
    before = _groups(_snapshot(jobs, at(20)))
    assert before[("acme", "default", JobState.SCHEDULED)].due == 0
    assert before[("acme", "default", JobState.RETRYING)].due == 0
    after = _groups(_snapshot(jobs, at(45)))
    assert after[("acme", "default", JobState.SCHEDULED)].count == 2
    assert after[("acme", "default", JobState.SCHEDULED)].due == 1
    assert after[("acme", "default", JobState.RETRYING)].due == 1


def test_runs_sum_the_last_attempts_of_jobs_that_succeeded_or_died(jobs: Jobs) -> None:
    quick = jobs.running(now=at(10))
    jobs.finish(success(quick), now=at(13))
    slow = jobs.running(now=at(20))
    jobs.finish(failure(slow), now=at(30))
    jobs.in_state(JobState.CANCELLED, now=at(30))
    groups = _groups(_snapshot(jobs, at(40)))
    succeeded = groups[("acme", "default", JobState.SUCCEEDED)]
    dead = groups[("acme", "default", JobState.DEAD)]
    cancelled = groups[("acme", "default", JobState.CANCELLED)]
    assert (succeeded.runs, succeeded.run_seconds) == (1, 3.0)
    assert (dead.runs, dead.run_seconds) == (1, 10.0)
    assert (cancelled.runs, cancelled.run_seconds) == (0, 0.0)


def test_workers_count_those_seen_after_the_cut_off_and_sum_their_slots(jobs: Jobs) -> None:
    for worker, concurrency, seen in (("w1", 4, 0), ("w2", 8, 50), ("w3", 16, 55)):
        jobs.backend.worker_heartbeat(
            b.WorkerHeartbeatParams(
                id=worker,
                host="h",
                pid=1,
                queues=["default"],
                concurrency=concurrency,
                now=at(seen),
                started_at=at(0),
            )
        )
    snapshot = _snapshot(jobs, at(60), seen_after=at(10))
    assert (snapshot.workers, snapshot.slots) == (2, 24)


def test_the_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="window must be positive"):
        b.MetricsSnapshotParams(now=at(0), window=timedelta(0), workers_seen_after=at(0))


def test_blocked_jobs_are_counted_as_live(jobs: Jobs) -> None:
    jobs.in_state(JobState.BLOCKED, tenant="acme", queue="reports")
    counts = _counts(_snapshot(jobs, at(0)))
    assert counts[("acme", "reports", JobState.BLOCKED)] == 1
    assert counts[("acme", "reports", JobState.QUEUED)] == 1, "its parent"


def _workflow(jobs: Jobs, now: datetime) -> int:
    params = b.WorkflowInsertParams(tenant="acme", name="wf", jobs=[new_job(now=now)], now=now)
    return jobs.backend.workflow_insert(params).id


def test_workflows_count_running_ones_and_those_ended_within_the_window(jobs: Jobs) -> None:
    _workflow(jobs, at(0))
    for ended_at in (at(2), at(50)):
        cancelled = _workflow(jobs, ended_at)
        jobs.backend.workflow_cancel(b.WorkflowCancelParams(id=cancelled, now=ended_at))
    dead = _workflow(jobs, at(55))
    [claimed] = [job for job in jobs.claim(now=at(55)) if jobs.get(job.id).workflow_id == dead]
    jobs.finish(failure(claimed), now=at(56))
    assert _snapshot(jobs, at(65)).workflows == {"running": 1, "cancelled": 1, "failed": 1}
    assert _snapshot(jobs, at(200)).workflows == {"running": 1}
