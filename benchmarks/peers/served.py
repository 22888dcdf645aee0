"""What the peers share: the servers whose CPU counts, and the ways their enqueue calls are made."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager

import cpu
import pg
from measure import Enqueue

offload = False
"""Set by the latency producers: a synchronous call runs in a thread, so that calls overlap as
they would from many callers. Elsewhere calls run inline (no thread hop in the single-call rate).
"""

IN_FLIGHT = 50
"""Concurrent calls of a bulk enqueue for the libraries without a batched call."""


def redis_servers() -> list[int]:
    """The Redis server: every system's broker or completion record lives there."""
    return cpu.named("redis-server")


def postgres_servers(database: str) -> list[int]:
    """Redis (the completion record) and PostgreSQL's processes serving ``database``."""
    return redis_servers() + pg.server_pids(database)


@asynccontextmanager
async def calling(send: Callable[[int], object]) -> AsyncIterator[Enqueue]:
    """A synchronous library's single-job call, as the runner's awaitable enqueue."""

    def call(seq: int) -> float:
        send(seq)
        return time.time()

    async def enqueue(seq: int) -> float:
        if offload:
            return await asyncio.to_thread(call, seq)
        return call(seq)

    yield enqueue


async def stamped(call: Awaitable[object]) -> float:
    """Await an asyncio library's enqueue call; the time it returned."""
    await call
    return time.time()


async def overlapping(enqueue: Enqueue, seqs: Iterable[int]) -> None:
    """Enqueue ``seqs`` with up to IN_FLIGHT calls at a time."""
    limit = asyncio.Semaphore(IN_FLIGHT)

    async def one(seq: int) -> None:
        async with limit:
            await enqueue(seq)

    await asyncio.gather(*(one(seq) for seq in seqs))
