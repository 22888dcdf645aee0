"""SAQ on Redis: one `saq peer_saq.settings --workers P`, `concurrency` = C per process (asyncio).

Defaults kept: a job is moved to an active list when dequeued and its outcome written when it
ends (a dead worker's jobs are swept and retried after their timeout); finished jobs kept for
600 s. The job's only work is the completion record of `counter`, as every system's.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from saq import Queue

import counter
import settings
from measure import Enqueue
from processes import python
from served import overlapping, redis_servers, stamped

CONCURRENCY_VARIABLE = "PEERS_CONCURRENCY"
"""The CLI takes the worker settings from a module: the runner passes C by environment."""

queue = Queue.from_url(settings.REDIS_URL, name=settings.QUEUE)


async def noop(ctx: dict[str, Any], *, seq: int) -> None:
    """Writes the completion record."""
    await counter.record_async(seq, time.time())


worker_settings = {
    "queue": queue,
    "functions": [noop],
    "concurrency": int(os.environ.get(CONCURRENCY_VARIABLE, "10")),
}


class SaqPeer:
    name = "saq"
    distribution = "saq"

    def describe(self, workers: int, concurrency: int) -> str:
        return f"`saq peer_saq.worker_settings --workers {workers}` (concurrency {concurrency})"

    def reset(self) -> None:
        counter.flush()

    async def enqueue_bulk(self, seqs: range) -> None:
        # SAQ has no batched enqueue: its calls are made IN_FLIGHT at a time.
        async with self.producer() as enqueue:
            await overlapping(enqueue, seqs)

    @asynccontextmanager
    async def producer(self) -> AsyncIterator[Enqueue]:
        # A queue of its own: a SAQ queue is bound to the event loop that first used it.
        client = Queue.from_url(settings.REDIS_URL, name=settings.QUEUE)
        await client.connect()

        async def enqueue(seq: int) -> float:
            return await stamped(client.enqueue("noop", seq=seq))

        try:
            yield enqueue
        finally:
            await client.disconnect()

    def worker_commands(self, workers: int, concurrency: int) -> list[list[str]]:
        os.environ[CONCURRENCY_VARIABLE] = str(concurrency)  # the workers inherit it
        return [python("-m", "saq", "peer_saq.worker_settings", "--workers", str(workers))]

    def servers(self) -> list[int]:
        return redis_servers()

    def close(self) -> None:
        """The producer's connections close when its block ends."""
