"""Process isolation with real processes, on both backends: hard timeouts and memory limits,
crashes that cost only their own attempt, no process left behind, recycling and cancel."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from acceptance._harness import wait_until
from workhorse import JobState, Worker, WorkerConfig, Workhorse

from . import isolation_tasks as t

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgres"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workhorse]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'isolation.db'}"
    else:
        url = request.getfixturevalue("migrated_url")
    yield t.use(url, tmp_path)
    t.app.close()


def run_burst(app: Workhorse, **config: object) -> Worker:
    worker = Worker(app, WorkerConfig(burst=True, **config))  # type: ignore[arg-type]
    asyncio.run(asyncio.wait_for(worker.run_async(), timeout=60))
    return worker


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def noted_pids(tmp_path: Path) -> list[int]:
    path = tmp_path / t.PIDS
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def last_error(app: Workhorse, job_id: int) -> tuple[str, str]:
    error = app.get_job(job_id).errors[-1]
    return error.type, error.message


def test_arguments_results_progress_and_context_cross_to_the_child(app: Workhorse) -> None:
    sync = t.whoami.enqueue("a").id
    async_ = t.doubled.enqueue(21).id
    inline = t.inline_pid.enqueue().id
    per_call = t.inline_pid.with_options(isolation="process").enqueue().id
    run_burst(app, concurrency=2, processes=2)
    job = app.get_job(sync)
    assert job.state is JobState.SUCCEEDED
    assert isinstance(job.result, dict)
    assert job.result["job"] == sync and job.result["attempt"] == 1
    assert job.result["label"] == "a" and job.progress == {"label": "a"}
    assert job.result["pid"] != os.getpid()
    assert app.get_job(async_).result == 42
    assert app.get_job(inline).result == os.getpid()
    assert app.get_job(per_call).result not in (None, os.getpid())


def test_a_timeout_kills_the_child_and_frees_the_slot(app: Workhorse, tmp_path: Path) -> None:
    hung = t.hang.enqueue().id
    after = t.whoami.enqueue("after").id
    started = time.monotonic()
    run_burst(app, concurrency=1, processes=1)
    assert time.monotonic() - started < 10
    job = app.get_job(hung)
    assert job.state is JobState.DEAD
    assert last_error(app, hung)[0] == "JobTimeoutError"
    assert job.started_at is not None and job.finished_at is not None
    assert (job.finished_at - job.started_at).total_seconds() < 2
    assert app.get_job(after).state is JobState.SUCCEEDED
    assert not [pid for pid in noted_pids(tmp_path) if alive(pid)]


def test_a_timed_out_job_leaves_no_grandchild(app: Workhorse, tmp_path: Path) -> None:
    job_id = t.hang_with_grandchildren.enqueue().id
    run_burst(app, concurrency=1, processes=1)
    assert last_error(app, job_id)[0] == "JobTimeoutError"
    pids = noted_pids(tmp_path)
    assert len(pids) == 2
    wait_until(lambda: not any(alive(pid) for pid in pids), timeout=5, what="grandchildren gone")


@pytest.mark.parametrize("task", [t.hog_at_once, t.hog_slowly])
def test_memory_above_the_limit_fails_only_that_job(app: Workhorse, task: object) -> None:
    hog = task.enqueue().id  # type: ignore[attr-defined]
    others = [t.whoami.enqueue(str(n)).id for n in range(4)]
    run_burst(app, concurrency=2, processes=2)
    kind, message = last_error(app, hog)
    assert kind == "JobMemoryError"
    assert "limit 200 MiB" in message
    assert all(app.get_job(i).state is JobState.SUCCEEDED for i in others)


def test_the_rss_watch_names_what_the_job_used(app: Workhorse) -> None:
    hog = t.hog_slowly.enqueue().id
    run_burst(app, concurrency=1, processes=1)
    message = last_error(app, hog)[1]
    assert message.startswith("used ") and message.endswith(", limit 200 MiB")


def test_crashes_cost_only_their_own_attempt(app: Workhorse) -> None:
    exited = t.exits.enqueue(3).id
    segv = t.segfault.enqueue().id
    others = [t.whoami.enqueue(str(n)).id for n in range(4)]
    run_burst(app, concurrency=2, processes=2)
    assert last_error(app, exited) == ("JobCrashedError", "the job's process exited with code 3")
    assert last_error(app, segv) == ("JobCrashedError", "the job's process was killed by SIGSEGV")
    assert all(app.get_job(i).state is JobState.SUCCEEDED for i in others)


def test_a_crashed_job_is_retried_by_its_policy(app: Workhorse) -> None:
    job_id = t.crash_first.enqueue("crashed-once").id
    run_burst(app, concurrency=1, processes=1)
    job = app.get_job(job_id)
    assert job.state is JobState.SUCCEEDED and job.attempts == 2
    assert [e.type for e in job.errors] == ["JobCrashedError"]


def test_a_task_error_keeps_its_type_and_message(app: Workhorse) -> None:
    job_id = t.fails.enqueue().id
    run_burst(app, concurrency=1, processes=1)
    kind, message = last_error(app, job_id)
    assert (kind, message) == ("ValueError", "bad input")
    traceback = app.get_job(job_id).errors[-1].traceback
    assert traceback is not None and "bad input" in traceback


def test_children_are_recycled_after_max_jobs(app: Workhorse) -> None:
    ids = [t.pid_of_child.enqueue().id for _ in range(6)]
    worker = run_burst(app, concurrency=1, processes=1, max_jobs_per_child=2)
    pids = [app.get_job(i).result for i in ids]
    assert worker.stats.succeeded == 6
    assert len(set(pids)) == 3
    assert not [pid for pid in pids if isinstance(pid, int) and alive(pid)]


def test_children_are_recycled_above_max_memory(app: Workhorse) -> None:
    ids = [t.pid_of_child.enqueue().id for _ in range(3)]
    run_burst(app, concurrency=1, processes=1, max_memory_per_child=1)
    assert len({app.get_job(i).result for i in ids}) == 3


def test_cancel_stops_a_running_isolated_job_before_the_next_heartbeat(
    app: Workhorse, tmp_path: Path
) -> None:
    job_id = t.hang.with_options(timeout=600).enqueue().id
    # Heartbeats 30 s apart: only the watch on the job's end can stop it within the wait below.
    config = WorkerConfig(
        concurrency=1,
        processes=1,
        lease=timedelta(seconds=120),
        heartbeat_interval=timedelta(seconds=30),
    )
    worker = Worker(app, config)
    thread = threading.Thread(target=lambda: asyncio.run(worker.run_async()), daemon=True)
    thread.start()
    try:
        pid = wait_until(lambda: noted_pids(tmp_path), timeout=20, what="the job to start")[0]
        app.cancel(job_id)
        wait_until(lambda: not alive(pid), timeout=10, what="the child to be stopped")
        wait_until(lambda: worker.stats.lost == 1, timeout=10, what="the attempt to end")
        assert app.get_job(job_id).state is JobState.CANCELLED
    finally:
        worker.stop()
        worker.stop()
        thread.join(30)
    assert not thread.is_alive()


@pytest.mark.parametrize("task", [t.burn_isolated, t.burn_inline])
def test_usage_matches_what_a_cpu_burning_job_used(app: Workhorse, task: object) -> None:
    job_id = task.enqueue(0.5).id  # type: ignore[attr-defined]
    run_burst(app, concurrency=1, processes=1)
    job = app.get_job(job_id)
    assert job.state is JobState.SUCCEEDED
    burnt = job.result
    assert isinstance(burnt, float)
    [attempt] = job.attempt_usage
    assert attempt.cpu_seconds == pytest.approx(burnt, rel=0.2)
    assert attempt.wall_seconds >= burnt * 0.8
    assert job.usage.cpu_seconds == attempt.cpu_seconds
    if task is t.burn_isolated:
        assert job.usage.max_rss_bytes is not None and job.usage.max_rss_bytes > 1024**2


def test_usage_of_a_killed_attempt_is_recorded(app: Workhorse) -> None:
    job_id = t.hang.enqueue().id
    run_burst(app, concurrency=1, processes=1)
    [attempt] = app.get_job(job_id).attempt_usage
    assert attempt.wall_seconds == pytest.approx(1.0, abs=0.5)
    assert attempt.max_rss_bytes is not None
