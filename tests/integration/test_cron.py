"""Periodic jobs on real databases: racing schedulers (each an app with its own backend) enqueue
exactly one job per slot; slots follow the schedule's time zone; missed slots coalesce; a schedule
seen for the first time does not fire. Every test runs on SQLite (a file) and PostgreSQL."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from workhorse import JobState, Workhorse
from workhorse.backends import base as b
from workhorse.backends import open_backend
from workhorse.scheduling.cron import fire_due

SCHEDULERS = 6
CALLS_PER_SCHEDULER = 3
T0 = datetime(2030, 1, 15, 10, 0, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)

AppFactory = Callable[[], Workhorse]


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store of each kind: a SQLite file, or a migrated PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/cron.db"
    return str(request.getfixturevalue("migrated_url"))


@pytest.fixture
def scheduler_app(store_url: str) -> Iterator[AppFactory]:
    """Makes apps (each with its own backend and pool) that register the ``tick`` schedule
    every minute; all are closed at the end of the test."""
    made: list[Workhorse] = []

    def make() -> Workhorse:
        app = Workhorse(store_url)
        made.append(app)

        @app.periodic("* * * * *", name="tick", args=[1])
        def tick(n: int) -> int:
            return n

        app.use_backend(open_backend(store_url, auto_migrate=True))
        return app

    yield make
    for app in made:
        app.close()


def _fire(app: Workhorse, now: datetime) -> int:
    return fire_due(app, list(app.schedules.values()), now)


def _last_slots(app: Workhorse) -> dict[str, datetime]:
    return app.backend.periodic_list(b.PeriodicListParams())


def _second_of(slot: datetime, index: int) -> datetime:
    """Scheduler ``index``'s clock reading: a different second of ``slot``'s minute each."""
    return slot + timedelta(seconds=index * 7)


def _race(apps: list[Workhorse], now_of: Callable[[int], datetime]) -> list[int]:
    """Every app calls fire_due ``CALLS_PER_SCHEDULER`` times at once, app ``i`` at
    ``now_of(i)``; returns how many jobs each app enqueued."""
    start = threading.Barrier(len(apps))

    def run(index: int) -> int:
        start.wait(30)
        return sum(_fire(apps[index], now_of(index)) for _ in range(CALLS_PER_SCHEDULER))

    with ThreadPoolExecutor(len(apps)) as pool:
        return list(pool.map(run, range(len(apps))))


def test_racing_schedulers_enqueue_one_job_per_slot(scheduler_app: AppFactory) -> None:
    apps = [scheduler_app() for _ in range(SCHEDULERS)]
    slot0 = T0.replace(second=0)

    # Everyone sees the schedule for the first time at once: recorded once, nothing fired.
    assert _race(apps, lambda _: T0) == [0] * SCHEDULERS
    assert _last_slots(apps[0]) == {"tick": slot0}
    assert apps[0].list_jobs() == []

    slots = [slot0 + MINUTE * minute for minute in range(1, 5)]
    for slot in slots:
        fired = _race(apps, functools.partial(_second_of, slot))
        assert sum(fired) == 1, f"slot {slot:%H:%M} fired {sum(fired)} times"

    jobs = sorted(apps[0].list_jobs(), key=lambda job: job.id)
    assert len(jobs) == len(slots)
    assert all((job.task, job.args, job.state) == ("tick", [1], JobState.QUEUED) for job in jobs)
    # Each job was enqueued by the winner of its slot, at a `now` inside that slot.
    assert [job.created_at.replace(second=0) for job in jobs] == slots
    for app in apps:
        assert _last_slots(app) == {"tick": slots[-1]}
        assert _fire(app, slots[-1] + timedelta(seconds=59)) == 0


def test_a_first_sighting_does_not_fire(scheduler_app: AppFactory) -> None:
    app = scheduler_app()
    on_a_slot = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)

    assert _fire(app, on_a_slot) == 0
    assert app.list_jobs() == []
    assert _last_slots(app) == {"tick": on_a_slot}
    assert _fire(app, on_a_slot + timedelta(seconds=59)) == 0, "the same slot never fires"
    assert app.list_jobs() == []

    assert _fire(app, on_a_slot + MINUTE) == 1
    assert len(app.list_jobs()) == 1


def test_missed_slots_coalesce_into_one_run(scheduler_app: AppFactory) -> None:
    app = scheduler_app()
    assert _fire(app, T0) == 0

    # Seven slots (10:01 … 10:07) went by with no scheduler running: one run, for the latest.
    late = T0 + timedelta(minutes=7, seconds=10)
    assert _fire(app, late) == 1
    assert len(app.list_jobs()) == 1
    assert _last_slots(app) == {"tick": late.replace(second=0)}
    assert _fire(app, late + timedelta(seconds=15)) == 0

    assert _fire(app, late.replace(second=0) + MINUTE) == 1
    assert len(app.list_jobs()) == 2


@pytest.mark.parametrize(
    ("recorded", "due_utc"),
    [
        pytest.param(datetime(2030, 1, 14, 12, 0), datetime(2030, 1, 15, 8, 0), id="winter"),
        pytest.param(datetime(2030, 7, 14, 12, 0), datetime(2030, 7, 15, 7, 0), id="summer"),
        # Clocks go forward at 02:00 on 31 March 2030: 09:00 the day before is still 08:00 UTC,
        # 09:00 that day is already 07:00 UTC.
        pytest.param(datetime(2030, 3, 30, 12, 0), datetime(2030, 3, 31, 7, 0), id="spring"),
        # Clocks go back at 03:00 on 27 October 2030: 09:00 that day is 08:00 UTC.
        pytest.param(datetime(2030, 10, 26, 12, 0), datetime(2030, 10, 27, 8, 0), id="autumn"),
    ],
)
def test_a_schedule_fires_at_local_time(
    store_url: str, recorded: datetime, due_utc: datetime
) -> None:
    app = Workhorse(store_url)

    @app.periodic("0 9 * * *", timezone="Europe/Paris", name="morning")
    def morning() -> None:
        return None

    try:
        recorded, due_utc = recorded.replace(tzinfo=UTC), due_utc.replace(tzinfo=UTC)
        assert _fire(app, recorded) == 0
        assert _fire(app, due_utc - timedelta(seconds=1)) == 0, "not before 09:00 in Paris"
        assert app.list_jobs() == []

        assert _fire(app, due_utc) == 1
        assert _last_slots(app) == {"morning": due_utc}
        [job] = app.list_jobs()
        assert (job.task, job.run_at) == ("morning", due_utc)

        next_day = due_utc + timedelta(days=1)
        assert _fire(app, next_day - timedelta(hours=2)) == 0, "once a day"
        assert len(app.list_jobs()) == 1
    finally:
        app.close()
