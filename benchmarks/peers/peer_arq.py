"""arq on Redis: P `arq peer_arq.WorkerSettings` processes (asyncio), `max_jobs` = C each.

Defaults kept: a job is taken with an in-progress key and deleted from the queue when it ends
(a dead worker's job is run again once its in-progress key expires), results kept for an hour.
The job's only work is the completion record of `counter`, as every system's.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

from arq import create_pool
from arq.connections import RedisSettings

import counter
import settings
from measure import Enqueue
from processes import python
from served import overlapping, redis_servers, stamped

REDIS = RedisSettings.from_dsn(settings.REDIS_URL)
CONCURRENCY_VARIABLE = "PEERS_CONCURRENCY"
"""arq takes its settings from a class only: the runner passes C to the workers by environment."""


async def noop(ctx: dict[str, Any], seq: int) -> None:
    """Writes the completion record."""
    await counter.record_async(seq, time.time())


class WorkerSettings:
    functions: ClassVar[list[Any]] = [noop]
    redis_settings = REDIS
    queue_name = settings.QUEUE
    max_jobs = int(os.environ.get(CONCURRENCY_VARIABLE, "10"))


class ArqPeer:
    name = "arq"
    distribution = "arq"

    def describe(self, workers: int, concurrency: int) -> str:
        return f"{workers} × `arq peer_arq.WorkerSettings` (max_jobs {concurrency})"

    def reset(self) -> None:
        counter.flush()

    async def enqueue_bulk(self, seqs: range) -> None:
        # arq has no batched enqueue: its calls are made IN_FLIGHT at a time.
        async with self.producer() as enqueue:
            await overlapping(enqueue, seqs)

    @asynccontextmanager
    async def producer(self) -> AsyncIterator[Enqueue]:
        pool = await create_pool(REDIS, default_queue_name=settings.QUEUE)

        async def enqueue(seq: int) -> float:
            return await stamped(pool.enqueue_job("noop", seq))

        try:
            yield enqueue
        finally:
            await pool.aclose()

    def worker_commands(self, workers: int, concurrency: int) -> list[list[str]]:
        os.environ[CONCURRENCY_VARIABLE] = str(concurrency)  # the workers inherit it
        return [python("-m", "arq", "peer_arq.WorkerSettings") for _ in range(workers)]

    def servers(self) -> list[int]:
        return redis_servers()

    def close(self) -> None:
        """The producer's connections close when its block ends."""
