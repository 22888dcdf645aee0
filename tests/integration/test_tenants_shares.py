"""Weighted fair share by cost, end to end, on SQLite (a file) and PostgreSQL.

Two worker processes serve two backlogged tenants. Worker-time is measured from the jobs table
(``finished_at - started_at``, clipped to a window in which both tenants still have jobs
waiting), the same measure fair share itself uses. Weights 3 and 1 must get 75% / 25% of it, and
tenants of equal weight whose jobs take 100 ms and 10 ms must get 50% / 50%, each within 10
percentage points.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from acceptance._harness import wait_until
from workhorse import JobState

from .tenants_support import BACKENDS, TenantSpace, migrated_store, worker_time_shares

pytestmark = pytest.mark.slow

WORKERS = 2
CONCURRENCY = 2
TOLERANCE = 0.10
WARM_UP_JOBS = 20
DEADLINE = 90.0


@pytest.fixture(params=BACKENDS)
def space(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TenantSpace]:
    with migrated_store(request.param, tmp_path) as url:
        space = TenantSpace(tmp_path, url)
        try:
            yield space
        finally:
            space.close()


def _succeeded(space: TenantSpace) -> dict[str, int]:
    return {
        tenant: count
        for (tenant, state), count in space.counts().items()
        if state is JobState.SUCCEEDED
    }


def _measure(
    space: TenantSpace, seconds_of: dict[str, float], work: float
) -> tuple[dict[str, float], dict[str, float]]:
    """Run the workers; once both tenants have started and ``WARM_UP_JOBS`` jobs are done, open
    the window; close it once the jobs finished in it add up to ``work`` nominal seconds. Return
    each tenant's worker-seconds in the window and its share, after checking that both tenants
    still had jobs waiting when the window closed."""
    workers = space.start_workers(WORKERS, CONCURRENCY)
    wait_until(
        lambda: len(done := _succeeded(space)) == 2 and sum(done.values()) >= WARM_UP_JOBS,
        timeout=DEADLINE,
        what="both tenants to get going",
    )
    w0, at_w0 = datetime.now(UTC), _succeeded(space)

    def nominal_work() -> float:
        done = _succeeded(space)
        return sum((done[t] - at_w0[t]) * seconds_of[t] for t in seconds_of)

    wait_until(
        lambda: nominal_work() >= work,
        timeout=DEADLINE,
        what=f"{work:g} s of work to be done",
        interval=0.25,
    )
    w1 = datetime.now(UTC)
    space.stop(workers)
    counts = space.counts()
    for tenant in seconds_of:
        assert counts[(tenant, JobState.QUEUED)] > 0, f"{tenant} ran out of jobs: not backlogged"
    assert all(state.terminal or state is JobState.QUEUED for _, state in counts), counts
    seconds, shares = worker_time_shares(space.jobs(), w0, w1)
    print(  # the measured figures: shown with -s, and with a failure
        f"window {(w1 - w0).total_seconds():.1f} s; worker-seconds "
        + ", ".join(f"{t} {seconds[t]:.2f} ({shares[t]:.1%})" for t in sorted(seconds))
    )
    return seconds, shares


def _assert_share(shares: dict[str, float], tenant: str, expected: float) -> None:
    assert abs(shares[tenant] - expected) <= TOLERANCE, (
        f"{tenant} got {shares[tenant]:.1%} of worker-time, expected {expected:.0%} "
        f"± {TOLERANCE:.0%}; shares: { {t: round(s, 3) for t, s in shares.items()} }"
    )


def _enqueue_backlog(space: TenantSpace, tenant: str, seconds: float, count: int) -> None:
    space.enqueue("spin", tenant, [[seconds]] * count)


def test_weights_3_to_1_get_75_25_of_worker_time(space: TenantSpace) -> None:
    space.app.set_tenant("three", weight=3.0)
    space.app.set_tenant("one", weight=1.0)
    _enqueue_backlog(space, "three", 0.02, 1500)
    _enqueue_backlog(space, "one", 0.02, 1000)

    seconds, shares = _measure(space, {"three": 0.02, "one": 0.02}, work=16.0)

    _assert_share(shares, "three", 0.75)
    _assert_share(shares, "one", 0.25)
    assert seconds["three"] > seconds["one"]


def test_jobs_of_100_ms_and_10_ms_get_equal_worker_time(space: TenantSpace) -> None:
    _enqueue_backlog(space, "slow", 0.1, 250)
    _enqueue_backlog(space, "fast", 0.01, 2500)

    _, shares = _measure(space, {"slow": 0.1, "fast": 0.01}, work=16.0)

    _assert_share(shares, "slow", 0.5)
    _assert_share(shares, "fast", 0.5)
    # By count the fast tenant must be served far more often than the slow one.
    jobs = space.jobs()
    started = {t: sum(1 for j in jobs if j.tenant == t and j.started_at) for t in ("slow", "fast")}
    assert started["fast"] > 3 * started["slow"], started
