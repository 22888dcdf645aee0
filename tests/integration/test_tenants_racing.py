"""Tenant quotas under racing worker processes, on SQLite (a file) and PostgreSQL.

Four ``workhorse worker`` processes race for the jobs of several tenants. Every task records its
start and end (``time.time()``) in an event log; a task's run lies strictly inside the time its
job is running in the database (claimed before the task starts, finished after it ends), so a
sweep over these events shows how many jobs of a tenant, or of a concurrency key, really ran at
any one instant. Rate limits are checked on the jobs' ``started_at``: the claim instants the
token bucket governs. Pause and resume go through ``workhorse tenants``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from acceptance._harness import wait_until
from workhorse import JobState

from .tenants_support import (
    BACKENDS,
    TenantSpace,
    migrated_store,
    most_in_window,
    peak_overlap,
    peaks_by,
)

WORKERS = 4
CONCURRENCY = 4
DEADLINE = 60.0


@pytest.fixture(params=BACKENDS)
def space(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TenantSpace]:
    with migrated_store(request.param, tmp_path) as url:
        space = TenantSpace(tmp_path, url)
        try:
            yield space
        finally:
            space.close()


def _wait_all_succeeded(space: TenantSpace, expected: int, what: str) -> None:
    wait_until(lambda: space.all_succeeded(expected), timeout=DEADLINE, what=what, interval=0.2)


@pytest.mark.parametrize(
    ("intervals", "peak"),
    [
        ([], 0),
        ([(0.0, 1.0), (1.0, 2.0)], 1),  # one ends as the next starts: never two at once
        ([(0.0, 1.0), (0.5, 2.0), (1.0, 3.0)], 2),
        ([(0.0, 5.0), (1.0, 2.0), (1.5, 3.0), (4.0, 6.0)], 3),
    ],
)
def test_peak_overlap_sweeps_every_instant(intervals: list[tuple[float, float]], peak: int) -> None:
    assert peak_overlap(intervals) == peak
    assert peak_overlap(iter(intervals)) == peak


@pytest.mark.parametrize(
    ("times", "most"),
    [([], 0), ([0.0, 1.01], 1), ([0.0, 1.0], 2), ([0.0, 0.0, 0.5, 1.0, 1.5, 2.6], 4)],
)
def test_most_in_window_counts_a_closed_window(times: list[float], most: int) -> None:
    assert most_in_window(times, 1.0) == most


@pytest.mark.slow
def test_max_running_and_concurrency_keys_hold_at_every_instant(space: TenantSpace) -> None:
    space.tenants("set", "capped", "--max-running", "3")
    workers = space.start_workers(WORKERS, CONCURRENCY)
    space.enqueue("hold", "capped", [[0.15]] * 24)
    for _ in range(5):
        for key in ("k0", "k1", "k2"):
            space.enqueue("hold", "keyed", [[0.1, key]], concurrency_key=key)
        space.enqueue("hold", "keyed", [[0.1, "pair"]], concurrency_key="pair", concurrency_limit=2)
        space.enqueue("hold", "keyed", [[0.1]] * 2)
    space.enqueue("hold", "free", [[0.05]] * 30)
    total = 24 + 5 * 6 + 30
    _wait_all_succeeded(space, total, f"all {total} jobs to succeed")
    space.stop(workers)

    runs = space.runs()
    assert len(runs) == total
    by_tenant = peaks_by(runs, lambda run: run.tenant)
    assert by_tenant["capped"] == 3, by_tenant
    by_key = peaks_by([r for r in runs if r.tenant == "keyed"], lambda run: run.key)
    assert (by_key["k0"], by_key["k1"], by_key["k2"]) == (1, 1, 1), by_key
    assert 1 <= by_key["pair"] <= 2, by_key
    # The workers had room for more than the caps: the caps, not the slots, held them.
    assert peak_overlap((run.start, run.end) for run in runs) > 3
    assert len({run.pid for run in runs if run.tenant == "capped"}) >= 2
    assert len({run.pid for run in runs}) == WORKERS


@pytest.mark.slow
def test_rate_limit_holds_across_processes(space: TenantSpace) -> None:
    rate, burst, metered = 4.0, 2.0, 14
    space.tenants("set", "metered", "--rate", str(rate), "--burst", str(burst))
    workers = space.start_workers(WORKERS, 3)
    space.enqueue("hold", "metered", [[0.01]] * metered)
    space.enqueue("hold", "free", [[0.02]] * 60)
    _wait_all_succeeded(space, metered + 60, "every job to succeed")
    space.stop(workers)

    jobs = space.jobs()
    starts = {
        tenant: sorted(
            job.started_at.timestamp()
            for job in jobs
            if job.tenant == tenant and job.started_at is not None
        )
        for tenant in ("metered", "free")
    }
    assert len(starts["metered"]) == metered
    assert most_in_window(starts["metered"], 1.0) <= rate + burst, starts["metered"]
    # n starts need at least (n - burst) / rate seconds.
    span = starts["metered"][-1] - starts["metered"][0]
    assert span >= (metered - burst) / rate - 1e-3, starts["metered"]
    # The limit is the tenant's, not the workers': the other tenant started far faster.
    assert most_in_window(starts["free"], 1.0) > rate + burst
    runs = {run.job_id: run for run in space.runs()}
    metered_pids = {runs[job.id].pid for job in jobs if job.tenant == "metered"}
    assert len(metered_pids) >= 2, "the metered jobs ran in one process only: no race"
    for job in jobs:
        assert job.started_at is not None
        assert runs[job.id].start >= job.started_at.timestamp()


def _stats(space: TenantSpace) -> dict[str, Any]:
    listed = json.loads(space.tenants("list", "--json"))
    return {row["tenant"]["name"]: row for row in listed}


def _alpha_started_after(space: TenantSpace, instant: float) -> list[int]:
    return [
        job.id
        for job in space.jobs()
        if job.tenant == "alpha"
        and job.started_at is not None
        and job.started_at.timestamp() > instant
    ]


@pytest.mark.slow
def test_pause_and_resume_through_the_cli(space: TenantSpace) -> None:
    assert "paused" in space.tenants("pause", "alpha")
    space.tenants("set", "alpha", "--max-running", "2")
    space.enqueue("hold", "alpha", [[0.05]] * 12)
    space.enqueue("hold", "beta", [[0.05]] * 12)
    workers = space.start_workers(WORKERS, 3)

    # Paused from the start: beta runs to the end, alpha not at all.
    wait_until(
        lambda: space.counts()[("beta", JobState.SUCCEEDED)] == 12,
        timeout=DEADLINE,
        what="beta's jobs to succeed",
    )
    assert space.counts()[("alpha", JobState.QUEUED)] == 12
    assert [e for e in space.events() if e.tenant == "alpha"] == []
    alpha = _stats(space)["alpha"]
    assert alpha["tenant"]["paused"] is True
    assert (alpha["waiting"], alpha["running"]) == (12, 0)

    # Resumed: alpha runs, still within its max_running (kept through pause and resume).
    assert "active" in space.tenants("resume", "alpha")
    _wait_all_succeeded(space, 24, "alpha's jobs to succeed after resume")
    assert not _stats(space)["alpha"]["tenant"]["paused"]

    # Paused while running: what runs finishes, nothing more starts, others go on.
    space.enqueue("hold", "alpha", [[0.3]] * 20)
    wait_until(
        lambda: space.counts()[("alpha", JobState.RUNNING)] > 0,
        timeout=DEADLINE,
        what="alpha's second batch to start",
    )
    space.tenants("pause", "alpha")
    paused_at = time.time()
    wait_until(
        lambda: space.counts()[("alpha", JobState.RUNNING)] == 0,
        timeout=DEADLINE,
        what="alpha's running jobs to finish",
    )
    space.enqueue("hold", "beta", [[0.05]] * 12)
    wait_until(
        lambda: space.counts()[("beta", JobState.SUCCEEDED)] == 24,
        timeout=DEADLINE,
        what="beta's second batch to succeed while alpha is paused",
    )
    waiting = space.counts()[("alpha", JobState.QUEUED)]
    assert waiting > 0, "alpha's batch ended before the pause took effect; nothing was tested"
    assert _alpha_started_after(space, paused_at) == []
    assert space.counts()[("alpha", JobState.QUEUED)] == waiting

    resumed_at = datetime.now(UTC)
    space.tenants("resume", "alpha")
    _wait_all_succeeded(space, 24 + 20 + 12, "every job to succeed after the second resume")
    space.stop(workers)
    assert len(_alpha_started_after(space, resumed_at.timestamp())) == waiting
    runs = [run for run in space.runs() if run.tenant == "alpha"]
    assert peak_overlap((run.start, run.end) for run in runs) <= 2
