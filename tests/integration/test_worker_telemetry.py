"""A real worker's metrics and log lines: what it ran, how it ended, what it lost.

The worker runs in a thread with its own event loop on SQLite and PostgreSQL; its registry and
its app's are read directly, and its log lines are formatted as they are written.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from conditions import wait_for
from workhorse import JobState, RetryPolicy, Worker, WorkerConfig, Workhorse
from workhorse.observability.logs import JsonFormatter
from workhorse.scheduling.maintenance import MaintenanceConfig

TASKS_LOG = logging.getLogger("tests.tasks")


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/telemetry.db"
    return str(request.getfixturevalue("migrated_url"))


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """Every record of the worker and the tasks, as the JSON lines they would be."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger("workhorse.worker"), TASKS_LOG]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def _app(url: str, release: threading.Event) -> Workhorse:
    app = Workhorse(url)

    @app.task
    def ok(n: int) -> int:
        return n

    @app.task(max_attempts=2, retry=RetryPolicy(base=timedelta(milliseconds=20)))
    def charge(cents: int) -> None:
        TASKS_LOG.info("charging %d", cents)
        raise ValueError("card declined")

    @app.task
    async def slow() -> None:
        await asyncio.sleep(30)

    @app.task
    def held() -> None:
        release.wait(30)

    return app


def test_a_worker_counts_what_it_ran_and_how_each_attempt_ended(
    store_url: str, lines: io.StringIO
) -> None:
    release = threading.Event()
    app = _app(store_url, release)
    config = WorkerConfig(
        concurrency=4,
        poll_interval=timedelta(milliseconds=20),
        heartbeat_interval=timedelta(milliseconds=300),
        grace=timedelta(seconds=5),
    )
    worker = Worker(
        app, config, maintenance=MaintenanceConfig(promote_interval=timedelta(milliseconds=50))
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(worker.run_async(),), daemon=True
    )
    try:
        ok_ids = [app.enqueue("ok", [n], tenant="acme").id for n in range(5)]
        charge_id = app.enqueue("charge", [250], tenant="globex").id
        slow_id = app.enqueue("slow", tenant="acme").id
        thread.start()
        wait_for(lambda: app.get_job(charge_id).state is JobState.DEAD, "the failing job to die")
        wait_for(lambda: app.get_job(slow_id).state is JobState.RUNNING, "the slow job to run")
        held_id = app.enqueue("held").id
        wait_for(lambda: _value(worker, "workhorse_worker_busy_slots") == 2, "two busy slots")
        app.cancel(slow_id)
        wait_for(lambda: _finished(worker, "slow", "cancelled") == 1, "the cancel to be noticed")
        release.set()
        wait_for(lambda: app.get_job(held_id).state is JobState.SUCCEEDED, "the held job")
        assert all(app.get_job(i).state is JobState.SUCCEEDED for i in ok_ids)
        wait_for(lambda: _value(worker, "workhorse_completion_batch_size_sum") == 8, "the writes")
    finally:
        loop.call_soon_threadsafe(worker.stop)
        thread.join(15)
        loop.close()
        app.close()
    assert not thread.is_alive()
    _check_worker_metrics(worker)
    _check_app_metrics(app)
    _check_log_lines(lines.getvalue(), worker, charge_id)


def _check_worker_metrics(worker: Worker) -> None:
    assert _started(worker, "ok") == 5
    assert _finished(worker, "ok", "succeeded") == 5
    assert _started(worker, "charge") == 2
    assert (_finished(worker, "charge", "retried"), _finished(worker, "charge", "dead")) == (1, 1)
    assert _value(worker, "workhorse_job_retries_total", queue="default", task="charge") == 1
    assert _value(worker, "workhorse_jobs_dead_total", queue="default", task="charge") == 1
    assert _finished(worker, "slow", "cancelled") == 1
    assert _value(worker, "workhorse_lease_losses_total") == 1
    # Run times for the attempts that ran to an end; waits for every start.
    assert _value(worker, "workhorse_job_run_seconds_count", queue="default", task="ok") == 5
    assert _value(worker, "workhorse_job_run_seconds_count", queue="default", task="slow") == 0
    assert _value(worker, "workhorse_job_wait_seconds_count", queue="default") == 9
    assert _value(worker, "workhorse_claim_batch_size_sum") == 9
    # 5 + 2 + 1 outcomes written; the cancelled attempt wrote none.
    assert _value(worker, "workhorse_completion_batch_size_sum") == 8
    assert _value(worker, "workhorse_worker_slots") == 4
    assert _value(worker, "workhorse_worker_busy_slots") == 0


def _check_app_metrics(app: Workhorse) -> None:
    for operation in ("claim", "complete", "heartbeat"):  # polls: test_worker_wake.py
        count = app.metrics.registry.get_sample_value(
            "workhorse_db_round_trip_seconds_count", {"operation": operation}
        )
        assert count is not None and count >= 1, operation
    enqueued = app.metrics.registry.get_sample_value(
        "workhorse_jobs_enqueued_total", {"queue": "default", "task": "ok"}
    )
    assert enqueued == 5


def _check_log_lines(text: str, worker: Worker, charge_id: int) -> None:
    logged = [json.loads(line) for line in text.splitlines()]
    charging = [line for line in logged if line["message"] == "charging 250"]
    assert [line["attempt"] for line in charging] == [1, 2]
    for line in charging:
        assert (line["job_id"], line["tenant"], line["task"]) == (charge_id, "globex", "charge")
        assert line["worker_id"] == worker.id
    failed = [line for line in logged if "attempt 2 failed" in line["message"]]
    assert [(line["job_id"], line["attempt"]) for line in failed] == [(charge_id, 2)]
    lost = [line for line in logged if "no longer held" in line["message"]]
    assert [line["worker_id"] for line in lost] == [worker.id]
    assert "job_id" not in lost[0], "logged by the heartbeat, outside the job"


def _value(worker: Worker, name: str, **labels: str) -> float | None:
    return worker.metrics.registry.get_sample_value(name, labels)


def _started(worker: Worker, task: str) -> Any:
    return _value(worker, "workhorse_jobs_started_total", queue="default", task=task)


def _finished(worker: Worker, task: str, outcome: str) -> Any:
    labels = {"queue": "default", "task": task, "outcome": outcome}
    return worker.metrics.registry.get_sample_value("workhorse_jobs_finished_total", labels)
