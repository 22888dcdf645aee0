"""``workhorse_desired_workers`` follows a load step up and down, on real databases.

A simulated clock drives the app: every 5 s some jobs arrive, a fixed capacity of them is
claimed and finished 2 s later (through the storage Protocol, as workers would), and the gauges
are scraped. A burst of jobs must raise the desired count at the first scrape after it; once the
burst is drained the count must hold for the cooldown, then come back down.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from workhorse import Workhorse
from workhorse.backends import base as b
from workhorse.jobs import JobState
from workhorse.observability.autoscale import AutoscaleSettings
from workhorse.observability.exposition import exposition_registry
from workhorse.observability.gauges import DatabaseGauges, GaugeSettings

T0 = datetime(2030, 1, 1, tzinfo=UTC)
TICK = 5
BURST_AT, BURST = 120, 1200
TRICKLE = 5
"""Jobs arriving per tick outside the burst (1 per second)."""
CAPACITY = 400
"""Jobs the simulated workers claim per tick."""
RUN = 2
COOLDOWN = timedelta(minutes=5)
SETTINGS = GaugeSettings(
    interval=timedelta(seconds=TICK),
    autoscale=AutoscaleSettings(
        min_workers=1,
        max_workers=20,
        slots_per_worker=10,
        headroom=0.2,
        drain_target=timedelta(minutes=1),
        cooldown=COOLDOWN,
        window=timedelta(minutes=1),
    ),
)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> None:
        self.now = T0 + timedelta(seconds=seconds)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/autoscale.db"
    return str(request.getfixturevalue("migrated_url"))


@pytest.fixture
def app(store_url: str) -> Iterator[Workhorse]:
    app = Workhorse(store_url, clock=Clock())

    @app.task
    def work() -> None:
        """Never run: the test claims and finishes jobs itself."""

    try:
        yield app
    finally:
        app.close()


@dataclass(frozen=True)
class Scrape:
    second: int
    target: int
    desired: float
    backlog: int
    arrival_rate: float
    mean_run_seconds: float


def _tick(app: Workhorse, clock: Clock, second: int) -> None:
    """Jobs arrive at ``second``; the workers claim at +1 and finish at +1+RUN."""
    clock.at(second)
    arriving = TRICKLE + (BURST if second == BURST_AT else 0)
    app.enqueue_many([app.get_task("work").prepare() for _ in range(arriving)])
    clock.at(second + 1)
    claimed = app.backend.job_claim(
        b.JobClaimParams(
            worker_id="sim",
            queues=["default"],
            limit=CAPACITY,
            lease_token=uuid.uuid4().hex,
            lease_for=timedelta(seconds=30),
            now=clock(),
        )
    )
    clock.at(second + 1 + RUN)
    outcomes = [
        b.Outcome(id=j.id, lease_token=j.lease_token, attempt=j.attempt, state=JobState.SUCCEEDED)
        for j in claimed
    ]
    if outcomes:
        app.backend.job_finish_many(b.JobFinishManyParams(outcomes=outcomes, now=clock()))


def test_desired_workers_follows_a_load_step_up_and_down(app: Workhorse) -> None:
    clock = app.clock
    assert isinstance(clock, Clock)
    gauges = DatabaseGauges(app, SETTINGS)
    registry = exposition_registry(gauges)
    scrapes: list[Scrape] = []
    for second in range(0, 900, TICK):
        _tick(app, clock, second)
        clock.at(second + TICK - 1)  # the scrape, just before the next tick
        desired = registry.get_sample_value("workhorse_desired_workers")
        assert desired is not None
        reading = gauges.read()
        scrapes.append(
            Scrape(
                second=second + TICK - 1,
                target=reading.target_workers,
                desired=desired,
                backlog=reading.load.backlog,
                arrival_rate=reading.load.arrival_rate,
                mean_run_seconds=reading.load.mean_run_seconds,
            )
        )
    by_second = {s.second: s for s in scrapes}
    before, first, last = by_second[BURST_AT - 1], by_second[BURST_AT + 4], scrapes[-1]

    # Steady trickle: 1 job/s of 2 s = 2 busy slots, one worker.
    assert (before.arrival_rate, before.mean_run_seconds, before.backlog) == (1.0, RUN, 0)
    assert before.desired == 1
    # The burst: up at the first scrape, sized by the formula on what the database holds.
    assert first.backlog == BURST + TRICKLE - CAPACITY
    assert first.arrival_rate == pytest.approx((BURST + 12 * TRICKLE) / 60)
    busy = first.arrival_rate * first.mean_run_seconds
    assert first.target == -(-(busy + first.backlog / 60) / 10 * 1.2 // 1)
    assert first.desired == first.target > 5
    # Drained within a few ticks; the need falls back to one worker once the burst has left
    # the arrival window.
    drained = next(s for s in scrapes if s.second > BURST_AT and s.backlog == 0)
    assert drained.second <= BURST_AT + 4 + 3 * TICK
    last_high = max(s.second for s in scrapes if s.target > 1)
    assert last_high <= BURST_AT + 60 + TICK
    # Held through the cooldown after the last high need (never below any need of it), then
    # back to one worker.
    for scrape in scrapes:
        window = [s.target for s in scrapes if scrape.second - 300 <= s.second <= scrape.second]
        assert scrape.desired >= max(window)
    held = [s for s in scrapes if last_high < s.second < last_high + COOLDOWN.total_seconds()]
    assert held and all(s.desired > 1 for s in held)
    assert by_second[last_high + 300 + TICK].desired == 1
    assert last.desired == 1
    _report(app, scrapes, first, last_high)


def _report(app: Workhorse, scrapes: list[Scrape], first: Scrape, last_high: int) -> None:
    """The timeline, for ``pytest -s``: what the gauge did and why."""
    print(f"\n{app.database_url.split(':')[0]}: desired workers over time (second: desired/target)")
    changes = [s for i, s in enumerate(scrapes) if i == 0 or s.desired != scrapes[i - 1].desired]
    for s in changes:
        print(
            f"  t={s.second:>3}s desired={s.desired:g} target={s.target} backlog={s.backlog} "
            f"arrival={s.arrival_rate:.2f}/s mean_run={s.mean_run_seconds:.2f}s"
        )
    print(f"  peak {first.desired:g} at t={first.second}s; last need above 1 at t={last_high}s")
