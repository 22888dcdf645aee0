"""An idle worker polls on its timer, but claims at once when woken: a notification of new jobs
(PostgreSQL's LISTEN, SQLite's watch) already says there is work, so asking first would only add
a round trip between the enqueue and the start."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from conditions import wait_for
from workhorse import JobState, Worker, WorkerConfig, Workhorse


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/wake.db"
    return str(request.getfixturevalue("migrated_url"))


def _round_trips(app: Workhorse, operation: str) -> float:
    count = app.metrics.registry.get_sample_value(
        "workhorse_db_round_trip_seconds_count", {"operation": operation}
    )
    return count or 0.0


@contextmanager
def _idle_worker(app: Workhorse, poll_interval: timedelta) -> Iterator[None]:
    config = WorkerConfig(concurrency=2, poll_interval=poll_interval, maintenance=False)
    worker = Worker(app, config)
    thread = threading.Thread(target=lambda: asyncio.run(worker.run_async()), daemon=True)
    thread.start()
    try:
        # Counted once the first claim returned, empty: the worker is idle from here on, and a
        # wake-up that comes before it pauses is kept for the pause.
        wait_for(lambda: _round_trips(app, "claim") >= 1, "the first claim")
        yield
    finally:
        worker.stop()  # thread-safe
        thread.join(15)
        app.close()
    assert not thread.is_alive()


def test_a_woken_idle_worker_claims_without_polling_first(store_url: str) -> None:
    app = Workhorse(store_url)

    @app.task
    def ok() -> None:
        return None

    # Polls at most every minute: within the test, every look for work comes from a wake-up.
    with _idle_worker(app, timedelta(seconds=60)):
        polls, claims = _round_trips(app, "poll"), _round_trips(app, "claim")
        job = ok.enqueue()
        wait_for(lambda: app.get_job(job.id).state is JobState.SUCCEEDED, "the job")
        assert _round_trips(app, "poll") == polls
        assert _round_trips(app, "claim") > claims


def test_an_idle_worker_polls_when_its_interval_ends(store_url: str) -> None:
    app = Workhorse(store_url)
    # With a listener the interval is a second at least.
    with _idle_worker(app, timedelta(milliseconds=50)):
        claims = _round_trips(app, "claim")
        wait_for(lambda: _round_trips(app, "poll") >= 1, "a poll", timeout=10)
        assert _round_trips(app, "claim") == claims, "a poll that finds nothing claims nothing"
