"""Running blocking backend operations from the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

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
