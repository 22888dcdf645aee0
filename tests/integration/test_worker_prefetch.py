"""Claiming ahead: short jobs are claimed beyond the free slots, long ones never; a stop hands
jobs claimed ahead back without spending their attempt."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from workhorse import Workhorse
from workhorse.jobs import JobState
from workhorse.worker.config import WorkerConfig
from workhorse.worker.runtime import Worker

app = Workhorse()
workers: list[Worker] = []


@app.task
async def quick() -> None:
    """Returns at once."""


@app.task
async def slow() -> None:
    await asyncio.sleep(0.05)


@app.task
async def stopper() -> None:
    workers[0].stop()


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[Workhorse]:
    app.close()
    app.database_url = f"sqlite:///{tmp_path / 'prefetch.db'}"
    workers.clear()
    yield app
    app.close()


def _run(worker: Worker) -> None:
    workers.append(worker)
    asyncio.run(asyncio.wait_for(worker.run_async(), timeout=60))


def test_short_jobs_are_claimed_ahead_of_free_slots(sqlite_app: Workhorse) -> None:
    sqlite_app.enqueue_many([quick.prepare() for _ in range(60)])
    worker = Worker(sqlite_app, WorkerConfig(burst=True, concurrency=2, prefetch=4))
    _run(worker)
    assert worker.stats.succeeded == 60
    assert worker.stats.claim_batches[0] <= 2, "nothing is known of run times before a claim"
    assert max(worker.stats.claim_batches) > 2, "short jobs are claimed ahead"
    assert max(worker.stats.claim_batches) <= 6, "at most concurrency + prefetch"


def test_long_jobs_are_never_claimed_ahead(sqlite_app: Workhorse) -> None:
    sqlite_app.enqueue_many([slow.prepare() for _ in range(8)])
    # 50 ms jobs against the default threshold of 20 ms: measured long, never claimed ahead.
    assert WorkerConfig().prefetch_below == timedelta(milliseconds=20)
    worker = Worker(sqlite_app, WorkerConfig(burst=True, concurrency=2, prefetch=4))
    started = time.monotonic()
    _run(worker)
    assert worker.stats.succeeded == 8
    assert max(worker.stats.claim_batches) <= 2
    assert time.monotonic() - started >= 0.2, "2 slots, 8 jobs of 50 ms: 4 rounds at least"


def test_stopping_hands_jobs_claimed_ahead_back(sqlite_app: Workhorse) -> None:
    specs = [quick.prepare() for _ in range(10)] + [stopper.prepare()]
    sqlite_app.enqueue_many(specs + [quick.prepare() for _ in range(20)])
    worker = Worker(sqlite_app, WorkerConfig(concurrency=1, prefetch=4))
    _run(worker)
    assert worker.stats.released >= 1, "jobs claimed ahead when the stop came are handed back"
    jobs = sqlite_app.list_jobs(limit=100)
    assert {job.state for job in jobs} <= {JobState.SUCCEEDED, JobState.QUEUED}
    waiting = [job for job in jobs if job.state is JobState.QUEUED]
    assert len(waiting) == 31 - worker.stats.succeeded
    assert all(job.attempts == 0 for job in waiting), "a hand-back spends no attempt"
