"""The mixed noisy-neighbour case: shares of worker-time while both tenants had work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workhorse.bench.mixed import shares
from workhorse.jobs import Job, JobState

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _job(tenant: str, start: float, seconds: float) -> Job:
    started = T0 + timedelta(seconds=start)
    return Job(
        id=0,
        tenant=tenant,
        queue="q",
        task="hold",
        args=[],
        kwargs={},
        state=JobState.SUCCEEDED,
        priority=0,
        attempts=1,
        max_attempts=3,
        timeout=None,
        unique_key=None,
        result=None,
        created_at=T0,
        run_at=T0,
        started_at=started,
        finished_at=started + timedelta(seconds=seconds),
    )


def test_shares_count_only_jobs_claimed_while_both_tenants_had_work() -> None:
    jobs = [_job("heavy", 0, 3.0), _job("light", 0, 1.0), _job("light", 1, 1.0)]
    # heavy's last claim is at 0: light's claim at 1 came after heavy had drained.
    found = shares([*jobs, _job("heavy", 0, 0.0)])
    assert (found["heavy"].share, found["light"].share) == (0.75, 0.25)
    assert found["heavy"].expected == 0.75 and found["heavy"].error_points == 0.0
    assert found["light"].jobs == 1


def test_the_error_is_the_share_less_the_weights_share_in_points() -> None:
    found = shares([_job("heavy", 0, 1.0), _job("light", 0, 1.0)])
    assert found["heavy"].error_points == -25.0 and found["light"].error_points == 25.0
