"""job_finish_many adds each finished attempt's run time to its tenant's decayed usage (what fair
share measures), as tenant_stats shows it."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta

import psycopg
import pytest

from workhorse.admin import NO_DAY
from workhorse.backends import base as b
from workhorse.backends.postgres.connecting import parse_url

from .support import T0, Jobs, at, failure, new_job, success

WINDOW = timedelta(seconds=10)


def _usage(jobs: Jobs, tenant: str, now: datetime, window: timedelta = WINDOW) -> float:
    stats = jobs.backend.tenant_stats(b.TenantStatsParams(now=now, usage_window=window))
    [row] = [row for row in stats if row.tenant.name == tenant]
    return row.usage


def _finish(jobs: Jobs, *outcomes: b.Outcome, now: datetime) -> list[int]:
    params = b.JobFinishManyParams(outcomes=outcomes, now=now, usage_window=WINDOW)
    return jobs.backend.job_finish_many(params)


def test_job_finish_many_adds_the_run_time_to_the_tenants_usage(jobs: Jobs) -> None:
    job = jobs.running(tenant="acme", now=at(1))
    assert _usage(jobs, "acme", at(1)) == 0.0
    assert _finish(jobs, success(job), now=at(4)) == [job.id]
    assert _usage(jobs, "acme", at(4)) == pytest.approx(3.0)


def test_job_finish_many_adds_every_outcome_of_a_batch(jobs: Jobs) -> None:
    first = jobs.running(tenant="acme", now=at(0))
    second = jobs.running(tenant="acme", now=at(2))
    other = jobs.running(tenant="globex", now=at(4))
    written = _finish(jobs, success(first), success(second), success(other), now=at(5))
    assert sorted(written) == sorted([first.id, second.id, other.id])
    assert _usage(jobs, "acme", at(5)) == pytest.approx(5.0 + 3.0)
    assert _usage(jobs, "globex", at(5)) == pytest.approx(1.0)


def test_job_finish_many_counts_the_slots_an_attempt_held(jobs: Jobs) -> None:
    """Fair share counts slot-seconds: 3 s on 4 slots weigh as much as 12 s on one."""
    heavy = jobs.running(tenant="acme", now=at(1))
    light = jobs.running(tenant="globex", now=at(1))
    usage = b.AttemptUsage(wall_seconds=3.0, slots=4)
    _finish(jobs, replace(success(heavy), usage=usage), success(light), now=at(4))
    assert _usage(jobs, "acme", at(4)) == pytest.approx(12.0)
    assert _usage(jobs, "globex", at(4)) == pytest.approx(3.0)


def test_job_finish_many_counts_failed_attempts_too(jobs: Jobs) -> None:
    retried = jobs.running(tenant="acme", now=at(0))
    dead = jobs.running(tenant="acme", now=at(0))
    _finish(jobs, failure(retried, run_at=at(60)), failure(dead), now=at(2))
    assert _usage(jobs, "acme", at(2)) == pytest.approx(4.0)


def test_job_finish_many_usage_decays_over_the_usage_window(jobs: Jobs) -> None:
    first = jobs.running(tenant="acme", now=at(0))
    _finish(jobs, success(first), now=at(3))
    assert _usage(jobs, "acme", at(13)) == pytest.approx(3.0 / math.e)
    assert _usage(jobs, "acme", at(23)) == pytest.approx(3.0 / math.e**2)

    second = jobs.running(tenant="acme", now=at(13))
    _finish(jobs, success(second), now=at(15))
    # The stored usage decayed from 3 s to 15 s, then gained the second attempt's 2 s.
    expected = 3.0 * math.exp(-12 / 10) + 2.0
    assert _usage(jobs, "acme", at(15)) == pytest.approx(expected)
    assert _usage(jobs, "acme", at(25)) == pytest.approx(expected / math.e)


def test_job_finish_many_does_not_add_a_fenced_outcome(jobs: Jobs) -> None:
    job = jobs.running(tenant="acme", now=at(0))
    stale = b.Outcome(
        id=job.id, lease_token="not-the-lease", attempt=job.attempt, state=success(job).state
    )
    assert _finish(jobs, stale, now=at(5)) == []
    stats = jobs.backend.tenant_stats(b.TenantStatsParams(now=at(5), usage_window=WINDOW))
    assert [row.usage for row in stats if row.tenant.name == "acme"] == [0.0]
    assert _finish(jobs, success(job), now=at(6)) == [job.id]
    assert _usage(jobs, "acme", at(6)) == pytest.approx(6.0)


def test_job_finish_many_does_not_add_an_outcome_written_twice(jobs: Jobs) -> None:
    job = jobs.running(tenant="acme", now=at(0))
    assert _finish(jobs, success(job), now=at(2)) == [job.id]
    assert _finish(jobs, success(job), now=at(2)) == []
    assert _usage(jobs, "acme", at(2)) == pytest.approx(2.0)


def test_job_finish_many_after_a_tenant_was_idle_for_a_long_time(jobs: Jobs) -> None:
    """Usage decayed over thousands of windows is as good as nothing (PostgreSQL's exp() raises
    an underflow below about -745 rather than returning 0)."""
    first = jobs.running(tenant="acme", now=at(0))
    _finish(jobs, success(first), now=at(3))
    later = 13 * 3600  # 4,680 windows of 10 s
    second = jobs.running(tenant="acme", now=at(later))
    assert _finish(jobs, success(second), now=at(later + 2)) == [second.id]
    assert _usage(jobs, "acme", at(later + 2)) == pytest.approx(2.0)


@pytest.mark.postgres_only
def test_a_finish_rewrites_its_tenants_usage_rows_where_they_stand(
    jobs: Jobs, backend_url: str
) -> None:
    """PostgreSQL leaves half of each page of the tenants' rows and of the hourly roll-up free
    (fillfactor), so that the finish's rewrite of a tenant's row, and the maintenance's of a
    roll-up row as it folds what the finishes appended, fits on the row's own page: an update
    written in place (HOT) adds no index entry. On full pages, most rows of tenants first seen in
    one batch moved at their next finish."""
    tenants = [f"t{i:03}" for i in range(400)]
    history = b.JobHistoryParams(now=T0, finished_before=NO_DAY)

    def finish_one_each(now: datetime) -> None:
        jobs.insert_many([new_job(T0, tenant=name) for name in tenants])
        claimed = jobs.claim(limit=len(tenants), now=now)
        assert sorted(job.tenant for job in claimed) == tenants
        assert len(jobs.finish(*(success(job) for job in claimed), now=now)) == len(tenants)
        jobs.backend.job_history_rotate(history)  # folds the appended usage into the roll-up

    def pages() -> dict[str, list[tuple[str, int]]]:
        with psycopg.connect(parse_url(backend_url).conninfo) as conn:
            return {
                table: conn.execute(
                    f"SELECT {key}, (ctid::text::point)[0]::int FROM {table} ORDER BY 1"
                ).fetchall()
                for table, key in [("workhorse_tenants", "name"), ("workhorse_usage", "tenant")]
            }

    finish_one_each(at(1))  # the tenants' first finish writes their rows, one after another
    first = pages()
    finish_one_each(at(2))  # the next one rewrites every one of them
    assert pages() == first
    assert len({page for _, page in first["workhorse_tenants"]}) > 1
    assert len({page for _, page in first["workhorse_usage"]}) > 1
