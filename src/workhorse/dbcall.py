"""Running blocking backend operations from the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

A = TypeVar("A")
T = TypeVar("T")


class DbCall(Protocol):
    """``await db(backend.job_claim, params)``: one backend operation, off the event loop."""

    def __call__(self, fn: Callable[[A], T], params: A, /) -> Awaitable[T]: ...


def thread_db_call(executor: ThreadPoolExecutor) -> DbCall:
    """A DbCall that runs operations on ``executor``'s threads."""

    def call(fn: Callable[[A], T], params: A, /) -> Awaitable[T]:
        return asyncio.get_running_loop().run_in_executor(executor, fn, params)

    return call


def one_at_a_time(db: DbCall) -> DbCall:
    """A DbCall through ``db`` that runs its operations one after another (in the order they
    were made): two writers of the same rows that share it never wait on each other's row
    locks, so they never deadlock."""
    lock = asyncio.Lock()

    async def call(fn: Callable[[A], T], params: A, /) -> T:
        async with lock:
            return await db(fn, params)

    return call


class DbThreads:
    """A DbCall on threads of its own that knows which operations are still running there.

    Cancelling the await of an operation does not stop it: its thread runs it to the end. So
    ``close`` waits for the operations in flight only until a deadline and reports how many it
    left running (hung in the database), rather than blocking on them as a thread pool's
    shutdown would.
    """

    def __init__(self, threads: int, name: str = "workhorse-db") -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._running: set[Future[Any]] = set()

    def __call__(self, fn: Callable[[A], T], params: A, /) -> Awaitable[T]:
        future = self._pool.submit(fn, params)
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._done)
        return asyncio.wrap_future(future)

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._running.discard(future)

    @property
    def running(self) -> int:
        """Operations started and not yet returned."""
        with self._lock:
            return len(self._running)

    async def close(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for the operations in flight, then let the threads go;
        returns how many operations are still running (their threads end when they return)."""
        with self._lock:
            running = [asyncio.wrap_future(future) for future in self._running]
        if running and timeout > 0:
            await asyncio.wait(running, timeout=timeout)
        for waiter in running:
            waiter.cancel()  # so an operation returning after the loop closed reaches nothing
        self._pool.shutdown(wait=False, cancel_futures=True)
        return self.running
