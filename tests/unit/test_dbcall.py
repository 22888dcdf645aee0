"""DbThreads: operations off the loop, and a close that never waits on one that hangs."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from workhorse.dbcall import DbThreads, one_at_a_time


def test_an_operation_runs_on_a_database_thread() -> None:
    async def run() -> str:
        db = DbThreads(1)
        try:
            return await db(lambda name: f"{name} on {threading.current_thread().name}", "job")
        finally:
            assert await db.close(1) == 0

    assert asyncio.run(run()).startswith("job on workhorse-db")


def test_errors_reach_the_caller() -> None:
    def fail(_: None) -> None:
        raise ValueError("no such table")

    async def run() -> None:
        db = DbThreads(1)
        try:
            await db(fail, None)
        finally:
            await db.close(1)

    with pytest.raises(ValueError, match="no such table"):
        asyncio.run(run())


def test_close_waits_for_operations_in_flight_up_to_its_timeout_and_counts_the_rest() -> None:
    release = threading.Event()

    async def run() -> tuple[int, float]:
        db = DbThreads(2)
        quick = db(time.sleep, 0.05)
        hung = asyncio.ensure_future(db(release.wait, 30.0))
        started = time.monotonic()
        left = await db.close(0.5)
        took = time.monotonic() - started
        await quick  # finished within the timeout
        hung.cancel()
        return left, took

    try:
        left, took = asyncio.run(run())
    finally:
        release.set()
    assert left == 1
    assert 0.5 <= took < 5


def test_one_at_a_time_runs_operations_in_turn_and_in_order() -> None:
    """Operations made at once through one_at_a_time never overlap on the threads, which could
    run them all together, and run in the order they were made; an error is its caller's."""
    running: list[str] = []
    overlapped: list[tuple[str, ...]] = []
    order: list[str] = []
    lock = threading.Lock()

    def write(name: str) -> str:
        with lock:
            running.append(name)
            if len(running) > 1:
                overlapped.append(tuple(running))
        time.sleep(0.02)
        with lock:
            running.remove(name)
            order.append(name)
        if name == "bad":
            raise ValueError("deadlock detected")
        return name

    async def run() -> list[str | BaseException]:
        db = DbThreads(4)
        try:
            serial = one_at_a_time(db)
            names = ["finish-1", "beat", "bad", "finish-2"]
            return await asyncio.gather(*(serial(write, n) for n in names), return_exceptions=True)
        finally:
            await db.close(1)

    results = asyncio.run(run())
    assert results[:2] == ["finish-1", "beat"] and results[3] == "finish-2"
    assert isinstance(results[2], ValueError)
    assert overlapped == []
    assert order == ["finish-1", "beat", "bad", "finish-2"]
