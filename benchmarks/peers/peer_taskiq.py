"""taskiq on Redis streams: one `taskiq worker --workers P --max-async-tasks C` (asyncio).

Defaults kept: `RedisStreamBroker` reads with XREADGROUP (100 messages at a time) and
acknowledges a message after its task ran (at-least-once: a dead consumer's pending messages are
claimed again after the idle timeout); no result backend. The job's only work is the completion
record of `counter`, as every system's.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from taskiq_redis import RedisStreamBroker

import counter
import settings
from measure import Enqueue
from processes import python
from served import overlapping, redis_servers, stamped

broker = RedisStreamBroker(url=settings.REDIS_URL, queue_name=settings.QUEUE)


@broker.task(task_name="noop")
async def noop(seq: int) -> None:
    """Writes the completion record."""
    await counter.record_async(seq, time.time())


class TaskiqPeer:
    name = "taskiq"
    distribution = "taskiq"

    def describe(self, workers: int, concurrency: int) -> str:
        return (
            f"`taskiq worker --workers {workers} --max-async-tasks {concurrency}` (Redis streams)"
        )

    def reset(self) -> None:
        counter.flush()

    async def enqueue_bulk(self, seqs: range) -> None:
        # taskiq has no batched send: its calls are made IN_FLIGHT at a time.
        async with self.producer() as enqueue:
            await overlapping(enqueue, seqs)

    @asynccontextmanager
    async def producer(self) -> AsyncIterator[Enqueue]:
        await broker.startup()
        try:

            async def enqueue(seq: int) -> float:
                return await stamped(noop.kiq(seq))

            yield enqueue
        finally:
            await broker.shutdown()

    def worker_commands(self, workers: int, concurrency: int) -> list[list[str]]:
        return [
            python(
                "-m", "taskiq", "worker", "peer_taskiq:broker",
                "--workers", str(workers), "--max-async-tasks", str(concurrency),
                "--log-level", "WARNING",
            )
        ]  # fmt: skip

    def servers(self) -> list[int]:
        return redis_servers()

    def close(self) -> None:
        """The producer's connections close when its block ends."""
