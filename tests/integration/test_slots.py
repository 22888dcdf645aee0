"""Slots: a job takes its task's ``slots`` of the worker's concurrency, and the weight of the
jobs running at once never exceeds the concurrency, with heavy and light jobs racing."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from workhorse import JobState, Worker, WorkerConfig, Workhorse

app = Workhorse()
CONCURRENCY = 4


class Weight:
    """The weight running now, and the most seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0

    def enter(self, slots: int) -> None:
        with self._lock:
            self.now += slots
            self.most = max(self.most, self.now)

    def leave(self, slots: int) -> None:
        with self._lock:
            self.now -= slots


weight = Weight()


@app.task(slots=3)
def heavy() -> None:
    weight.enter(3)
    time.sleep(0.02)
    weight.leave(3)


@app.task(slots=2)
async def medium() -> None:
    weight.enter(2)
    await asyncio.sleep(0.01)
    weight.leave(2)


@app.task
async def light() -> None:
    weight.enter(1)
    await asyncio.sleep(0.005)
    weight.leave(1)


@app.task(slots=50)
def huge() -> None:
    weight.enter(CONCURRENCY)
    weight.leave(CONCURRENCY)


@pytest.fixture(params=["sqlite", "postgres"])
def slots_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workhorse]:
    app.close()
    if request.param == "sqlite":
        app.database_url = f"sqlite:///{tmp_path / 'slots.db'}"
    else:
        app.database_url = request.getfixturevalue("migrated_url")
    weight.most = weight.now = 0
    yield app
    app.close()


def test_running_weight_never_exceeds_the_concurrency(slots_app: Workhorse) -> None:
    specs = [task.prepare() for _ in range(20) for task in (heavy, light, medium, light)]
    slots_app.enqueue_many([*specs, huge.prepare()])
    worker = Worker(slots_app, WorkerConfig(burst=True, concurrency=CONCURRENCY, prefetch=8))
    asyncio.run(asyncio.wait_for(worker.run_async(), timeout=60))
    assert worker.stats.succeeded == len(specs) + 1
    assert weight.most == CONCURRENCY, "heavy jobs ran, and never past the concurrency"
    jobs = slots_app.list_jobs(limit=200)
    assert {job.state for job in jobs} == {JobState.SUCCEEDED}
