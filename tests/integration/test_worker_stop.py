"""A stop is never lost: before the run, twice, from another thread, and while the database fails
or hangs. The run then ends within its grace period plus the bounded clean-up, and what it could
not hand back is counted, logged and left to lease expiry.

The worker runs on SQLite behind :class:`Outage`, which makes chosen backend operations fail or
hang on demand.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from workhorse import JobState, Worker, WorkerConfig, Workhorse
from workhorse.backends import base as b
from workhorse.backends import open_backend
from workhorse.errors import DatabaseError
from workhorse.worker import session

app = Workhorse()
finish = threading.Event()
"""Lets ``held`` return."""


@app.task
async def sleeper() -> None:
    await asyncio.sleep(60)


@app.task
def held() -> str:
    finish.wait(30)
    return "done"


class Outage:
    """The real backend, except that operations fail while ``down`` (all of them, or those in
    ``failing``), or block until ``restore`` while ``hanging``; those in ``slow`` wait for
    ``let_go`` and then run."""

    def __init__(self, inner: b.Backend) -> None:
        self._inner = inner
        self.down = False
        self.hanging = False
        self.failing: set[str] = set()
        self.failed: Counter[str] = Counter()
        self.hung: Counter[str] = Counter()
        self.slow: set[str] = set()
        self.held: Counter[str] = Counter()
        self.ran_late: Counter[str] = Counter()
        self._restored = threading.Event()
        self._let_go = threading.Event()

    def let_go(self) -> None:
        """The calls held in ``slow`` run now."""
        self.slow.clear()
        self._let_go.set()

    def restore(self) -> None:
        """Back to normal; hung calls return (with an error)."""
        self.down = self.hanging = False
        self.failing.clear()
        self._restored.set()

    def __getattr__(self, name: str) -> Any:
        operation = getattr(self._inner, name)
        if name.startswith("_") or not callable(operation) or name == "close":
            return operation

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.hanging:
                self.hung[name] += 1
                self._restored.wait(60)
                raise DatabaseError(f"{name}: the connection was lost")
            if self.down or name in self.failing:
                self.failed[name] += 1
                raise DatabaseError(f"{name}: the database is unreachable")
            if name in self.slow:
                self.held[name] += 1
                self._let_go.wait(60)
                result = operation(*args, **kwargs)
                self.ran_late[name] += 1
                return result
            return operation(*args, **kwargs)

        return call


@pytest.fixture
def outage(tmp_path: Path) -> Iterator[Outage]:
    app.close()
    app.database_url = f"sqlite:///{tmp_path / 'stop.db'}"
    wrapper = Outage(open_backend(app.database_url))
    app.use_backend(cast(b.Backend, wrapper))
    finish.clear()
    try:
        yield wrapper
    finally:
        wrapper.restore()
        finish.set()
        app.close()


def _worker(grace: float = 10, concurrency: int = 2) -> Worker:
    config = WorkerConfig(
        concurrency=concurrency,
        grace=timedelta(seconds=grace),
        poll_interval=timedelta(milliseconds=20),
        heartbeat_interval=timedelta(milliseconds=200),
        maintenance=False,
    )
    return Worker(app, config)


async def _until(check: Callable[[], object], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def _ends_within(run: asyncio.Task[None], seconds: float) -> float:
    """How long ``run`` took to end from now; fails if longer than ``seconds``."""
    started = time.monotonic()
    try:
        await asyncio.wait_for(asyncio.shield(run), seconds)
    except TimeoutError:
        run.cancel()
        raise AssertionError(f"the worker still runs {seconds:g}s after the stop") from None
    return time.monotonic() - started


def _state(job_id: int) -> JobState:
    return app.get_job(job_id).state


def test_a_stop_during_a_claim_outage_ends_the_run(outage: Outage) -> None:
    async def scenario() -> None:
        outage.failing |= {"job_claim", "job_poll"}
        worker = _worker()
        run = asyncio.create_task(worker.run_async())
        # The claim backoff has grown past the bound below: a stop that waits it out fails.
        await _until(lambda: outage.failed["job_claim"] >= 6, "claims to keep failing")
        worker.stop()
        await _ends_within(run, 1.5)
        assert worker.stats.stranded == 0

    asyncio.run(scenario())


def test_a_stop_before_the_run_ends_it_at_once(outage: Outage) -> None:
    job = sleeper.enqueue()
    worker = _worker()
    worker.stop()
    asyncio.run(asyncio.wait_for(worker.run_async(), 5))
    assert worker.stats.claimed == 0
    assert (app.get_job(job.id).state, app.get_job(job.id).attempts) == (JobState.QUEUED, 0)
    assert app.backend.worker_list(b.WorkerListParams()) == []
    with pytest.raises(RuntimeError, match="runs once"):
        asyncio.run(worker.run_async())


def test_a_second_stop_from_another_thread_hands_running_jobs_back(outage: Outage) -> None:
    job = sleeper.enqueue()

    async def scenario() -> Worker:
        worker = _worker(grace=60)
        run = asyncio.create_task(worker.run_async())
        await _until(lambda: _state(job.id) is JobState.RUNNING, "the job to run")
        for _ in range(2):
            stopper = threading.Thread(target=worker.stop)
            stopper.start()
            stopper.join()
        await _ends_within(run, 5)  # well before the 60 s grace period
        worker.stop()  # after the run: changes nothing
        return worker

    worker = asyncio.run(scenario())
    assert (worker.stats.released, worker.stats.stranded) == (1, 0)
    assert (app.get_job(job.id).state, app.get_job(job.id).attempts) == (JobState.QUEUED, 0)


def test_a_claim_in_flight_at_a_second_stop_takes_back_none_of_the_jobs_handed_back(
    outage: Outage,
) -> None:
    """The hand-back waits for the claim in flight: run after it, the claim would take the job
    the hand-back had just returned to the queue, to sit under this stopped worker's lease."""
    job = sleeper.enqueue()

    async def scenario() -> None:
        worker = _worker(grace=60)
        run = asyncio.create_task(worker.run_async())
        await _until(lambda: _state(job.id) is JobState.RUNNING, "the job to run")
        outage.slow.add("job_claim")
        worker.wake()
        await _until(lambda: outage.held["job_claim"], "a claim in flight")
        for _ in range(2):
            worker.stop()
        threading.Timer(0.3, outage.let_go).start()
        await _ends_within(run, 5)
        assert (worker.stats.released, worker.stats.stranded) == (1, 0)

    asyncio.run(scenario())
    deadline = time.monotonic() + 10
    while not outage.ran_late["job_claim"]:  # however the run ended, the claim has run
        assert time.monotonic() < deadline, "the held claim never ran"
        time.sleep(0.02)
    assert (app.get_job(job.id).state, app.get_job(job.id).attempts) == (JobState.QUEUED, 0)


def test_a_stop_while_heartbeats_and_outcome_writes_fail_strands_only_those_jobs(
    outage: Outage, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(session, "CLEAN_UP", 1.0)
    long, short = sleeper.enqueue(), held.enqueue()

    async def scenario() -> Worker:
        worker = _worker(grace=0.5)
        run = asyncio.create_task(worker.run_async())
        await _until(lambda: {_state(long.id), _state(short.id)} == {JobState.RUNNING}, "jobs")
        outage.down = True
        finish.set()
        await _until(lambda: worker.stats.succeeded == 1, "the short job to finish")
        await _until(lambda: outage.failed["job_heartbeat"] >= 1, "a heartbeat to fail")
        worker.stop()
        # The grace period, then the clean-up time retrying the hand-back and the outcomes.
        assert await _ends_within(run, 0.5 + 1.0 + 1.5) >= 0.5 + 1.0
        return worker

    with caplog.at_level(logging.INFO, logger="workhorse.worker"):
        worker = asyncio.run(scenario())
    assert worker.stats.stranded == 2
    assert outage.failed["job_finish_many"] >= 1
    assert outage.failed["job_release"] >= 1
    messages = [record.getMessage() for record in caplog.records]
    assert any(m.startswith("could not hand back 1 job(s): DatabaseError") for m in messages)
    assert any(m.startswith("could not write the outcome of 1 job(s)") for m in messages)
    outage.restore()
    # Still running under the stopped worker's lease: they come back when it expires.
    assert {_state(long.id), _state(short.id)} == {JobState.RUNNING}


def test_a_stop_does_not_wait_for_a_database_that_hangs(
    outage: Outage, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(session, "CLEAN_UP", 1.0)
    job = sleeper.enqueue()

    async def scenario() -> Worker:
        worker = _worker(grace=0.5)
        run = asyncio.create_task(worker.run_async())
        await _until(lambda: _state(job.id) is JobState.RUNNING, "the job to run")
        outage.hanging = True
        # The fetcher's next call is a claim (right after one that took a job) or, once a claim
        # found nothing, a poll: either now waits on the database.
        await _until(
            lambda: outage.hung["job_poll"] or outage.hung["job_claim"],
            "the fetcher to wait on the database",
        )
        worker.stop()
        await _ends_within(run, 0.5 + 1.0 + 1.5)
        return worker

    with caplog.at_level(logging.INFO, logger="workhorse.worker"):
        worker = asyncio.run(scenario())
    assert worker.stats.stranded == 1
    assert worker.threads_alive >= 1, "the hung database calls are left running"
    messages = [record.getMessage() for record in caplog.records]
    assert any(m.startswith("the fetcher got no answer from the database") for m in messages)
    assert any(
        m.startswith("could not hand back 1 job(s): the database did not answer") for m in messages
    )


def test_a_stop_while_the_database_hangs_at_start_ends_the_run(outage: Outage) -> None:
    async def scenario() -> None:
        outage.hanging = True
        worker = _worker()
        run = asyncio.create_task(worker.run_async())
        await _until(lambda: outage.hung["worker_heartbeat"], "the worker to register")
        worker.stop()
        await _ends_within(run, 1.5)
        assert worker.threads_alive == 1, "the registration is left to its thread"

    asyncio.run(scenario())
