"""Stop requests and wake-ups: a stop is never consumed by a wait, whoever sends it and when."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from workhorse.worker.control import Control, StoppedEarly


def test_a_stop_before_the_loop_binds_takes_effect_when_it_does() -> None:
    control = Control()
    assert control.stop() == 1

    async def run() -> None:
        control.bind(asyncio.get_running_loop())
        assert control.stopping.is_set()
        assert not control.hurry.is_set()

    asyncio.run(run())


def test_a_second_stop_means_hurry_and_later_ones_change_nothing() -> None:
    async def run() -> None:
        control = Control()
        control.bind(asyncio.get_running_loop())
        assert [control.stop() for _ in range(3)] == [1, 2, 3]
        assert control.stopping.is_set() and control.hurry.is_set()

    asyncio.run(run())


def test_waits_consume_wake_ups_but_never_a_stop() -> None:
    async def run() -> None:
        control = Control()
        control.bind(asyncio.get_running_loop())
        control.wake()
        await asyncio.wait_for(control.pause(None), 1)
        assert not control.woken.is_set(), "the wake-up is consumed"
        control.stop()
        await asyncio.wait_for(control.pause(None), 1)  # a stop wakes the loop...
        for _ in range(3):  # ...and stays set for every later check and backoff
            assert control.stopping.is_set()
            await asyncio.wait_for(control.sleep(60), 1)

    asyncio.run(run())


def test_a_stop_from_another_thread_ends_a_backoff_sleep() -> None:
    async def run() -> float:
        control = Control()
        control.bind(asyncio.get_running_loop())
        started = time.monotonic()
        sleeping = asyncio.create_task(control.sleep(60))
        await asyncio.sleep(0)
        threading.Thread(target=control.stop).start()
        await asyncio.wait_for(sleeping, 5)
        return time.monotonic() - started

    assert asyncio.run(run()) < 5


def test_requests_after_the_loop_closed_change_nothing() -> None:
    control = Control()

    async def run() -> None:
        control.bind(asyncio.get_running_loop())

    asyncio.run(run())
    done: list[int] = []

    def late() -> None:
        control.wake()
        done.append(control.stop())

    thread = threading.Thread(target=late)
    thread.start()
    thread.join(5)
    assert done == [1]


def test_a_step_that_a_stop_interrupts_is_cancelled() -> None:
    async def run() -> None:
        control = Control()
        control.bind(asyncio.get_running_loop())
        assert await control.unless_stopped(asyncio.sleep(0, "done")) == "done"
        endless = asyncio.ensure_future(asyncio.sleep(60))
        asyncio.get_running_loop().call_later(0.01, control.stop)
        with pytest.raises(StoppedEarly):
            await asyncio.wait_for(control.unless_stopped(endless), 5)
        await asyncio.sleep(0)
        assert endless.cancelled()

    asyncio.run(run())


def test_a_pause_says_whether_it_was_woken_or_timed_out() -> None:
    async def run() -> None:
        control = Control()
        control.bind(asyncio.get_running_loop())
        assert await control.pause(0.01) is False
        control.wake()
        assert await control.pause(1) is True
        assert await control.pause(0.01) is False  # the wake-up was consumed

    asyncio.run(run())
