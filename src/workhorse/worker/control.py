"""How the outside reaches a worker's event loop: stop requests and wake-ups.

A stop must never be lost, whenever and from wherever it comes: before the run starts, from a
signal handler, from another thread, while the worker backs off from a database outage. So stops
are level-triggered (once set, ``stopping`` and ``hurry`` stay set) and kept apart from wake-ups,
the only event a wait consumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from workhorse.errors import WorkhorseError

T = TypeVar("T")


class StoppedEarly(WorkhorseError):
    """A stop request came before the step it interrupted (a worker's start) was done."""


class Control:
    """A worker's stop requests and wake-ups, safe to use from any thread at any time.

    The first stop request means *stop*: claim nothing more, let running jobs finish within the
    grace period. Any later one means *hurry*: hand running jobs back now. Requests made before
    the run binds the control to its loop take effect when it does; requests after the loop
    closed change nothing. Every request also wakes the loop, so no wait outlasts a stop.
    """

    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self.hurry = asyncio.Event()
        self.woken = asyncio.Event()
        self._lock = threading.Lock()
        self._requests = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver requests to ``loop`` (the running one) from now on, and those made so far."""
        with self._lock:
            self._loop = loop
        self._apply()

    def stop(self) -> int:
        """Record one stop request; returns how many there have been (1: stop, more: hurry)."""
        with self._lock:
            self._requests += 1
            count, loop = self._requests, self._loop
        if loop is not None:
            self._on(loop, self._apply)
        return count

    def wake(self) -> None:
        """Wake the loop's current wait (claim now instead of at the next poll)."""
        with self._lock:
            loop = self._loop
        if loop is not None:
            self._on(loop, self.woken.set)

    async def pause(self, timeout: float | None) -> bool:
        """Wait until woken (a job ended, new jobs, a stop request) or ``timeout`` seconds;
        returns whether it was woken.

        Consumes the wake-up, and only the wake-up: a stop stays set for every later check.
        """
        await wait_for_event(self.woken, timeout)
        woken = self.woken.is_set()
        self.woken.clear()
        return woken

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if a stop is requested meanwhile."""
        await wait_for_event(self.stopping, seconds)

    async def unless_stopped(self, step: Awaitable[T]) -> T:
        """``await step``, unless a stop request comes first: then ``step`` is cancelled and
        ``StoppedEarly`` raised. For steps that hold nothing yet, such as starting up."""
        doing = asyncio.ensure_future(step)
        stopped = asyncio.ensure_future(self.stopping.wait())
        try:
            done, _ = await asyncio.wait([doing, stopped], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not doing.done():
                doing.cancel()
        if doing not in done:
            raise StoppedEarly
        return doing.result()

    def _apply(self) -> None:
        """On the loop: set the events for every request made so far."""
        requests = self._requests
        if requests >= 1:
            self.stopping.set()
        if requests >= 2:
            self.hurry.set()
        if requests:
            self.woken.set()

    @staticmethod
    def _on(loop: asyncio.AbstractEventLoop, callback: Callable[[], object]) -> None:
        """Run ``callback`` on ``loop``: now when called there, else at its next turn."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            callback()
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: nothing left to reach
            loop.call_soon_threadsafe(callback)


async def wait_for_event(event: asyncio.Event, timeout: float | None) -> None:
    """Wait until ``event`` is set or ``timeout`` seconds (forever when None) have passed."""
    if timeout is None:
        await event.wait()
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
