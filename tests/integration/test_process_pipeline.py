"""A child is sent its next job while it runs one (while jobs are short): a job queued that way
runs exactly once, in that child or, if the child is stopped first, in another; withdrawn before
it starts, it never runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from workhorse import JobCrashedError
from workhorse.types import JSON
from workhorse.worker.processes import Limits, ProcessPool
from workhorse.worker.processes.child import Request
from workhorse.worker.processes.pool import Meter

from . import isolation_tasks as t

pytestmark = pytest.mark.slow

T = TypeVar("T")
ONE = Limits(processes=1)


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path) -> Iterator[Path]:
    t.use(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path)
    yield tmp_path
    t.app.close()


def request(task: str, *args: JSON, job_id: int) -> Request:
    return Request(
        job_id=job_id, attempt=1, max_attempts=1, tenant="default", queue="default", task=task,
        args=list(args), kwargs={}, worker_id="test", deadline=None, memory_limit=None,
    )  # fmt: skip


def in_pool(body: Callable[[ProcessPool], Awaitable[T]], limits: Limits = ONE) -> T:
    """Run ``body`` with a pool of one child whose recent jobs were short (so it pipelines)."""

    async def main() -> T:
        pool = ProcessPool(t.app, limits)
        pool.start()
        await pool.open(prestart=True)
        try:
            for n in range(3):
                await run(pool, "doubled", n, job_id=1000 + n)
            return await body(pool)
        finally:
            await pool.close()

    return asyncio.run(main())


async def run(pool: ProcessPool, task: str, *args: JSON, job_id: int) -> JSON:
    return await pool.run(request(task, *args, job_id=job_id), Meter(), lambda value: None)


async def sent(pool: ProcessPool, count: int) -> None:
    """Wait until the one child has ``count`` jobs sent to it."""
    async with asyncio.timeout(10):
        while sum(len(child.calls) for child in pool._children) < count:
            await asyncio.sleep(0.001)


def runs_noted(workdir: Path) -> list[str]:
    path = workdir / t.PIDS
    return path.read_text().split() if path.exists() else []


def test_a_queued_job_runs_after_the_one_ahead_in_the_same_child(workdir: Path) -> None:
    async def body(pool: ProcessPool) -> tuple[JSON, JSON]:
        ahead = asyncio.create_task(run(pool, "nap", 0.2, job_id=1))
        queued = asyncio.create_task(run(pool, "noted", job_id=2))
        await sent(pool, 2)  # the second is sent while the first runs
        [child] = pool._children
        assert [call.request.job_id for call in child.calls] == [1, 2]
        return await ahead, await queued

    ahead_pid, queued_pid = in_pool(body)
    assert ahead_pid == queued_pid
    assert runs_noted(workdir) == [str(queued_pid)]


def test_a_job_withdrawn_before_it_starts_never_runs_and_the_child_stays(workdir: Path) -> None:
    async def body(pool: ProcessPool) -> tuple[JSON, JSON]:
        ahead = asyncio.create_task(run(pool, "nap", 0.5, job_id=1))
        queued = asyncio.create_task(run(pool, "noted", job_id=2))
        await sent(pool, 2)
        queued.cancel()
        first = await ahead
        return first, await run(pool, "pid_of_child", job_id=3)

    first, after = in_pool(body)
    assert first == after  # no child was stopped for the withdrawal
    assert runs_noted(workdir) == []


def test_a_job_queued_behind_a_crash_runs_once_in_a_fresh_child(workdir: Path) -> None:
    async def body(pool: ProcessPool) -> JSON:
        crash = asyncio.create_task(run(pool, "exits", 3, job_id=1))
        queued = asyncio.create_task(run(pool, "noted", job_id=2))
        with pytest.raises(JobCrashedError, match="exited with code 3"):
            await crash
        return await queued

    pid = in_pool(body)
    assert runs_noted(workdir) == [str(pid)]


def test_a_job_queued_behind_a_stopped_one_runs_once_in_a_fresh_child(workdir: Path) -> None:
    async def body(pool: ProcessPool) -> tuple[JSON, JSON]:
        before = await run(pool, "pid_of_child", job_id=1)
        ahead = asyncio.create_task(run(pool, "nap", 3600, job_id=2))
        queued = asyncio.create_task(run(pool, "noted", job_id=3))
        await sent(pool, 2)
        ahead.cancel()  # a timeout, a cancel or a hand-back: its child is stopped
        return before, await queued

    stopped, pid = in_pool(body)
    assert pid != stopped
    assert runs_noted(workdir) == [str(pid)]


def test_a_child_above_its_memory_cap_is_replaced_while_jobs_keep_coming() -> None:
    async def body(pool: ProcessPool) -> list[JSON]:
        jobs = [run(pool, "pid_of_child", job_id=n) for n in range(40)]
        return list(await asyncio.gather(*jobs))

    pids = in_pool(body, Limits(processes=1, max_memory_per_child=1))
    assert len(set(pids)) > 1  # replaced between jobs, though it never ran out of work


def test_a_queued_job_given_up_while_its_child_stops_never_runs(workdir: Path) -> None:
    async def body(pool: ProcessPool) -> JSON:
        ahead = asyncio.create_task(run(pool, "nap", 3600, job_id=1))
        queued = asyncio.create_task(run(pool, "noted", job_id=2))
        await sent(pool, 2)
        [stopping] = pool._children
        ahead.cancel()  # its child is stopped...
        queued.cancel()  # ...and the job queued behind it is given up before the child is gone
        await asyncio.gather(ahead, queued, return_exceptions=True)
        async with asyncio.timeout(10):
            while stopping.calls:  # cleared once the stopped child's channel closed
                await asyncio.sleep(0.001)
        return await run(pool, "pid_of_child", job_id=3)  # anything put back would run first

    in_pool(body)
    assert runs_noted(workdir) == []


def test_a_job_queued_behind_one_withdrawn_too_late_runs_elsewhere(workdir: Path) -> None:
    """The child started the withdrawn job before the withdrawal reached it, so it is stopped;
    the job queued behind never started, and runs in a fresh child rather than failing."""

    async def body(pool: ProcessPool) -> JSON:
        ahead = asyncio.create_task(run(pool, "nap", 0.2, job_id=1))
        late = asyncio.create_task(run(pool, "hang", job_id=2))
        queued = asyncio.create_task(run(pool, "noted", job_id=3))
        await sent(pool, 3)
        # Hold the loop until the second job runs in the child: the pool has not read the
        # first one's answer yet, so the cancel below withdraws a job that already started.
        marker = workdir / t.PIDS
        deadline = time.monotonic() + 10
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.001)
        late.cancel()
        await ahead
        return await queued

    pid = in_pool(body)
    hung, ran = runs_noted(workdir)
    assert ran == str(pid) != hung
